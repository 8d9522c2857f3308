"""Accept an upload: stream it into a new job's directory, check the form and that the file is audio, queue it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stt_studio.api import idempotency
from stt_studio.api.form_stream import FileTooLargeError, FormError, NotMultipartError, StreamedForm, stream_form
from stt_studio.engine.audio import probe_audio
from stt_studio.engine.errors import AudioError, AudioTooLongError
from stt_studio.engine.options import InvalidOptionError, check_language, check_speaker_range
from stt_studio.jobs.models import JobOptions, JobView
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings

FILE_FIELD = "file"
INLINE_CHECK_MAX_BYTES = 8 * 1024 * 1024
"""Uploads up to this size are checked and queued in the event loop itself: that takes a few ms, bounded by the
size (the check reads a few KB and decodes 1 s), and a thread-pool hop costs more than that in tail latency when
the cores are busy transcribing (benchmarks/service.py: submit p99 30 ms with the hop, 19 ms without). Larger files
go to the thread pool, where an oddly laid-out file cannot stall other requests."""
_SpeakerCount = Annotated[int | None, Field(ge=1, le=20, description="Speaker count hint (diarization)")]


class SubmitForm(BaseModel):
    """The text fields of a submission (the file part is streamed to disk separately)."""

    model_config = ConfigDict(extra="ignore")

    enable_diarization: bool = Field(False, description="Label segments and words with speakers")
    language: str | None = Field(None, description="Language code (e.g. en); detected when empty or 'auto'")
    num_speakers: _SpeakerCount = None
    min_speakers: _SpeakerCount = None
    max_speakers: _SpeakerCount = None

    def job_options(self) -> JobOptions:
        language = (self.language or "").strip().lower() or None
        options = JobOptions(
            language=None if language == "auto" else language,
            enable_diarization=self.enable_diarization,
            num_speakers=self.num_speakers,
            min_speakers=self.min_speakers,
            max_speakers=self.max_speakers,
        )
        try:
            check_language(options.language)
            check_speaker_range(options.min_speakers, options.max_speakers)
        except InvalidOptionError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
        return options


class SyncSubmitForm(SubmitForm):
    timeout: float | None = Field(None, gt=0, le=24 * 3600, description="Seconds to wait (default: server setting)")


FormT = TypeVar("FormT", bound=SubmitForm)


def multipart_body(form: type[SubmitForm]) -> dict[str, Any]:
    """OpenAPI for a body that is read by ``accept_upload`` rather than by FastAPI's own form parsing."""
    schema = form.model_json_schema()
    file = {"type": "string", "format": "binary", "description": "Audio or video file (anything FFmpeg decodes)"}
    schema["properties"] = {FILE_FIELD: file, **schema["properties"]}
    schema["required"] = [FILE_FIELD]
    key = {
        "name": idempotency.HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_CHARS},
        "description": "Repeats within 24 h return the first request's job; reused with another file or options: 422",
    }
    return {
        "parameters": [key],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}},
    }


def upload_too_large(limit_mb: float) -> str:
    return f"The file is larger than the upload limit of {limit_mb:g} MB (STT_MAX_UPLOAD_MB)"


def _stored_name(filename: str) -> str:
    return f"upload{Path(filename).suffix.lower()[:16]}"


def _display_name(filename: str | None) -> str:
    return Path(filename or "upload").name or "upload"


def _validated_form(form_model: type[FormT], fields: dict[str, str], has_file: bool) -> FormT:
    """FastAPI's form rules: an empty value counts as not sent; every problem is reported in one 422."""
    errors: list[Any] = []
    if not has_file:
        sent_text = FILE_FIELD in fields
        message = "Expected a file upload (a part with a filename), got a text value" if sent_text else "Field required"
        errors.append({"loc": ("body", FILE_FIELD), "msg": message})
    form = None
    try:
        form = form_model.model_validate({name: value for name, value in fields.items() if value != ""})
    except ValidationError as exc:
        errors.extend(exc.errors(include_url=False))
    if errors or form is None:
        raise RequestValidationError(errors)
    return form


async def accept_upload(
    request: Request, form_model: type[FormT], store: JobStore, settings: Settings
) -> tuple[FormT, JobView]:
    """Stream the file into a new job's directory (the size limit is enforced as it arrives), check the fields,
    then check that the file is decodable audio and queue the job. On any error the directory is removed and
    nothing is queued. With an Idempotency-Key that was used before, the first request's job is returned instead
    (and this upload removed)."""
    idempotency_key = idempotency.key_from(request.headers)
    job_id, job_dir = store.new_job_dir()
    try:
        streamed = await _stream_upload(request, job_dir, settings, hash_file=idempotency_key is not None)
        form = _validated_form(form_model, streamed.fields, has_file=streamed.path is not None)
        options = form.job_options()
        filename = _display_name(streamed.filename)
        assert streamed.path is not None  # a form without a file was refused just above
        if streamed.size == 0:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Failed to load audio: '{filename}' is empty (0 bytes)")
        queue = partial(_check_and_queue, store, settings, job_id, streamed.path, filename, options)
        if idempotency_key is None:
            return form, await _run_check_and_queue(queue, streamed.size)
        assert streamed.sha256 is not None  # asked for with hash_file
        claim = idempotency.Claim.of(job_id, streamed.sha256, options)
        view = await _queue_once(idempotency.IdempotencyKeys(store), idempotency_key, claim, queue, streamed.size)
        if view.job_id != job_id:
            shutil.rmtree(job_dir, ignore_errors=True)  # a repeat: the first request's job stands
        return form, view
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise


async def _stream_upload(request: Request, job_dir: Path, settings: Settings, *, hash_file: bool) -> StreamedForm:
    try:
        return await stream_form(
            request,
            file_field=FILE_FIELD,
            file_path=lambda filename: job_dir / _stored_name(filename),
            max_file_bytes=int(settings.max_upload_mb * 1024 * 1024),
            hash_file=hash_file,
        )
    except NotMultipartError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{FILE_FIELD}: Field required ({exc})") from exc
    except FormError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except FileTooLargeError as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, upload_too_large(settings.max_upload_mb)) from exc


async def _run_check_and_queue(check_and_queue: Callable[[], JobView], size: int) -> JobView:
    if size <= INLINE_CHECK_MAX_BYTES:
        return check_and_queue()
    return await run_in_threadpool(check_and_queue)


async def _queue_once(
    keys: idempotency.IdempotencyKeys,
    key: str,
    claim: idempotency.Claim,
    check_and_queue: Callable[[], JobView],
    size: int,
) -> JobView:
    """Queue the job unless the key was used before; then the first request's job."""
    if (first := await keys.claim(key, claim)) is not None:
        return first
    try:
        view = await _run_check_and_queue(check_and_queue, size)
    except BaseException:
        keys.release(key, claim)
        raise
    keys.confirm(key, claim)
    return view


def _check_and_queue(
    store: JobStore, settings: Settings, job_id: str, audio: Path, filename: str, options: JobOptions
) -> JobView:
    try:
        probe_audio(audio, settings.max_audio_seconds)
    except AudioTooLongError as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(exc)) from exc
    except AudioError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{exc} ('{filename}')") from exc
    return store.submit(job_id, audio, options, filename=filename, delete_audio_after=not settings.keep_uploads)
