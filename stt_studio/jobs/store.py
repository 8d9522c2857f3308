"""The one owner of job state. The API, the worker and the desktop app all go through JobStore.

Live state is an RQ job in Redis (status, timestamps, ``meta`` with progress and stage). What must outlive Redis
— the transcript and the final outcome — is written to ``<data dir>/jobs/<job id>/`` by the worker, so a finished
job is still there after restarts and after RQ's result TTL.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
from rq import Queue, Retry, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import (
    CanceledJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.models import JobOptions, JobStatus, JobView, QueueStats

QUEUE_NAME = "stt-transcription"
JOB_FUNCTION = "stt_studio.jobs.worker.transcribe_job"
MAX_RERUNS = 2
"""How often a job is run again after the worker running it died (killed, out of memory, power loss)."""
KEEP_SECONDS = 7 * 24 * 3600
"""How long Redis keeps finished jobs; their transcripts stay on disk after that."""

_STATUS = {
    RQStatus.QUEUED: JobStatus.QUEUED,
    RQStatus.CREATED: JobStatus.QUEUED,
    RQStatus.SCHEDULED: JobStatus.QUEUED,  # waiting to run again after its worker died
    RQStatus.DEFERRED: JobStatus.QUEUED,
    RQStatus.STARTED: JobStatus.PROCESSING,
    RQStatus.FINISHED: JobStatus.COMPLETED,
    RQStatus.FAILED: JobStatus.FAILED,
    RQStatus.STOPPED: JobStatus.FAILED,
    RQStatus.CANCELED: JobStatus.CANCELED,
}


class JobNotFoundError(KeyError):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.message = f"Job not found: {job_id}"


class JobConflictError(RuntimeError):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _write_atomically(path: Path, text: str) -> None:
    """Readers (the API, other workers) never see a half-written file."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _cancel_key(job_id: str) -> str:
    return f"stt:cancel:{job_id}"


class JobStore:
    def __init__(self, connection: redis.Redis, data_dir: Path) -> None:
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection)
        self.jobs_dir = data_dir / "jobs"

    # --- files ---------------------------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        try:
            canonical = str(uuid.UUID(job_id))
        except ValueError:
            raise JobNotFoundError(job_id) from None  # never build paths from arbitrary ids
        return self.jobs_dir / canonical

    def new_job_dir(self) -> tuple[str, Path]:
        """A fresh job id and its directory (uploads are streamed straight into it)."""
        job_id = str(uuid.uuid4())
        path = self.job_dir(job_id)
        path.mkdir(parents=True)
        return job_id, path

    def _write_record(self, job_id: str, **fields: Any) -> None:
        path = self.job_dir(job_id) / "record.json"
        record = self._read_record(job_id) or {}
        record.update(fields)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, json.dumps(record, default=str))

    def _read_record(self, job_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.job_dir(job_id) / "record.json").read_text())
            return data
        except (OSError, ValueError):
            return None

    def save_result(self, job_id: str, result: TranscriptionResult, started_at: datetime | None) -> None:
        _write_atomically(self.job_dir(job_id) / "result.json", result.model_dump_json())
        self._write_outcome(job_id, JobStatus.COMPLETED, started_at)

    def result_json(self, job_id: str) -> bytes | None:
        """The stored transcript as JSON bytes, unparsed (the API embeds it as is)."""
        try:
            return (self.job_dir(job_id) / "result.json").read_bytes()
        except OSError:
            return None

    def load_result(self, job_id: str) -> TranscriptionResult | None:
        stored = self.result_json(job_id)
        return TranscriptionResult.model_validate_json(stored) if stored is not None else None

    def save_ending(self, job_id: str, status: JobStatus, error: str, started_at: datetime | None) -> None:
        """Record a job that ended without a transcript (failed or canceled)."""
        self._write_outcome(job_id, status, started_at, error=error)

    def _write_outcome(self, job_id: str, status: JobStatus, started_at: datetime | None, **fields: Any) -> None:
        self._write_record(
            job_id,
            status=status.value,
            started_at=started_at.isoformat() if started_at else None,
            completed_at=utcnow().isoformat(),
            **fields,
        )

    # --- submitting ----------------------------------------------------------------------------------------
    def submit(
        self, job_id: str, audio: Path, options: JobOptions, *, filename: str, delete_audio_after: bool
    ) -> JobView:
        """Queue a transcription of ``audio`` (already checked to be decodable) under ``job_id``."""
        created = utcnow()
        self._write_record(job_id, filename=filename, options=options.model_dump(), created_at=created.isoformat())
        pipe = self.redis.pipeline()  # one round trip to Redis instead of RQ's two
        job = self.queue.enqueue(
            JOB_FUNCTION,
            kwargs={
                "audio_path": str(audio),
                "options": options.model_dump(),
                "delete_audio_after": delete_audio_after,
            },
            job_id=job_id,
            retry=Retry(max=MAX_RERUNS),
            job_timeout=-1,  # hour-long files are normal; a dead worker is found by its heartbeat instead
            result_ttl=KEEP_SECONDS,
            failure_ttl=KEEP_SECONDS,
            meta={"progress": 0, "stage": None, "filename": filename},
            description=f"transcribe {filename}",
            pipeline=pipe,
        )
        pipe.execute()
        return self._view(job)

    # --- reading -------------------------------------------------------------------------------------------
    def get(self, job_id: str, *, with_result: bool = True) -> JobView:
        self.job_dir(job_id)  # rejects ids that are not ours
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return self._view_from_disk(job_id, with_result=with_result)
        return self._view(job, with_result=with_result)

    def _view(self, job: Job, *, with_result: bool = True) -> JobView:
        status = _STATUS.get(job.get_status(refresh=False) or RQStatus.QUEUED, JobStatus.QUEUED)
        meta = job.meta or {}
        error: str | None = None
        result: TranscriptionResult | None = None
        if status == JobStatus.FAILED:
            error = meta.get("error") or self._abandoned_error(job)
        if status == JobStatus.COMPLETED and with_result:
            result = self.load_result(job.id)
        queued = status == JobStatus.QUEUED
        return JobView(
            job_id=job.id,
            status=status,
            progress=100 if status == JobStatus.COMPLETED else 0 if queued else int(meta.get("progress", 0)),
            stage=None if queued or status.is_final else meta.get("stage"),
            created_at=job.created_at,
            started_at=None if queued else job.started_at,
            completed_at=job.ended_at if status.is_final else None,
            filename=meta.get("filename"),
            attempts=int(meta.get("attempts", 0)),
            error=error,
            result=result,
        )

    @staticmethod
    def _abandoned_error(job: Job) -> str:
        """The error of a job that failed outside our job function (its worker died every time)."""
        latest = job.latest_result()
        lines = (latest.exc_string or "").strip().splitlines() if latest is not None else []
        last = lines[-1] if lines else ""
        if "AbandonedJobError" in last or "Moved to FailedJobRegistry" in last:
            return f"The worker stopped unexpectedly while processing this job ({MAX_RERUNS + 1} attempts)"
        return last or "Transcription failed"

    def _view_from_disk(self, job_id: str, *, with_result: bool) -> JobView:
        record = self._read_record(job_id)
        if record is None or record.get("status") not in {s.value for s in JobStatus if s.is_final}:
            raise JobNotFoundError(job_id)
        status = JobStatus(record["status"])
        return JobView(
            job_id=job_id,
            status=status,
            progress=100 if status == JobStatus.COMPLETED else 0,
            created_at=record.get("created_at"),
            started_at=record.get("started_at"),
            completed_at=record.get("completed_at"),
            filename=record.get("filename"),
            error=record.get("error"),
            result=self.load_result(job_id) if status == JobStatus.COMPLETED and with_result else None,
        )

    def _ids(self, status: JobStatus) -> list[str]:
        q = self.queue
        if status == JobStatus.QUEUED:
            return [*q.get_job_ids(), *ScheduledJobRegistry(queue=q).get_job_ids()]
        registry = {
            JobStatus.PROCESSING: StartedJobRegistry,
            JobStatus.COMPLETED: FinishedJobRegistry,
            JobStatus.FAILED: FailedJobRegistry,
            JobStatus.CANCELED: CanceledJobRegistry,
        }[status]
        return list(registry(queue=q).get_job_ids())

    def list(self, status: JobStatus | None = None, limit: int = 50) -> list[JobView]:
        """Most recent first. Listings leave out the transcript; GET one job for it."""
        statuses: Iterable[JobStatus] = [status] if status is not None else list(JobStatus)
        ids = list(dict.fromkeys(i for s in statuses for i in self._ids(s)))
        jobs = [j for j in Job.fetch_many(ids, connection=self.redis) if j is not None]
        views = [self._view(j, with_result=False) for j in jobs]
        if status is not None:
            views = [v for v in views if v.status == status]
        views.sort(key=lambda v: v.created_at or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
        return views[:limit]

    def stats(self) -> QueueStats:
        try:
            q = self.queue
            return QueueStats(
                queue_length=len(q) + ScheduledJobRegistry(queue=q).count,
                redis_healthy=bool(self.redis.ping()),
                processing=StartedJobRegistry(queue=q).count,
                completed=FinishedJobRegistry(queue=q).count,
                failed=FailedJobRegistry(queue=q).count,
                canceled=CanceledJobRegistry(queue=q).count,
                workers=Worker.count(queue=q),
            )
        except redis.RedisError:
            return QueueStats(queue_length=0, redis_healthy=False)

    # --- cancelling ----------------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobView:
        """Cancel a queued job at once; ask a running job's worker to stop (it does within seconds)."""
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            raise JobNotFoundError(job_id) from None
        view = self._view(job, with_result=False)
        if view.status.is_final:
            raise JobConflictError(f"Job {job_id} is already {view.status.value}")
        if view.status == JobStatus.QUEUED:
            try:
                job.cancel()
            except InvalidJobOperation as exc:
                raise JobConflictError(str(exc)) from exc
            self.save_ending(job_id, JobStatus.CANCELED, "Canceled before it started", None)
        self.redis.set(_cancel_key(job_id), 1, ex=KEEP_SECONDS)
        return self.get(job_id, with_result=False)

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(_cancel_key(job_id)))
