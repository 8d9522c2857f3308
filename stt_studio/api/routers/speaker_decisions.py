"""A finished job's speakers and the voice library: accept, reject or merge what the library suggested for a
speaker, and identify the speakers again against the library as it is now (``jobs/speaker_decisions.py``).
Additions to the contract. Both answer the transcript as saved, with its version (ETag), as PUT
/jobs/{job_id}/transcript does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.responses import INVALID_REQUEST, NO_SUCH_JOB, error
from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.speakers import UnknownSpeakerError
from stt_studio.jobs.review import TranscriptBusyError, TranscriptInvalidError, TranscriptSnapshot
from stt_studio.jobs.speaker_decisions import SpeakerDecisions
from stt_studio.voices.decisions import Decision, NothingToDecideError
from stt_studio.voices.library import LibraryBusyError, VoiceLibrary

router = APIRouter(tags=["voices"])

REVIEWED_HEADER = "X-Transcript-Reviewed"


class SpeakerDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision = Field(
        description="accept: the suggested name becomes the speaker's (match accepted; in every export). reject: "
        "not this voice: the match is cleared to unknown and the voice never proposed for this speaker again (also "
        "for an also_sounds_like hint). merge: the speaker is merged into the speaker named with its "
        "also_sounds_like voice"
    )


_TRANSCRIPT: dict[int | str, dict[str, Any]] = {
    200: {"model": TranscriptionResult, "description": "The transcript as saved; its version is the ETag header"},
}
_BUSY: dict[int | str, dict[str, Any]] = {
    503: error("Another writer has held the transcript's or the voice library's lock for too long; try again"),
}
_Label = Path(min_length=1, max_length=100, description="The speaker's label: speakers[].speaker, SPEAKER_00")


_Save = Annotated[
    bool,
    Query(
        description="false: answer the transcript with its speakers identified again without saving it (no ETag): "
        "for a client that applies the change to its own copy, with its own undo"
    ),
]


def _answer(saved: TranscriptSnapshot) -> Response:
    data = saved.data
    headers = {"ETag": saved.etag, REVIEWED_HEADER: "true" if saved.reviewed else "false"}
    return Response(data, media_type="application/json", headers=headers)


def _decisions(store: StoreDep, settings: SettingsDep) -> SpeakerDecisions:
    return SpeakerDecisions(store, VoiceLibrary.in_data_dir(settings.data_dir))


@router.post(
    "/jobs/{job_id}/speakers/{label}/decision",
    summary="Accept, reject or merge what the voice library suggested for a speaker",
    description='Body: {"decision": "accept" | "reject" | "merge"}. accept needs a suggestion (match '
    "suggested); reject a voice on the speaker (match auto, suggested or accepted) or an also_sounds_like hint; merge "
    "an also_sounds_like hint whose voice is named on another speaker. The change is saved as the reviewed "
    "transcript (the engine's original is kept), on whatever version is current. Names typed in review "
    "(`speaker_names`) are never changed and keep winning over the library's.",
    response_class=Response,
    responses={
        **_TRANSCRIPT,
        404: error("No job with this id, or the job has no such speaker"),
        409: error("The job has no transcript, or the speaker has nothing of that kind to decide (detail says what)"),
        422: INVALID_REQUEST,
        **_BUSY,
    },
)
def decide(
    job_id: str, change: SpeakerDecision, store: StoreDep, settings: SettingsDep, label: str = _Label
) -> Response:
    try:
        return _answer(_decisions(store, settings).decide(job_id, label, change.decision))
    except UnknownSpeakerError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except NothingToDecideError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except TranscriptInvalidError as exc:  # a stored transcript that no longer passes the checks
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (TranscriptBusyError, LibraryBusyError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc


@router.post(
    "/jobs/{job_id}/identify",
    summary="Identify a finished job's speakers again against the voice library as it is now (no transcribing)",
    description="Matches the voice prints kept with the job against the library's voices (after saving a voice, "
    "say), in well under a second: no model runs. Accepted names stay, a voice rejected for a speaker is not "
    "proposed again, names typed in review are not changed; the job's name_speakers_automatically holds. Saved as "
    "the reviewed transcript (save=false: only answered).",
    response_class=Response,
    responses={
        **_TRANSCRIPT,
        404: NO_SUCH_JOB,
        409: error(
            "The job has no transcript, was not diarized, kept no voice prints, or the library has no voices of its "
            "speaker model (detail says which)"
        ),
        **_BUSY,
    },
)
def identify_again(job_id: str, store: StoreDep, settings: SettingsDep, save: _Save = True) -> Response:
    decisions = _decisions(store, settings)
    try:
        if not save:
            result = decisions.identified(job_id)
            return Response(result.model_dump_json(), media_type="application/json")
        return _answer(decisions.identify_again(job_id))
    except TranscriptInvalidError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (TranscriptBusyError, LibraryBusyError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
