"""Transcribe again: a completed job runs once more with another model, language or task, and keeps what does not
depend on them. The decoded audio and the speech regions (the ``decoding`` and ``vad`` checkpoints, whose
fingerprints depend only on the audio and the VAD method) are read back; transcription and alignment run again;
a diarized job's speaker turns (which depend on the audio and the speaker counts alone) are read back and put on
the new words. The pattern and the shared checks are those of finding speakers again (``jobs.run_again``).

A reviewed transcript is of the old text: the request is refused unless it says ``discard_review``; the worker then
moves the review to the history once the new transcript is saved (a failed run leaves the review as it was).
"""

from __future__ import annotations

from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.options import InvalidOptionError, Task, check_language
from stt_studio.engine.translation import check_task
from stt_studio.jobs import review
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.models import JobOptions, JobView
from stt_studio.jobs.new_transcription import AUTO, NewTranscription
from stt_studio.jobs.run_again import ReviewWouldChangeError, audio_to_run_again, completed_job
from stt_studio.jobs.store import JobConflictError, JobStore


class RetranscribeRequestError(InvalidOptionError):
    """The request itself is wrong (an unknown language, a translation asked of a model that cannot do it)."""


class NothingNewError(JobConflictError):
    """The request is fine but does not fit this job: it changes nothing the job was transcribed with, or asks the
    job's own model (none named) to translate when it cannot. A conflict with the job's state (409), as the same
    request is right for another job."""


def new_options(old: JobOptions, change: NewTranscription, worker_model: str) -> JobOptions:
    """``old`` with ``change``; RetranscribeRequestError when it names an unknown language or asks a named model that
    cannot translate to translate; NothingNewError when it changes nothing that a transcription depends on, or asks
    the job's own model to translate when it cannot. ``worker_model``: what runs a job that names no model (to
    compare and to check the translation)."""
    update: dict[str, object] = {}
    if change.model is not None:
        update["model"] = change.model.strip() or None
    if change.language is not None:
        language = change.language.strip().lower()
        update["language"] = None if language in ("", AUTO) else language
    if change.task is not None:
        update["task"] = change.task
    options = old.model_copy(update=update)
    try:
        check_language(options.language)
    except InvalidOptionError as exc:
        raise RetranscribeRequestError(str(exc)) from exc
    try:
        check_task(options.task, _model_name(options, worker_model))
    except InvalidOptionError as exc:
        raise (NothingNewError if change.model is None else RetranscribeRequestError)(str(exc)) from exc
    if _transcription_of(options, worker_model) == _transcription_of(old, worker_model):
        model, old_language, task = _transcription_of(old, worker_model)
        raise NothingNewError(
            f"Nothing would change: the job was transcribed with model {model}, language {old_language or AUTO}, "
            f"task {task}; give another model, language or task"
        )
    return options


def retranscribe(
    store: JobStore, job_id: str, change: NewTranscription, worker_model: str, *, discard_review: bool = False
) -> JobView:
    """Queue ``job_id`` again with ``change`` (``new_options``). JobNotFoundError (unknown job),
    RetranscribeRequestError (the request), JobConflictError (not completed, audio not kept, reviewed without
    ``discard_review``)."""
    view = completed_job(store, job_id, "transcribe again")
    options = new_options(view.options or JobOptions(), change, worker_model)
    job_dir = store.job_dir(job_id)
    kwargs = audio_to_run_again(store, job_id, JobCheckpoints.of_job(job_dir), "to transcribe again from")
    if review.reviewed_at(job_dir) is not None and not discard_review:
        raise ReviewWouldChangeError(
            f"Job {job_id} has a reviewed transcript, and transcribing again replaces its text: send "
            "discard_review=true to discard the review (it is kept in the transcript's history)"
        )
    kwargs |= {"options": options.model_dump(), "delete_audio_after": False, "discard_review": discard_review}
    return store.run_again(job_id, kwargs, options, description=f"transcribe again {view.filename}")


def _model_name(options: JobOptions, worker_model: str) -> str:
    return public_name(options.model or worker_model)


def _transcription_of(options: JobOptions, worker_model: str) -> tuple[str, str | None, Task]:
    return _model_name(options, worker_model), options.language, options.task
