"""A job that fails for good outside the engine (its worker died on every attempt): its ending is written to the
data dir like any other failure, so the library, webhooks and the API still know it after Redis forgets it.

These call the exception handler directly, to cover its branches; a worker that really dies on every attempt (the
serve's own worker, SIGKILLed in decoding three times) is tests/test_reliability_faults.py::
test_worker_killed_on_every_attempt_fails_the_job_for_good."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest
from rq.exceptions import AbandonedJobError
from rq.job import Job

from stt_studio.engine.audio import probe_audio
from stt_studio.jobs.metrics import JobMetricsRecorder
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.store import JobNotFoundError, JobStore
from stt_studio.jobs.worker import TranscriptionWorker, WorkerContext


def _worker(store: JobStore) -> TranscriptionWorker:
    engine = MagicMock()  # never used: the handler only records outcomes
    context = WorkerContext(engine=engine, store=store, metrics=JobMetricsRecorder(store.redis))
    return TranscriptionWorker([store.queue], context)


def _queued(store: JobStore, audio: Path) -> Job:
    job_id, _ = store.new_job_dir()
    store.submit(job_id, audio, JobOptions(), filename=audio.name, delete_audio_after=False,
                 audio_seconds=probe_audio(audio))  # fmt: skip
    return Job.fetch(job_id, connection=store.redis)


def test_an_abandoned_job_is_recorded_once_it_will_not_run_again(store: JobStore, short_wav: Path) -> None:
    worker = _worker(store)
    job = _queued(store, short_wav)
    job.meta["attempts"] = 3
    job.retries_left = 1
    assert worker._record_final_failure(job, AbandonedJobError, AbandonedJobError(), None)
    with pytest.raises(JobNotFoundError):
        store.ended_view(job.id)  # it runs again: nothing recorded yet

    job.retries_left = 0
    assert worker._record_final_failure(job, AbandonedJobError, AbandonedJobError(), None)
    ended = store.ended_view(job.id)
    assert ended.status == JobStatus.FAILED
    assert ended.error == "The worker stopped unexpectedly while processing this job (3 attempts)"
    assert job.id in {e.job_id for e in store.library()}


def test_an_unexpected_exception_is_recorded_and_an_engine_failure_is_not_recorded_twice(
    store: JobStore, short_wav: Path
) -> None:
    worker = _worker(store)
    job = _queued(store, short_wav)
    job.retries_left = 0
    worker._record_final_failure(job, RuntimeError, RuntimeError("CUDA driver exploded"), None)
    assert store.ended_view(job.id).error == "Transcription failed: CUDA driver exploded"

    recorded = _queued(store, short_wav)
    store.save_ending(recorded.id, JobStatus.FAILED, "Not audio", None)  # what the job function writes
    recorded.retries_left = 0
    worker._record_final_failure(recorded, RuntimeError, RuntimeError("later"), None)
    assert store.ended_view(recorded.id).error == "Not audio"
