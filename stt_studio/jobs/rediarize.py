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

from stt_studio.engine.stages import StageName
from stt_studio.jobs import review
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.models import JobOptions, JobView
from stt_studio.jobs.run_again import NothingKeptError, ReviewWouldChangeError, audio_to_run_again, completed_job
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.jobs.store import JobStore

__all__ = ["NothingKeptError", "ReviewWouldChangeError", "rediarize"]


def rediarize(store: JobStore, job_id: str, counts: SpeakerCounts, *, keep_review: bool = False) -> JobView:
    """Queue ``job_id`` again from its diarization stage with ``counts``. JobNotFoundError (unknown job),
    JobConflictError (not completed, kept nothing, reviewed without ``keep_review``)."""
    view = completed_job(store, job_id, "find speakers again")
    job_dir = store.job_dir(job_id)
    checkpoints = JobCheckpoints.of_job(job_dir)
    if not checkpoints.has(StageName.ALIGNING.value):
        raise NothingKeptError(
            f"Job {job_id} kept nothing to find speakers from: its transcript's word checkpoint is gone (the job "
            "finished before checkpoints were kept, or `stt-studio gc` removed them); transcribe the file again"
        )
    kwargs = audio_to_run_again(store, job_id, checkpoints, "to find speakers from")
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
