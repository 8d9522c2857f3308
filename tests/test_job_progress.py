"""A real job's progress over time, as the job JSON shows it: the worker's code on its thread, the real engine
(tiny.en, one chunk per batch so the 50 s clip is decoded in several batches), diarization, Redis in between.

Before this was fixed the bar sat at the start of "Transcribing" for a whole batch, then jumped; "Finding speakers"
sat at 99 % while it clustered; and the time left, elapsed × rest ÷ done, grew while the bar stood and read 0:00
long before the end.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job

from stt_studio.engine.audio import probe_audio
from stt_studio.engine.pace import Pace
from stt_studio.engine.pipeline import Engine
from stt_studio.engine.progress import ProgressTracker, Stage
from stt_studio.jobs.events import CHANNEL, JobEvent
from stt_studio.jobs.job_progress import JobProgress
from stt_studio.jobs.metrics import JobMetricsRecorder
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.store import JobStore
from stt_studio.jobs.worker import TranscriptionWorker, WorkerContext

LONGEST_STALL_SHARE = 0.15
"""The longest stretch without a change of the percentage, as a share of the run (the loading of models aside,
which is one call that reports nothing). A share, not seconds: this machine's load decides the seconds."""
SHORTEST_STALL_BOUND = 3.0
"""Seconds: on a fast machine a share of a short run is less than the worker's one-second estimate refresh."""


def _record(pubsub: Any, job_id: str, samples: list[tuple[float, dict[str, Any]]], stop: threading.Event) -> None:
    """Every change the worker publishes (each stage and whole percent), as the job JSON shows it, with the time it
    was heard. Events, not polling: a poll every 0.1 s on a loaded machine missed changes (a CI run counted 19)."""
    try:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.1)
            if message is None:
                continue
            event = JobEvent.model_validate_json(message["data"])
            if event.job_id == job_id and not event.deleted:
                samples.append((time.monotonic(), json.loads(event.public_json)))
    finally:
        pubsub.close()


@pytest.mark.slow
def test_a_running_job_moves_every_few_seconds_and_says_how_long_is_left(
    store: JobStore, tiny_engine: Engine, sentences_wav: Path
) -> None:
    job_id, _ = store.new_job_dir()
    store.submit(job_id, sentences_wav, JobOptions(enable_diarization=True), filename=sentences_wav.name,
                 delete_audio_after=False, audio_seconds=probe_audio(sentences_wav))  # fmt: skip
    samples: list[tuple[float, dict[str, Any]]] = []
    stop = threading.Event()
    pubsub = store.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(CHANNEL)  # before the worker starts: no change unheard
    pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    recorder = threading.Thread(target=_record, args=(pubsub, job_id, samples, stop), daemon=True)
    recorder.start()
    worker = TranscriptionWorker([store.queue], WorkerContext(tiny_engine, store, JobMetricsRecorder(store.redis)))
    tiny_engine.batch_size = 1
    try:
        worker.work(burst=True, with_scheduler=False)
    finally:
        tiny_engine.batch_size = 4
        stop.set()
        recorder.join()
    assert store.get(job_id, with_result=False).status == JobStatus.COMPLETED

    running = [(t, job) for t, job in samples if job["status"] == "processing" and job["stage"] is not None]
    assert running, "the job was never seen running"
    progress = [job["progress"] for _, job in running]
    assert progress == sorted(progress), "progress went back"
    stages = list(dict.fromkeys(job["stage"] for _, job in running))
    assert {Stage.TRANSCRIBING.value, Stage.DIARIZING.value} <= set(stages)

    # How long the percentage stood still, the loading of models aside.
    stalls, stall, run_seconds = [0.0], 0.0, 0.0
    for (t0, before), (t1, after) in itertools.pairwise(running):
        if before["stage"] == Stage.LOADING_MODEL.value:
            continue
        run_seconds += t1 - t0
        stalls.append(stall + t1 - t0)  # how long it stood at before's percent, up to t1
        stall = 0.0 if after["progress"] != before["progress"] else stall + t1 - t0
    changes = sum(1 for (_, a), (_, b) in itertools.pairwise(running) if a["progress"] != b["progress"])
    timeline = _timeline(running)
    print(f"run {run_seconds:.1f} s (models loading aside), {changes} changes, longest stall {max(stalls):.1f} s")
    print(timeline)
    bound = max(LONGEST_STALL_SHARE * run_seconds, SHORTEST_STALL_BOUND)
    assert max(stalls) <= bound, f"stood still {max(stalls):.1f} s of {run_seconds:.1f} s:\n{timeline}"
    assert changes >= 20, f"the bar moved in a few big jumps:\n{timeline}"

    left = [job.get("remaining_seconds") for _, job in running]
    assert all(isinstance(s, int) and s >= 1 for s in left), f"time left missing or 0 while running: {left}"


def _timeline(running: list[tuple[float, dict[str, Any]]]) -> str:
    """One line per change of stage or percentage: seconds since the first, stage, percent, time left."""
    lines, last = [], None
    for t, job in running:
        state = (job["stage"], job["progress"])
        if state != last:
            lines.append(
                f"{t - running[0][0]:7.1f} {job['stage']:<14} {job['progress']:3d} % {job.get('remaining_seconds')} s"
            )
            last = state
    return "\n".join(lines)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_between_reports_the_worker_moves_the_bar_and_counts_down(store: JobStore, short_wav: Path) -> None:
    """The worker's side alone, on a real job record in Redis and a clock the test turns: a batch expected to take
    20 s moves the bar while it runs, the time left falls, and both reach the job JSON and its events."""
    job_id, _ = store.new_job_dir()
    store.submit(job_id, short_wav, JobOptions(), filename=short_wav.name, delete_audio_after=False,
                 audio_seconds=40.0)  # fmt: skip
    job = Job.fetch(job_id, connection=store.redis)
    job.set_status("started")  # type: ignore[arg-type]
    pubsub = store.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(CHANNEL)
    clock = _Clock()
    entered: list[str] = []
    pace = Pace({"transcribing": 1.0, "aligning": 0.1})  # 40 s of transcribing for 40 s of audio
    progress = JobProgress(job, pace, 40.0, on_stage=entered.append, clock=clock)
    tracker = ProgressTracker([Stage.TRANSCRIBING, Stage.ALIGNING], progress, None, pace.weights(40.0))
    tracker.audio_seconds = 40.0

    tracker.report(Stage.TRANSCRIBING, 0.0, piece_end=0.5)  # a batch of half the speech: 20 s expected
    seen = []
    for _ in range(10):
        clock.now += 2.0
        progress.tick()
        view = store.get(job_id, with_result=False)
        seen.append((view.progress, view.remaining_seconds))
    percents = [p for p, _ in seen]
    left = [r or 0 for _, r in seen]
    assert percents == sorted(percents) and len(set(percents)) >= 5, seen  # it moves while the batch runs
    assert percents[-1] < tracker._ranges[Stage.TRANSCRIBING][1] / 2, seen  # never the batch's end before it ends
    assert min(left) >= 1 and left == sorted(left, reverse=True), seen
    assert left[0] == pytest.approx(40 - 2 + 4, abs=1)  # the rest of transcribing, then aligning

    tracker.report(Stage.TRANSCRIBING, 0.5, piece_end=1.0)  # the batch ended late: at 20 s, as expected
    assert store.get(job_id, with_result=False).progress >= percents[-1]
    tracker.report(Stage.ALIGNING, 1.0)
    tracker.finish()
    assert store.get(job_id, with_result=False).remaining_seconds == 1  # saving the result is still to come
    assert entered == ["transcribing", "aligning"]
    assert set(progress.finish()) == {"transcribing", "aligning"}

    events = []
    for _ in range(50):  # None also for the subscription's own confirmation
        if (message := pubsub.get_message(timeout=0.05)) is not None:
            events.append(JobEvent.model_validate_json(message["data"]))
    pubsub.close()
    assert events and all(e.remaining_seconds is not None for e in events)
    assert '"remaining_seconds"' in events[0].public_json
    assert '"remaining_seconds"' not in JobEvent(job_id=job_id, status=JobStatus.QUEUED).public_json
