"""The voice library over REST: list, read, rename and delete voices and their samples. Answers never carry the
voice vectors (biometric data stays on the server); enrolling (``POST /voices`` with a clip) is not built yet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from stt_studio.api.deps import SettingsDep
from stt_studio.api.responses import error
from stt_studio.settings import Settings
from stt_studio.voices.embedding_model import current_embedding_model
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


class VoiceChange(BaseModel):
    name: str = Field(
        min_length=1, max_length=NAME_MAX, pattern=r"\S", description="The voice's new name (not only spaces)"
    )


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
    except VoiceNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except DuplicateVoiceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except DamagedVoiceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except LibraryBusyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
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
