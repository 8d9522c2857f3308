"""A job's speakers and the voice library after the job: the user's decisions on the library's verdicts
(``voices/decisions.py``) and identifying its speakers again against the library as it is now, without transcribing.

Both change the job's current transcript through the store (``JobStore.save_transcript``), as a review save does:
read it with its version, change it, save it only if it is still that version (else read and apply again), so a
review saved meanwhile is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable

from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.speaker_identity import identify_speakers
from stt_studio.jobs.review import TranscriptSnapshot, TranscriptVersionError
from stt_studio.jobs.store import JobConflictError, JobStore
from stt_studio.voices.decisions import Decision, decide
from stt_studio.voices.enroll import NotEnrollableError, kept_voice_prints
from stt_studio.voices.library import VoiceLibrary
from stt_studio.voices.prints import JobVoicePrints

ATTEMPTS = 5
"""Reads and saves tried when other writers keep replacing the transcript in between."""


class CannotIdentifyError(JobConflictError):
    """The job's speakers cannot be identified again (not diarized, no voice prints kept, an empty library, vectors
    of another model); the message says why. A conflict with the job's state (409)."""


class TranscriptKeptChangingError(JobConflictError):
    """Other writers replaced the transcript every time before the change could be saved."""


class SpeakerDecisions:
    """Decisions and identify-again on the jobs of ``store``, against ``library``."""

    def __init__(self, store: JobStore, library: VoiceLibrary) -> None:
        self._store = store
        self._library = library

    def decide(self, job_id: str, label: str, decision: Decision) -> TranscriptSnapshot:
        """The transcript after ``decision`` on speaker ``label``, saved. JobNotFoundError, TranscriptNotReadyError;
        UnknownSpeakerError and NothingToDecideError from ``voices.decisions``."""
        return self._change(job_id, lambda result: decide(result, label, decision))

    def identify_again(self, job_id: str) -> TranscriptSnapshot:
        """The job's speakers matched again against the library as it is now, saved: the voice prints kept with the
        job, no model runs. Accepted names, rejected voices and typed names stay as the user left them."""
        identify = self._identifier(job_id)
        return self._change(job_id, identify)

    def identified(self, job_id: str, result: TranscriptionResult | None = None) -> TranscriptionResult:
        """``result`` (default: the job's current transcript) with its speakers identified again, not saved: for a
        review that keeps its own history (the desktop's undo)."""
        identify = self._identifier(job_id)
        return identify(result if result is not None else self._store.transcript(job_id).result)

    def _identifier(self, job_id: str) -> Callable[[TranscriptionResult], TranscriptionResult]:
        options = self._store.get(job_id, with_result=False).options
        name_automatically = options.name_speakers_automatically if options is not None else True
        prints = self._prints(job_id)
        if not self._library.known_voices(prints.model):
            raise CannotIdentifyError(
                f"The voice library has no voices of this job's speaker model ({prints.model}): there is nobody to "
                "identify (save a voice to the library first)"
            )

        def identify(result: TranscriptionResult) -> TranscriptionResult:
            if not result.speakers:
                raise CannotIdentifyError(f"Job {job_id} has no speakers to identify (it was not diarized)")
            speakers, warnings = identify_speakers(
                result.speakers, prints, self._library, name_automatically=name_automatically
            )
            if problem := next((w for w in warnings if w.startswith("Speakers were not compared")), None):
                raise CannotIdentifyError(problem)
            return result.model_copy(update={"speakers": speakers})

        return identify

    def _prints(self, job_id: str) -> JobVoicePrints:
        transcript = self._store.transcript(job_id)  # JobNotFoundError / TranscriptNotReadyError first
        if not transcript.result.speakers:
            raise CannotIdentifyError(f"Job {job_id} was transcribed without finding speakers: nobody to identify")
        try:
            return kept_voice_prints(self._store, job_id)
        except NotEnrollableError as exc:
            raise CannotIdentifyError(str(exc)) from None

    def _change(self, job_id: str, change: Callable[[TranscriptionResult], TranscriptionResult]) -> TranscriptSnapshot:
        for _ in range(ATTEMPTS):
            current = self._store.transcript(job_id)
            changed = change(current.result)
            try:
                self._store.save_transcript(job_id, changed, if_match=current.etag)
            except TranscriptVersionError:
                continue  # saved by someone else in between: apply the change to their version
            return self._store.transcript_snapshot(job_id)
        raise TranscriptKeptChangingError(
            f"Job {job_id}'s transcript kept changing while it was being saved; try again"
        )
