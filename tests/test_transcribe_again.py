"""Transcribe again, the fast parts: which requests change something (pure), and what the queue refuses (real
Valkey, no worker). End to end: tests/test_find_speakers_again_service.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stt_studio.cli import app
from stt_studio.jobs import review
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.jobs.retranscribe import NothingNewError, RetranscribeRequestError, new_options, retranscribe
from stt_studio.jobs.run_again import NothingKeptError, ReviewWouldChangeError
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore
from tests.test_find_speakers_again import UNKNOWN_JOB, _completed, _reviewed

WORKER_MODEL = "tiny.en"


@pytest.mark.parametrize(
    ("old", "change", "error", "says"),
    [
        (JobOptions(), NewTranscription(), NothingNewError, "Nothing would change"),
        (JobOptions(), NewTranscription(model="tiny.en"), NothingNewError, "Nothing would change"),  # worker's model
        (JobOptions(model="base"), NewTranscription(model="base"), NothingNewError, "Nothing would change"),
        (JobOptions(language="en"), NewTranscription(language=" EN "), NothingNewError, "Nothing would change"),
        (JobOptions(), NewTranscription(language="auto"), NothingNewError, "Nothing would change"),
        (JobOptions(), NewTranscription(language="xx"), RetranscribeRequestError, "Unknown language code 'xx'"),
        (JobOptions(), NewTranscription(task="translate"), NothingNewError, "English-only and cannot translate"),
        (JobOptions(model="base"), NewTranscription(model="large-v3-turbo", task="translate"), RetranscribeRequestError,
         "without translation"),
    ],
)  # fmt: skip
def test_a_request_that_changes_nothing_or_cannot_be_done_says_why(
    old: JobOptions, change: NewTranscription, error: type[Exception], says: str
) -> None:
    """A request wrong in itself is a RetranscribeRequestError (400); one that only does not fit this job (nothing
    changes, the job's own model cannot translate) a NothingNewError, a conflict with the job (409)."""
    with pytest.raises(error, match=says):
        new_options(old, change, WORKER_MODEL)


def test_a_change_keeps_the_rest_of_the_options() -> None:
    old = JobOptions(language="en", enable_diarization=True, num_speakers=2, prompt="Dr. Chen")
    assert new_options(old, NewTranscription(model="base"), WORKER_MODEL) == old.model_copy(update={"model": "base"})
    assert new_options(old, NewTranscription(language="auto"), WORKER_MODEL).language is None
    assert new_options(JobOptions(model="base"), NewTranscription(model=""), WORKER_MODEL).model is None
    translated = new_options(old, NewTranscription(model="base", task="translate"), WORKER_MODEL)
    assert (translated.model, translated.task, translated.num_speakers) == ("base", "translate", 2)


def test_the_queue_refuses_what_cannot_be_transcribed_again(store: JobStore, tmp_path: Path) -> None:
    base = NewTranscription(model="base")
    with pytest.raises(JobNotFoundError):
        retranscribe(store, UNKNOWN_JOB, base, WORKER_MODEL)
    with pytest.raises(NothingKeptError, match="kept nothing to transcribe again from: its audio was not kept"):
        retranscribe(store, _completed(store, tmp_path, audio=False), base, WORKER_MODEL)
    job_id = _completed(store, tmp_path)
    review.save(store.job_dir(job_id), _reviewed(), None)
    with pytest.raises(ReviewWouldChangeError, match="discard_review=true"):
        retranscribe(store, job_id, base, WORKER_MODEL)
    view = retranscribe(store, job_id, base, WORKER_MODEL, discard_review=True)
    assert view.status == JobStatus.QUEUED and view.options is not None and view.options.model == "base"
    with pytest.raises(JobConflictError, match="is queued; transcribe again once it has finished"):
        retranscribe(store, job_id, NewTranscription(model="small"), WORKER_MODEL, discard_review=True)


def test_the_cli_asks_for_a_change_and_a_known_task() -> None:
    runner = CliRunner()
    nothing = runner.invoke(app, ["retranscribe", UNKNOWN_JOB])
    assert nothing.exit_code == 2 and "give --model, --language or --task" in nothing.output, nothing.output
    task = runner.invoke(app, ["retranscribe", UNKNOWN_JOB, "--task", "summarize"])
    assert task.exit_code == 2 and "Unknown task 'summarize'" in task.output, task.output
