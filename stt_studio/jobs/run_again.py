"""What every "run a finished job again" request shares (find speakers again, transcribe again): the job must have
completed, and its audio must still be there to read (the decoded copy a finished upload keeps, a kept upload, or a
desktop job's own file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.kept_audio import kept_audio
from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.store import JobConflictError, JobStore


class NothingKeptError(JobConflictError):
    """The job kept nothing to run again from (the message says what is missing)."""


class ReviewWouldChangeError(JobConflictError):
    """The job's transcript was reviewed and the request did not say what to do with the review."""


def completed_job(store: JobStore, job_id: str, action: str) -> JobView:
    """The job, if it completed; JobNotFoundError, or JobConflictError naming ``action`` (e.g. "find speakers
    again") when it is queued, running, failed or canceled."""
    view = store.get(job_id, with_result=False)
    if view.status in (JobStatus.QUEUED, JobStatus.PROCESSING):
        raise JobConflictError(f"Job {job_id} is {view.status.value}; {action} once it has finished")
    if view.status != JobStatus.COMPLETED:
        raise JobConflictError(f"Job {job_id} is {view.status.value}; only a completed job can {action}")
    return view


def audio_to_run_again(store: JobStore, job_id: str, checkpoints: JobCheckpoints, purpose: str) -> dict[str, Any]:
    """The worker's ``audio_path`` (and ``audio_sha256`` for a kept decoded copy, so that the first run's
    fingerprints and checkpoints match); NothingKeptError saying the job kept nothing ``purpose`` (e.g. "to find
    speakers from") when the audio is gone."""
    kept = kept_audio(checkpoints)
    if kept is not None:
        return {"audio_path": str(kept.path), "audio_sha256": kept.audio_sha256}
    source: Path | None = store.source_path(job_id)
    if source is not None and source.is_file():
        return {"audio_path": str(source)}
    where = f" ({source} is gone)" if source is not None else ""
    raise NothingKeptError(
        f"Job {job_id} kept nothing {purpose}: its audio was not kept{where}; transcribe the file again"
    )
