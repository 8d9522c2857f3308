"""Job metrics shared across processes through Redis: workers record, the API's /metrics reads.

prometheus_client's own multiprocess mode needs a shared directory; workers may run on other machines (compose,
Vast.ai), so job counters and histograms live in Redis next to the queue instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from stt_studio.jobs.models import JobStatus, WorkerInfo
from stt_studio.jobs.store import JobStore

_PREFIX = "stt:metrics"
BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, math.inf)


def _bucket(seconds: float) -> str:
    return next(str(b) for b in BUCKETS if seconds <= b)


class JobMetricsRecorder:
    """Used by workers."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def _observe(self, pipe: redis.client.Pipeline, key: str, seconds: float) -> None:
        pipe.hincrby(key, _bucket(seconds), 1)
        pipe.hincrbyfloat(key, "sum", seconds)
        pipe.hincrby(key, "count", 1)

    def job_finished(self, outcome: JobStatus, seconds: float, audio_seconds: float, stages: dict[str, float]) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hincrby(f"{_PREFIX}:jobs", outcome.value, 1)
            if outcome == JobStatus.COMPLETED:
                pipe.incrbyfloat(f"{_PREFIX}:audio_seconds", audio_seconds)
                self._observe(pipe, f"{_PREFIX}:job_seconds", seconds)
            for stage, stage_seconds in stages.items():
                self._observe(pipe, f"{_PREFIX}:stage_seconds:{stage}", stage_seconds)
            pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _histogram_buckets(raw: Mapping[bytes | str, bytes | str]) -> tuple[list[tuple[str, float]], float]:
    counts = {_text(k): float(v) for k, v in raw.items()}
    cumulative = 0.0
    buckets: list[tuple[str, float]] = []
    for bound in BUCKETS:
        cumulative += counts.get(str(bound), 0.0)
        buckets.append(("+Inf" if math.isinf(bound) else str(bound), cumulative))
    return buckets, counts.get("sum", 0.0)


class JobMetricsCollector(Collector):
    """Read at scrape time by the API (registered on its Prometheus registry)."""

    def __init__(self, store: JobStore) -> None:
        self.redis = store.redis
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        stats = self._store.stats()
        jobs = GaugeMetricFamily("stt_jobs", "Jobs known to the queue, by status", labels=["status"])
        by_status = {
            JobStatus.QUEUED: stats.queue_length,
            JobStatus.PROCESSING: stats.processing,
            JobStatus.COMPLETED: stats.completed,
            JobStatus.FAILED: stats.failed,
            JobStatus.CANCELED: stats.canceled,
        }
        for status, count in by_status.items():
            jobs.add_metric([status.value], float(count))
        yield jobs
        yield GaugeMetricFamily("stt_queue_length", "Jobs waiting for a worker", value=stats.queue_length)
        yield GaugeMetricFamily("stt_workers", "Worker processes connected to the queue", value=stats.workers)
        yield GaugeMetricFamily("stt_redis_healthy", "1 when Redis answers", value=1.0 if stats.redis_healthy else 0.0)
        if not stats.redis_healthy:
            return
        finished = CounterMetricFamily("stt_jobs_finished", "Jobs that ended, by outcome", labels=["outcome"])
        for outcome, finished_count in self.redis.hgetall(f"{_PREFIX}:jobs").items():
            finished.add_metric([_text(outcome)], float(finished_count))
        yield finished
        audio = float(self.redis.get(f"{_PREFIX}:audio_seconds") or 0.0)
        yield CounterMetricFamily("stt_audio_seconds_processed", "Seconds of audio transcribed", value=audio)
        buckets, seconds = _histogram_buckets(self.redis.hgetall(f"{_PREFIX}:job_seconds"))
        yield HistogramMetricFamily(
            "stt_job_duration_seconds", "Wall time of completed jobs", buckets=buckets, sum_value=seconds
        )
        stages = HistogramMetricFamily("stt_stage_duration_seconds", "Wall time per pipeline stage", labels=["stage"])
        for key in sorted(self.redis.scan_iter(f"{_PREFIX}:stage_seconds:*")):
            stage = _text(key).rsplit(":", 1)[-1]
            buckets, seconds = _histogram_buckets(self.redis.hgetall(key))
            stages.add_metric([stage], buckets, seconds)
        yield stages
        yield from gpu_memory_families(self._store.worker_infos())


def gpu_memory_families(infos: Sequence[WorkerInfo]) -> list[GaugeMetricFamily]:
    """Device memory per GPU, from the workers' reports: one sample per GPU however many workers share it."""
    used = GaugeMetricFamily("stt_gpu_memory_used_bytes", "Device memory in use, per GPU", labels=["gpu", "name"])
    total = GaugeMetricFamily("stt_gpu_memory_total_bytes", "Device memory, per GPU", labels=["gpu", "name"])
    seen: set[int] = set()
    for info in infos:
        index = info.gpu_index if info.gpu_index is not None else 0
        if info.device != "cuda" or info.gpu_memory_total_mb is None or index in seen:
            continue
        seen.add(index)
        labels = [str(index), info.gpu_name or ""]
        used.add_metric(labels, (info.gpu_memory_used_mb or 0.0) * 2**20)
        total.add_metric(labels, info.gpu_memory_total_mb * 2**20)
    return [used, total]
