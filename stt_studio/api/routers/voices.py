"""The voice library over REST: list, read, rename and delete voices and their samples, and save a speaker of a
finished, diarized job as a voice or as another sample of one (``voices/enroll.py``). Answers never carry the voice
vectors (biometric data stays on the server); enrolling from an uploaded clip (``POST /voices`` with a file) is not
built yet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, status
from pydantic import BaseModel, Field

from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.responses import INVALID_REQUEST, error
from stt_studio.settings import Settings
from stt_studio.voices.embedding_model import current_embedding_model
from stt_studio.voices.enroll import (
    MIN_SECONDS,
    WARN_SECONDS,
    EnrollmentRefusedError,
    NoSuchSpeakerError,
    enroll_from_job,
)
from stt_studio.voices.library import (
    NAME_MAX,
    DamagedVoiceError,
    DuplicateVoiceError,
    LibraryBusyError,
    Voice,
    VoiceLibrary,
    VoiceLibraryError,
    VoiceNotFoundError,
)

router = APIRouter(tags=["voices"])

NO_SUCH_VOICE = error("No voice (or sample) with this id in the library")
DAMAGED_OR_BUSY: dict[int | str, dict[str, Any]] = {
    409: error("The voice's file is damaged (detail names it), or another voice already has this name"),
    503: error("Another program is changing the voice library; try again"),
}


class VoiceSampleInfo(BaseModel):
    id: str
    source: str = Field(description="The job and speaker, or the file, the sample's clip came from")
    created: datetime
    speech_seconds: float
    model: str = Field(description="Fingerprint of the embedding model that made the sample's voice vector")
    consent: str = Field(description="The consent recorded when the voice was enrolled")


class VoiceInfo(BaseModel):
    id: str
    name: str
    created: datetime
    speech_seconds: float = Field(description="Seconds of speech over all samples")
    needs_refresh: bool = Field(
        description="Some samples were embedded by another model than the one diarization uses now (they are left "
        "out of matching until their clips are embedded again)"
    )
    samples: list[VoiceSampleInfo]


class VoiceList(BaseModel):
    voices: list[VoiceInfo]
    problems: list[str] = Field(description="Voice files that could not be read (named); those voices are left out")


NAME_PATTERN = r"[^\s\x1c-\x1f\x85]"
"""Something besides spaces: the library folds what Python counts as space (str.split), which also takes the
separators U+001C-U+001F and U+0085 that a JSON Schema's non-space class lets through."""


class VoiceChange(BaseModel):
    name: str = Field(
        min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN, description="The voice's new name (not only spaces)"
    )


class EnrolledVoice(VoiceInfo):
    added_to_existing: bool = Field(
        description="The sample went to a voice already in the library (the one named, or the voice of the path)"
    )
    sample_id: str = Field(description="The new sample")
    warning: str | None = Field(
        description=f"Set when the speaker's clean speech is under {WARN_SECONDS:g} s: the voice may name them less "
        "surely (add another sample later)"
    )


API_CONSENT_NOTE = "The person agreed to have their voice stored (consent=true, REST API)"

_JobId = Annotated[  # an empty form value reads as a missing one: the document says so (min_length)
    str, Form(min_length=1, description="A completed job whose speakers were found (enable_diarization)")
]
_Speaker = Annotated[
    str,
    Form(
        min_length=1,
        max_length=100,
        description="The speaker's label in the job's result: speakers[].speaker, SPEAKER_00",
    ),
]
_Consent = Annotated[
    bool,
    Form(
        description="Must be true: the person agreed to have their voice stored",
        json_schema_extra={"enum": [True]},
    ),
]
_ConsentNote = Annotated[
    str | None,
    Form(
        max_length=500,
        description="How the consent was given, stored with the sample (default: that it was confirmed over the API)",
    ),
]
ENROLL_DESCRIPTION = (
    "The speaker's clean turns (no one else talking, each 1.5 s or longer, the longest first, about 60 s in all) are "
    "cut from the job's kept audio into the sample's clip (16 kHz mono FLAC), and the job's kept voice print of the "
    "speaker is the sample's voice vector: no model runs. Consent is required (consent=true; consent_note is stored "
    f"with the sample). Under {MIN_SECONDS:g} s of clean speech is refused (409); under {WARN_SECONDS:g} s is saved "
    "with a warning."
)
ENROLL_ERRORS: dict[int | str, dict[str, Any]] = {
    409: error(
        "The job has not finished, was not diarized, kept no voice prints or no audio, its prints come from another "
        f"embedding model than the library's, the speaker has under {MIN_SECONDS:g} s of clean speech, or the voice's "
        "file is damaged (detail says which)"
    ),
    422: INVALID_REQUEST,
    503: error("Another program is changing the voice library; try again"),
}


def _library(settings: Settings) -> VoiceLibrary:
    return VoiceLibrary.in_data_dir(settings.data_dir)


def _info(voice: Voice, settings: Settings) -> VoiceInfo:
    samples = [
        VoiceSampleInfo(
            id=s.id,
            source=s.source,
            created=s.created,
            speech_seconds=s.speech_seconds,
            model=s.model,
            consent=s.consent,
        )
        for s in voice.samples
    ]
    current = current_embedding_model(settings)
    return VoiceInfo(
        id=voice.id,
        name=voice.name,
        created=voice.created,
        speech_seconds=voice.speech_seconds(),
        needs_refresh=current is not None and voice.needs_refresh(current),
        samples=samples,
    )


@contextmanager
def _answers() -> Iterator[None]:
    """The library's errors as the HTTP answers that say them."""
    try:
        yield
    except (VoiceNotFoundError, NoSuchSpeakerError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except DuplicateVoiceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except DamagedVoiceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except LibraryBusyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    except EnrollmentRefusedError as exc:  # the job's state: not diarized, no prints, another model, too little
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except VoiceLibraryError as exc:  # a name that is only spaces
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


@router.get("/voices", summary="The voices in the library (without their voice vectors)")
def list_voices(settings: SettingsDep) -> VoiceList:
    contents = _library(settings).contents()
    return VoiceList(voices=[_info(v, settings) for v in contents.voices], problems=contents.problems)


@router.get(
    "/voices/{voice_id}", summary="One voice and its samples", responses={404: NO_SUCH_VOICE, **DAMAGED_OR_BUSY}
)
def get_voice(voice_id: str, settings: SettingsDep) -> VoiceInfo:
    with _answers():
        return _info(_library(settings).get(voice_id), settings)


@router.patch(
    "/voices/{voice_id}",
    summary="Rename a voice",
    responses={404: NO_SUCH_VOICE, **DAMAGED_OR_BUSY},
)
def change_voice(voice_id: str, change: VoiceChange, settings: SettingsDep) -> VoiceInfo:
    with _answers():
        return _info(_library(settings).rename(voice_id, change.name), settings)


@router.delete(
    "/voices/{voice_id}",
    summary="Delete a voice and every speech clip of it",
    responses={404: NO_SUCH_VOICE, **DAMAGED_OR_BUSY},
)
def delete_voice(voice_id: str, settings: SettingsDep) -> dict[str, object]:
    with _answers():
        _library(settings).delete_voice(voice_id)
    return {"id": voice_id, "deleted": True}


@router.delete(
    "/voices/{voice_id}/samples/{sample_id}",
    summary="Delete one sample of a voice and its clip (the voice goes too with its last sample)",
    responses={404: NO_SUCH_VOICE, **DAMAGED_OR_BUSY},
)
def delete_sample(voice_id: str, sample_id: str, settings: SettingsDep) -> dict[str, object]:
    with _answers():
        left = _library(settings).delete_sample(voice_id, sample_id)
    return {"id": sample_id, "deleted": True, "voice_deleted": left is None}


def _enrolled(
    settings: SettingsDep,
    store: StoreDep,
    job_id: str,
    speaker: str,
    consent: bool,
    consent_note: str | None,
    *,
    name: str | None = None,
    voice_id: str | None = None,
) -> EnrolledVoice:
    if not consent:  # the document allows only true; a request that says false is refused all the same
        raise HTTPException(422, "consent: a voice is stored only when the person agreed (consent=true)")
    note = consent_note.strip() if consent_note and consent_note.strip() else API_CONSENT_NOTE
    with _answers():
        enrolled = enroll_from_job(
            store,
            _library(settings),
            job_id,
            speaker,
            consent=note,
            library_model=current_embedding_model(settings),
            name=name,
            voice_id=voice_id,
        )
    info = _info(enrolled.voice, settings)
    return EnrolledVoice(
        **info.model_dump(),
        added_to_existing=enrolled.added_to_existing,
        sample_id=enrolled.voice.samples[-1].id,
        warning=enrolled.warning,
    )


@router.post(
    "/voices",
    status_code=status.HTTP_201_CREATED,
    summary="Save a speaker of a finished, diarized job as a voice (a sample of the voice of that name if one exists)",
    description=f"Form fields: name, job_id, speaker, consent (true), consent_note. {ENROLL_DESCRIPTION} A name "
    "already in the library (case-insensitive) gets the sample as its voice's new sample (added_to_existing). "
    "Enrolling from an uploaded clip (a file field) is not built yet.",
    responses={404: error("No job with this id, or the job has no such speaker"), **ENROLL_ERRORS},
)
def enroll_voice(
    settings: SettingsDep,
    store: StoreDep,
    name: Annotated[
        str,
        Form(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN, description="The voice's name (not only spaces)"),
    ],
    job_id: _JobId,
    speaker: _Speaker,
    consent: _Consent,
    consent_note: _ConsentNote = None,
) -> EnrolledVoice:
    return _enrolled(settings, store, job_id, speaker, consent, consent_note, name=name)


@router.post(
    "/voices/{voice_id}/samples",
    status_code=status.HTTP_201_CREATED,
    summary="Add a speaker of a finished, diarized job to a voice as another sample",
    description=f"Form fields: job_id, speaker, consent (true), consent_note. {ENROLL_DESCRIPTION}",
    responses={
        404: error("No voice with this id, no job with this id, or the job has no such speaker"),
        **ENROLL_ERRORS,
    },
)
def add_voice_sample(
    voice_id: str,
    settings: SettingsDep,
    store: StoreDep,
    job_id: _JobId,
    speaker: _Speaker,
    consent: _Consent,
    consent_note: _ConsentNote = None,
) -> EnrolledVoice:
    return _enrolled(settings, store, job_id, speaker, consent, consent_note, voice_id=voice_id)
