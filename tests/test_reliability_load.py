"""Load and soak through a real ``stt-studio serve``: 100 submissions at once from several client processes, and a
long run of short jobs (``STT_SOAK_JOBS``, default 60; ``scripts/reliability.sh`` runs 500) watching the API's,
the worker's and Valkey's memory and open files, and how fast job status is answered meanwhile.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from stt_studio.settings import Settings
from tests import live
from tests.reliability import ServeInstance, completions, record, serve
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, wer

pytestmark = pytest.mark.slow

GROUP = "Load and soak"
CLIENT_PROCESSES = 4
THREADS_PER_PROCESS = 25
SOAK_JOBS = int(os.environ.get("STT_SOAK_JOBS", "60"))
SOAK_IN_FLIGHT = 4
"""Jobs kept queued at once during the soak: the worker never waits, the queue never grows."""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[ServeInstance]:
    with serve(tmp_path_factory.mktemp("load"), settings.resolved_models_dir) as instance:
        instance.wait_for_ready_worker()
        yield instance


def _client(url: str, clip: str, count: int, start_at: float) -> list[tuple[int, str, float]]:
    """One client process: ``count`` threads, each submitting once, all at ``start_at`` (wall clock)."""
    time.sleep(max(0.0, start_at - time.time()))

    def submit(_: int) -> tuple[int, str, float]:
        started = time.perf_counter()
        with open(clip, "rb") as f:
            response = httpx.post(f"{url}/transcribe/async", files={"file": ("clip.wav", f)}, timeout=120)
        body = response.json().get("job_id", response.text) if response.status_code == 200 else response.text
        return response.status_code, body, time.perf_counter() - started

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(submit, range(count)))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def test_hundred_concurrent_submissions_from_several_processes(loaded: ServeInstance, short_wav: Path) -> None:
    total = CLIENT_PROCESSES * THREADS_PER_PROCESS
    with record(
        GROUP,
        f"{total} concurrent submissions",
        action=f"{CLIENT_PROCESSES} client processes × {THREADS_PER_PROCESS} threads submit a 6 s clip at the same "
        "instant (one worker)",
        expected=f"{total} answers 200 with {total} distinct job ids; {total} jobs, each completed once, "
        "with the right text",
    ) as row:
        before = completions(loaded.url)
        start_at = time.time() + 5  # every process started and waiting
        with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_client, loaded.url, str(short_wav), THREADS_PER_PROCESS, start_at)
                       for _ in range(CLIENT_PROCESSES)]  # fmt: skip
            answers = [answer for future in futures for answer in future.result()]
        statuses = [status for status, _, _ in answers]
        ids = [body for status, body, _ in answers if status == 200]
        submitted = time.monotonic()
        jobs = [live.wait_job(loaded.url, job_id, timeout=1800) for job_id in ids]
        drained = time.monotonic() - submitted
        completed = completions(loaded.url) - before
        latencies = [seconds for _, _, seconds in answers]
        worst = max(wer(SHORT_TEXT, j.get("result", {}).get("text", "")) for j in jobs)
        done = sum(j["status"] == "completed" for j in jobs)
        attempts = sorted({j["attempts"] for j in jobs})
        row.observed = (
            f"{statuses.count(200)} × 200, {len(set(ids))} distinct ids; {done} completed, attempts {attempts}, "
            f"{completed:g} completions counted; worst WER {worst:.0%}"
        )
        row.figures = {
            "submit p50 (s)": round(statistics.median(latencies), 2),
            "submit p99 (s)": round(_percentile(latencies, 0.99), 2),
            "queue drained in (s)": round(drained, 1),
        }
        assert statuses == [200] * total
        assert len(set(ids)) == total
        assert [j["status"] for j in jobs] == ["completed"] * total
        assert all(j["attempts"] == 1 for j in jobs)
        assert completed == total
        assert worst <= SHORT_CLIP_WER_BOUND


class StatusPoller(threading.Thread):
    """GET /jobs/{id} of the newest job, over and over, timing each answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.job_id: str | None = None
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                if self.job_id is None:
                    time.sleep(0.05)
                    continue
                started = time.perf_counter()
                response = client.get(f"{self.url}/jobs/{self.job_id}")
                self.latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    self.errors.append(f"{response.status_code} {response.text[:100]}")
                time.sleep(0.05)


def _usage(instance: ServeInstance) -> dict[str, dict[str, float]]:
    return instance.resources()


@pytest.mark.soak
def test_soak(loaded: ServeInstance, short_wav: Path) -> None:
    warm_up = 5
    with record(
        GROUP,
        f"Soak: {SOAK_JOBS} short jobs",
        action=f"{SOAK_JOBS} jobs of a 6 s clip through serve, {SOAK_IN_FLIGHT} queued at a time, GET /jobs/{{id}} "
        f"polled every 50 ms; memory and open files after {warm_up} warm-up jobs, halfway and at the end",
        expected="every job completed once; no creep in open files (±5) or memory (+10% and +30 MB at most from "
        "halfway to the end) of the API, the worker and Valkey",
    ) as row:
        for _ in range(warm_up):
            live.wait_job(loaded.url, live.submit(loaded.url, short_wav))
        before = completions(loaded.url)
        usage = {"start": _usage(loaded)}
        poller = StatusPoller(loaded.url)
        poller.start()
        started = time.monotonic()
        pending: list[str] = []
        finished: list[dict[str, object]] = []
        submitted = 0
        try:
            while len(finished) < SOAK_JOBS:
                while submitted < SOAK_JOBS and len(pending) < SOAK_IN_FLIGHT:
                    pending.append(live.submit(loaded.url, short_wav))
                    poller.job_id = pending[-1]
                    submitted += 1
                finished.append(live.wait_job(loaded.url, pending.pop(0), timeout=600))
                if len(finished) == SOAK_JOBS // 2:
                    usage["middle"] = _usage(loaded)
        finally:
            poller.stop.set()
            poller.join()
        wall = time.monotonic() - started
        usage["end"] = _usage(loaded)
        completed = completions(loaded.url) - before
        statuses = {str(job["status"]) for job in finished}
        attempts = {int(str(job["attempts"])) for job in finished}
        row.observed = (
            f"{sum(job['status'] == 'completed' for job in finished)}/{SOAK_JOBS} completed, attempts "
            f"{sorted(attempts)}, {completed:g} completions counted; {len(poller.latencies)} status calls, "
            f"{len(poller.errors)} errors"
        )
        figures: dict[str, float | int | str] = {
            "wall (min)": round(wall / 60, 1),
            "jobs per minute": round(SOAK_JOBS / wall * 60, 1),
            "status p50 (ms)": round(statistics.median(poller.latencies) * 1000, 1),
            "status p99 (ms)": round(_percentile(poller.latencies, 0.99) * 1000, 1),
        }
        for process in usage["start"]:
            for phase in ("start", "middle", "end"):
                figures[f"{process} RSS {phase} (MB)"] = usage[phase][process]["rss_mb"]
            figures[f"{process} fds start/middle/end"] = "/".join(
                str(int(usage[phase][process]["fds"])) for phase in ("start", "middle", "end")
            )
        row.figures = figures
        assert statuses == {"completed"} and attempts == {1}
        assert completed == SOAK_JOBS
        assert not poller.errors, poller.errors[:5]
        for process in usage["start"]:
            start, middle, end = (usage[phase][process] for phase in ("start", "middle", "end"))
            assert end["fds"] <= start["fds"] + 5, f"{process} keeps opening files: {start} → {end}"
            assert end["rss_mb"] <= max(middle["rss_mb"] * 1.10, middle["rss_mb"] + 30), (
                f"{process} memory creeps: {middle['rss_mb']} MB halfway, {end['rss_mb']} MB at the end"
            )
