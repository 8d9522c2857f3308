"""The voice library over REST: list, read, rename and delete voices and their samples, and save a speaker of a
finished, diarized job as a voice or as another sample of one (``voices/enroll.py``), or the speaker of an uploaded
clip (``voices/clips.py``: the clip's speakers found by the jobs' diarization, one picked when there are several).
Answers never carry the voice vectors (biometric data stays on the server)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from stt_studio.api.deps import ClipEmbedderDep, SettingsDep, StoreDep
from stt_studio.api.responses import error
from stt_studio.api.uploads import display_name
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.voices.clips import (
    MAX_CLIP_SECONDS,
    ClipEmbedder,
    ClipRefusedError,
    ClipSpeaker,
    SeveralSpeakersError,
    embedder_of_clips,
    enroll_from_clip,
)
from stt_studio.voices.embedding_model import current_embedding_model
from stt_studio.voices.enroll import (
    MIN_SECONDS,
    WARN_SECONDS,
    Enrolled,
    EnrollmentRefusedError,
    NoSuchSpeakerError,
    TooLittleSpeechError,
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


class VoicesRefreshed(BaseModel):
    refreshed: int = Field(description="Samples whose clips were embedded again by the current speaker model")
    left: int = Field(description="Samples of another model left as they were (see problems)")
    problems: list[str] = Field(description="Why each sample left could not be embedded again (its clip gone, no "
                                "speech in it)")  # fmt: skip
    model: str = Field(description="The speaker model's fingerprint the refreshed samples now carry")


class ClipSpeakerInfo(BaseModel):
    speaker: str = Field(description="The speaker's label in the clip: send it as `speaker` to pick this one")
    speech_seconds: float = Field(description="Seconds this speaker talks alone in the clip")
    first_start: float = Field(description="Where in the clip (seconds) this speaker first talks alone")
    first_end: float


class SeveralSpeakersDetail(BaseModel):
    detail: str
    speakers: list[ClipSpeakerInfo] | None = Field(
        default=None, description="The voices found in an uploaded clip, most speech first (when that is the problem)"
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
_OptionalJobId = Annotated[
    str | None,
    Form(
        min_length=1,
        description="A completed job whose speakers were found (enable_diarization); with `speaker`, instead of a "
        "`file`",
    ),
]
_OptionalSpeaker = Annotated[
    str | None,
    Form(
        min_length=1,
        max_length=100,
        description="With `job_id`: the speaker's label in the job's result (speakers[].speaker, SPEAKER_00), "
        "required. With `file`: the clip's speaker to save when it holds several (as the 409 listing them names "
        "them); not needed for a clip of one voice",
    ),
]
_Clip = Annotated[
    UploadFile | None,
    File(
        description="A clip of the voice (anything FFmpeg decodes, up to 10 minutes), instead of `job_id` and "
        "`speaker`: its speakers are found as a diarized job's are"
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
CLIP_DESCRIPTION = (
    "Or from a clip (form field `file`, no `job_id`): the clip is decoded and its speakers found as a diarized "
    "job's are (the no-token backend's CAM++, the library's model); the speaker's speech alone, joined, is the "
    "sample's clip (16 kHz mono FLAC, up to about 60 s), and the diarization's vector of it its voice vector. A clip "
    "holding several voices is answered 409 with `speakers` (label, seconds, first turn): send the one to keep as "
    f"`speaker`. Not audio, no speech, a clip under {MIN_SECONDS:g} s or over {MAX_CLIP_SECONDS / 60:g} minutes, or "
    f"under {MIN_SECONDS:g} s of the speaker's speech: 422 saying which. The first clip a server embeds loads the "
    "speaker models (seconds)."
)
ENROLL_ERRORS: dict[int | str, dict[str, Any]] = {
    409: error(
        "The job has not finished, was not diarized, kept no voice prints or no audio, its prints come from another "
        f"embedding model than the library's, the speaker has under {MIN_SECONDS:g} s of clean speech, the voice's "
        "file is damaged (detail says which); or the uploaded clip holds several voices and no `speaker` was sent "
        "(`speakers` lists them)",
        SeveralSpeakersDetail,
    ),
    422: error(
        "A form field is missing or invalid (detail names it: consent not true; neither a file nor a job_id, or "
        "both; job_id without speaker); or the clip cannot give a voice: not audio, no speech, too short or long, "
        f"under {MIN_SECONDS:g} s of the speaker's speech, no such speaker in it (detail says which)"
    ),
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


SAMPLE_AUDIO_TYPES = {".flac": "audio/flac", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}
"""A clip's type by its file's suffix (the library's own clips are FLAC; an older one keeps its upload's)."""
_CLIP_FILE = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/voices/{voice_id}/samples/{sample_id}/audio",
    summary="The speech clip of one sample of a voice (to hear whom the library names)",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The sample's clip as the library keeps it: the speaker's clean speech, up to about a "
            "minute, 16 kHz mono FLAC (audio/flac) for samples saved by this version; Range requests work",
            "content": {kind: _CLIP_FILE for kind in (*SAMPLE_AUDIO_TYPES.values(), "application/octet-stream")},
        },
        404: error(
            "No voice with this id, the voice has no sample with this id, or its clip file is missing (detail says "
            "which)"
        ),
        **DAMAGED_OR_BUSY,
    },
)
def voice_sample_audio(voice_id: str, sample_id: str, settings: SettingsDep) -> FileResponse:
    with _answers():
        _, clip = _library(settings).sample_clip(voice_id, sample_id)
    media_type = SAMPLE_AUDIO_TYPES.get(clip.suffix.lower(), "application/octet-stream")
    return FileResponse(clip, media_type=media_type, filename=clip.name)


@router.delete(
    "/voices/{voice_id}/samples/{sample_id}",
    summary="Delete one sample of a voice and its clip (the voice goes too with its last sample)",
    responses={404: NO_SUCH_VOICE, **DAMAGED_OR_BUSY},
)
def delete_sample(voice_id: str, sample_id: str, settings: SettingsDep) -> dict[str, object]:
    with _answers():
        left = _library(settings).delete_sample(voice_id, sample_id)
    return {"id": sample_id, "deleted": True, "voice_deleted": left is None}


def _consent_note(consent: bool, consent_note: str | None) -> str:
    if not consent:  # the document allows only true; a request that says false is refused all the same
        raise HTTPException(422, "consent: a voice is stored only when the person agreed (consent=true)")
    return consent_note.strip() if consent_note and consent_note.strip() else API_CONSENT_NOTE


def _answer(enrolled: Enrolled, settings: Settings) -> EnrolledVoice:
    info = _info(enrolled.voice, settings)
    return EnrolledVoice(
        **info.model_dump(),
        added_to_existing=enrolled.added_to_existing,
        sample_id=enrolled.voice.samples[-1].id,
        warning=enrolled.warning,
    )


def _from_job(
    settings: Settings, store: JobStore, job_id: str, speaker: str, note: str, *, name: str | None, voice_id: str | None
) -> Enrolled:
    with _answers():
        return enroll_from_job(
            store,
            _library(settings),
            job_id,
            speaker,
            consent=note,
            library_model=current_embedding_model(settings),
            name=name,
            voice_id=voice_id,
        )


_SUFFIX = re.compile(r"\.[a-z0-9]{1,15}")


def _from_clip(
    settings: Settings,
    embedder: ClipEmbedder,
    file: UploadFile,
    speaker: str | None,
    note: str,
    *,
    name: str | None,
    voice_id: str | None,
) -> Enrolled:
    """The clip's speaker saved; clip problems as 422, several voices without a pick as ``_PickOne``."""
    library = _library(settings)
    filename = display_name(file.filename)
    suffix = Path(filename).suffix.lower()
    with _answers():
        if voice_id is not None:
            library.get(voice_id)  # an unknown voice is refused before any model runs
    with tempfile.TemporaryDirectory(prefix="stt-voice-clip-") as folder:
        clip = Path(folder) / ("clip" + (suffix if _SUFFIX.fullmatch(suffix) else ""))
        with clip.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1024 * 1024)
        with _answers():
            try:
                voices = embedder.voices(clip, shortest=MIN_SECONDS)
                return enroll_from_clip(
                    library, voices, consent=note, source=f"file {filename}", speaker=speaker, name=name,
                    voice_id=voice_id,
                )  # fmt: skip
            except SeveralSpeakersError as exc:
                raise _PickOne(exc) from exc
            except (ClipRefusedError, TooLittleSpeechError) as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


class _PickOne(Exception):
    """The clip holds several voices and none was picked (not a library error: ``_answers`` lets it through)."""

    def __init__(self, refused: SeveralSpeakersError) -> None:
        super().__init__(str(refused))
        self.refused = refused


def _several(exc: SeveralSpeakersError) -> JSONResponse:
    body = SeveralSpeakersDetail(detail=str(exc), speakers=[_speaker_info(s) for s in exc.speakers])
    return JSONResponse(body.model_dump(), status_code=status.HTTP_409_CONFLICT)


def _speaker_info(speaker: ClipSpeaker) -> ClipSpeakerInfo:
    first = speaker.turns[0] if speaker.turns else (0.0, 0.0)
    return ClipSpeakerInfo(
        speaker=speaker.label, speech_seconds=speaker.speech_seconds, first_start=first[0], first_end=first[1]
    )


def _enrolled(
    settings: Settings,
    store: JobStore,
    embedder: ClipEmbedder,
    form: _EnrollForm,
    *,
    name: str | None = None,
    voice_id: str | None = None,
) -> EnrolledVoice | JSONResponse:
    note = _consent_note(form.consent, form.consent_note)
    if form.file is not None and form.job_id is not None:
        raise HTTPException(422, "file, job_id: send a clip (file) or a job's speaker (job_id and speaker), not both")
    if form.file is not None:
        try:
            enrolled = _from_clip(settings, embedder, form.file, form.speaker, note, name=name, voice_id=voice_id)
        except _PickOne as exc:
            return _several(exc.refused)
        return _answer(enrolled, settings)
    if form.job_id is None:
        raise HTTPException(422, "file: send a clip of the voice (file), or a job's speaker (job_id and speaker)")
    if form.speaker is None:
        raise HTTPException(422, "speaker: required with job_id (the speaker's label in the job's result)")
    return _answer(_from_job(settings, store, form.job_id, form.speaker, note, name=name, voice_id=voice_id), settings)


class _EnrollForm:
    """The enrollment form's fields, however the route got them."""

    def __init__(
        self,
        consent: bool,
        consent_note: str | None,
        job_id: str | None,
        speaker: str | None,
        file: UploadFile | None,
    ) -> None:
        self.consent = consent
        self.consent_note = consent_note
        self.job_id = job_id
        self.speaker = speaker
        self.file = file


@router.post(
    "/voices",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolledVoice,
    summary="Save a voice from a clip, or a speaker of a finished, diarized job (a sample of the voice of that name if "
    "one exists)",
    description=f"Form fields: name, consent (true), consent_note; and file (a clip), or job_id and speaker. "
    f"{ENROLL_DESCRIPTION} {CLIP_DESCRIPTION} A name already in the library (case-insensitive) gets the sample as "
    "its voice's new sample (added_to_existing).",
    responses={404: error("No job with this id, or the job has no such speaker"), **ENROLL_ERRORS},
)
def enroll_voice(
    settings: SettingsDep,
    store: StoreDep,
    embedder: ClipEmbedderDep,
    name: Annotated[
        str,
        Form(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN, description="The voice's name (not only spaces)"),
    ],
    consent: _Consent,
    job_id: _OptionalJobId = None,
    speaker: _OptionalSpeaker = None,
    consent_note: _ConsentNote = None,
    file: _Clip = None,
) -> EnrolledVoice | JSONResponse:
    form = _EnrollForm(consent, consent_note, job_id, speaker, file)
    return _enrolled(settings, store, embedder, form, name=name)


@router.post(
    # not under /voices/: a path /voices/<word> is also /voices/{voice_id} (GET, PATCH, DELETE), so its Allow
    # header would advertise their methods
    "/voice-library/refresh",
    summary="Embed again the samples of another speaker model (the voices marked needs_refresh)",
    description="After the speaker model changed, a voice's older samples are left out of matching. This embeds "
    "each such sample's saved clip with the current model (seconds per clip, in the server process) and keeps the "
    "result; a sample whose clip can't be embedded stays as it was and is named in problems.",
    responses={
        409: error("The speaker model can't be told (its files are missing on this server): nothing to embed with"),
        503: error("Another program is changing the voice library; try again"),
    },
)
def refresh_voices(settings: SettingsDep, embedder: ClipEmbedderDep) -> VoicesRefreshed:
    model = current_embedding_model(settings)
    if model is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "The speaker model can't be told (its files are missing on this server): nothing to embed the clips with",
        )
    with _answers():
        done = _library(settings).refresh(model, embedder_of_clips(embedder))
    return VoicesRefreshed(refreshed=done.samples, left=done.left, problems=done.problems, model=model)


@router.post(
    "/voices/{voice_id}/samples",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolledVoice,
    summary="Add a clip, or a speaker of a finished, diarized job, to a voice as another sample",
    description=f"Form fields: consent (true), consent_note; and file (a clip), or job_id and speaker. "
    f"{ENROLL_DESCRIPTION} {CLIP_DESCRIPTION}",
    responses={
        404: error("No voice with this id, no job with this id, or the job has no such speaker"),
        **ENROLL_ERRORS,
    },
)
def add_voice_sample(
    voice_id: str,
    settings: SettingsDep,
    store: StoreDep,
    embedder: ClipEmbedderDep,
    consent: _Consent,
    job_id: _OptionalJobId = None,
    speaker: _OptionalSpeaker = None,
    consent_note: _ConsentNote = None,
    file: _Clip = None,
) -> EnrolledVoice | JSONResponse:
    form = _EnrollForm(consent, consent_note, job_id, speaker, file)
    return _enrolled(settings, store, embedder, form, voice_id=voice_id)
