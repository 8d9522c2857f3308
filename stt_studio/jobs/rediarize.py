"""Find speakers again: a completed job runs again from its diarization stage with other speaker counts.

What it needs, and where it comes from (the rest of the design is in docs/checkpoints.md):

- the transcript's aligned words: the ``aligning`` checkpoint, which a completed job keeps
  (``engine.stages.KEPT_AFTER_COMPLETION``); the run reads it back, so the transcription stages show ``reused``;
- the audio: a desktop job's own file (its ``source_path``; a file changed since is transcribed again), an upload
  kept with ``STT_KEEP_UPLOADS``, or else the decoded audio a finished upload keeps (``jobs.kept_audio``).

A reviewed transcript is touched only with ``keep_review``: the worker then puts the new speakers on the reviewed
words (``review.new_speakers``) and saves that as the reviewed transcript; without it the request is refused, so
that a reviewer's work is never replaced unasked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stt_studio.engine.stages import StageName
from stt_studio.jobs import review
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.kept_audio import kept_audio
from stt_studio.jobs.models import JobOptions, JobStatus, JobView
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.jobs.store import JobConflictError, JobStore


class NothingKeptError(JobConflictError):
    """The job kept nothing to find speakers from (the message says what is missing)."""


class ReviewWouldChangeError(JobConflictError):
    """The job's transcript was reviewed and the request did not say keep_review."""


def rediarize(store: JobStore, job_id: str, counts: SpeakerCounts, *, keep_review: bool = False) -> JobView:
    """Queue ``job_id`` again from its diarization stage with ``counts``. JobNotFoundError (unknown job),
    JobConflictError (not completed, kept nothing, reviewed without ``keep_review``)."""
    view = store.get(job_id, with_result=False)
    if view.status in (JobStatus.QUEUED, JobStatus.PROCESSING):
        raise JobConflictError(f"Job {job_id} is {view.status.value}; find speakers again once it has finished")
    if view.status != JobStatus.COMPLETED:
        raise JobConflictError(
            f"Job {job_id} is {view.status.value}; only a completed job's speakers can be found again"
        )
    job_dir = store.job_dir(job_id)
    checkpoints = JobCheckpoints.of_job(job_dir)
    if not checkpoints.has(StageName.ALIGNING.value):
        raise NothingKeptError(
            f"Job {job_id} kept nothing to find speakers from: its transcript's word checkpoint is gone (the job "
            "finished before checkpoints were kept, or `stt-studio gc` removed them); transcribe the file again"
        )
    kwargs = _audio(store, job_id, checkpoints)
    if review.reviewed_at(job_dir) is not None and not keep_review:
        raise ReviewWouldChangeError(
            f"Job {job_id} has a reviewed transcript: send keep_review=true to keep its text edits and put the new "
            "speakers on its words (names carry over to the speakers that are clearly the same)"
        )
    options = (view.options or JobOptions()).model_copy(
        update={
            "enable_diarization": True,
            "num_speakers": counts.num_speakers,
            "min_speakers": counts.min_speakers,
            "max_speakers": counts.max_speakers,
        }
    )
    kwargs |= {"options": options.model_dump(), "delete_audio_after": False, "keep_review": keep_review}
    return store.run_again(job_id, kwargs, options, description=f"find speakers again in {view.filename}")


def _audio(store: JobStore, job_id: str, checkpoints: JobCheckpoints) -> dict[str, Any]:
    kept = kept_audio(checkpoints)
    if kept is not None:
        return {"audio_path": str(kept.path), "audio_sha256": kept.audio_sha256}
    source: Path | None = store.source_path(job_id)
    if source is not None and source.is_file():
        return {"audio_path": str(source)}
    where = f" ({source} is gone)" if source is not None else ""
    raise NothingKeptError(
        f"Job {job_id} kept nothing to find speakers from: its audio was not kept{where}; transcribe the file again"
    )
