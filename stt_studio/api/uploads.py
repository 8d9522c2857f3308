"""Accept an upload: stream it into a new job's directory, check the form and that the file is audio, queue it."""

from __future__ import annotations

import functools
import re
import shutil
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar, get_origin

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stt_studio.api import idempotency
from stt_studio.api.form_stream import (
    FileTooLargeError,
    FormError,
    NotMultipartError,
    StreamedForm,
    UploadStalledError,
    stream_form,
)
from stt_studio.api.served_models import job_model
from stt_studio.engine.audio import probe_audio
from stt_studio.engine.errors import AudioError, AudioTooLongError
from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.options import (
    MAX_PROMPT_CHARS,
    InvalidOptionError,
    Task,
    check_language,
    check_prompt,
    check_speaker_range,
    known_languages,
)
from stt_studio.engine.translation import check_task
from stt_studio.jobs.models import JobOptions, JobView
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.webhooks.signing import webhook_secret
from stt_studio.webhooks.url_safety import (
    MAX_URL_CHARS,
    AllowList,
    InvalidCallbackUrlError,
    RefusedCallbackUrlError,
    check_callback_url,
)

FILE_FIELD = "file"
INLINE_CHECK_MAX_BYTES = 8 * 1024 * 1024
"""Uploads up to this size are checked and queued in the event loop itself: that takes a few ms, bounded by the
size (the check reads a few KB and decodes 1 s), and a thread-pool hop costs more than that in tail latency when
the cores are busy transcribing (benchmarks/service.py: submit p99 30 ms with the hop, 19 ms without). Larger files
go to the thread pool, where an oddly laid-out file cannot stall other requests."""
PROMPT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
"""What ``check_prompt`` lets through, for the OpenAPI document (the check itself gives the 400's message)."""
MAX_MODEL_CHARS = 200
_SpeakerCount = Annotated[int | None, Field(ge=1, le=20, description="Speaker count hint (diarization)")]


class SubmitForm(BaseModel):
    """The text fields of a submission (the file part is streamed to disk separately)."""

    model_config = ConfigDict(extra="ignore")
    long_fields: ClassVar[Mapping[str, int]] = {}
    """Text fields (by the name they are sent under) that may hold more than ``form_stream.MAX_FIELD_BYTES``."""

    enable_diarization: bool = Field(False, description="Label segments and words with speakers")
    language: str | None = Field(
        None,
        description="Language code (e.g. en); detected when empty or 'auto'",
        json_schema_extra={"enum": ["", "auto", *sorted(known_languages())]},
    )
    num_speakers: _SpeakerCount = None
    min_speakers: _SpeakerCount = None
    max_speakers: _SpeakerCount = None
    callback_url: str | None = Field(
        None,
        max_length=MAX_URL_CHARS,
        description="Addition: POST the job's JSON here when it ends, signed (X-STT-Signature); see docs/remote-api.md",
    )
    prompt: str | None = Field(
        None,
        max_length=MAX_PROMPT_CHARS,
        description="Addition: text that comes before the audio (Whisper's initial prompt), e.g. names and terms "
        "spelled as they should be; no control characters (400)",
        json_schema_extra={"pattern": PROMPT_PATTERN},
    )
    task: Task = Field(
        "transcribe",
        description="Addition: transcribe, or translate into English (the result's `language` is the language "
        "spoken); a model that cannot translate (*.en, turbo, distil) is refused with 400",
    )
    model: str | None = Field(
        None,
        max_length=MAX_MODEL_CHARS,
        description="Addition: the Whisper model for this job, by name (e.g. base, large-v3, turbo): the server's "
        "configured model or another it has (GET /v1/models lists them); default: the server's. Never a path (400)",
    )

    identify_speakers: bool = Field(
        True,
        description="Addition: name the speakers found (enable_diarization) from the server's voice library "
        "(GET /voices): `speakers[].name`, `match`, `score`, … in the result. Has an effect only when the library "
        "has voices; false: the speakers stay unnamed",
    )
    name_speakers_automatically: bool = Field(
        True,
        description="Addition: a clear match names the speaker at once (`match` auto, the name in every export); "
        "false: every match is a suggestion (`match` suggested) until accepted with "
        "POST /jobs/{job_id}/speakers/{label}/decision",
    )

    def requested_model(self) -> str | None:
        """The model this form asks for by name, to be checked against the server's (None: the server's own)."""
        return (self.model or "").strip() or None

    def job_options(self) -> JobOptions:
        language = (self.language or "").strip().lower() or None
        options = JobOptions(
            language=None if language == "auto" else language,
            enable_diarization=self.enable_diarization,
            num_speakers=self.num_speakers,
            min_speakers=self.min_speakers,
            max_speakers=self.max_speakers,
            prompt=(self.prompt or "").strip() or None,
            task=self.task,
            identify_speakers=self.identify_speakers,
            name_speakers_automatically=self.name_speakers_automatically,
        )
        try:
            check_language(options.language)
            check_speaker_range(options.min_speakers, options.max_speakers)
            check_prompt(options.prompt)
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
    schema["properties"] = {FILE_FIELD: file, **{k: _form_field(v) for k, v in schema["properties"].items()}}
    schema["required"] = [FILE_FIELD]
    key = {
        "name": idempotency.HEADER,
        "in": "header",
        "required": False,
        # not blank: a key of spaces only is refused with 400
        "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_CHARS, "pattern": r"\S"},
        "description": "Repeats within 24 h return the first request's job; reused with another file or options: 422",
    }
    return {
        "parameters": [key],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}},
    }


_FORM_BOOLEAN = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "pattern": "^(?:[01]|[Tt](?:[Rr][Uu][Ee])?|[Ff](?:[Aa][Ll][Ss][Ee])?|[Yy](?:[Ee][Ss])?|"
         "[Nn][Oo]?|[Oo][Nn]|[Oo][Ff][Ff])$"},
    ]
}  # fmt: skip
"""What a boolean form field accepts (pydantic's rule): true/false, 1/0, yes/no, on/off, t/f, y/n, in any case."""


def _form_field(schema: dict[str, Any]) -> dict[str, Any]:
    """A form field's schema as it is sent and read: a field is left out rather than sent as null (a part "null" is
    a string), so ``anyOf: [X, null]`` is documented as X; an empty text value counts as not sent, so a choice
    also offers ""; a boolean is documented with the spellings it takes."""
    branches = schema.get("anyOf")
    if branches is not None and {"type": "null"} in branches:
        others = [branch for branch in branches if branch != {"type": "null"}]
        field = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
        schema = {**others[0], **field} if len(others) == 1 else {**field, "anyOf": others}
    kind = schema.get("type")
    if kind == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": _form_field(schema["items"])}
    if kind == "boolean":
        return {key: value for key, value in schema.items() if key != "type"} | _FORM_BOOLEAN
    if "enum" in schema and "" not in schema["enum"]:
        return {**schema, "enum": ["", *schema["enum"]]}
    return schema


@functools.cache
def _text_fields(form_model: type[SubmitForm]) -> frozenset[str]:
    """The fields (by the name they are sent under) whose values are text, items of a list included."""

    def is_text(schema: dict[str, Any]) -> bool:
        if schema.get("type") == "array":
            return is_text(schema.get("items", {}))
        return schema.get("type") == "string" or any(is_text(branch) for branch in schema.get("anyOf", []))

    return frozenset(name for name, schema in form_model.model_json_schema()["properties"].items() if is_text(schema))


def upload_too_large(limit_mb: float) -> str:
    return f"The file is larger than the upload limit of {limit_mb:g} MB (STT_MAX_UPLOAD_MB)"


MAX_FILENAME_CHARS = 255
_STORED_SUFFIX = re.compile(r"\.[a-z0-9]{1,15}")
_INVISIBLE = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
"""Bidirectional overrides and isolates (they make "txt.exe" display as "exe.txt") and the byte-order mark."""


def _stored_name(filename: str) -> str:
    """The name on disk: always ``upload`` plus the client's extension when it is a plain one (FFmpeg reads the
    content either way); nothing else of the client's name reaches the file system."""
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    return f"upload{suffix}" if _STORED_SUFFIX.fullmatch(suffix) else "upload"


def _display_name(filename: str | None) -> str:
    """The job's ``filename`` as the GUI, exports and Content-Disposition headers show it: the base name of the
    client's path (``/`` or ``\\``), NFC-normalised, control characters as spaces, directional overrides dropped,
    runs of spaces collapsed, at most MAX_FILENAME_CHARS characters (the extension kept); 'upload' when nothing
    is left."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in name
        if c not in _INVISIBLE and unicodedata.category(c) != "Cs"  # lone surrogates cannot be encoded
    )
    name = " ".join(name.split())
    if len(name) > MAX_FILENAME_CHARS:
        suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
        name = name[: MAX_FILENAME_CHARS - len(suffix)].rstrip() + suffix
    return "upload" if name in ("", ".", "..") else name


def display_name(filename: str | None) -> str:
    """How an uploaded file's name is shown and stored (``_display_name``): for other routes that take a file."""
    return _display_name(filename)


def _validated_form(form_model: type[FormT], values: dict[str, list[str]], has_file: bool) -> FormT:
    """FastAPI's form rules, but for typed fields: an empty text value counts as not sent (an empty number or
    boolean is invalid, as its schema says); a list field takes every value of its repeated name, any other field
    is sent once; every problem is reported in one 422."""
    errors: list[Any] = []
    if not has_file:
        sent_text = FILE_FIELD in values
        message = "Expected a file upload (a part with a filename), got a text value" if sent_text else "Field required"
        errors.append({"loc": ("body", FILE_FIELD), "msg": message})
    list_fields = {
        info.alias or name for name, info in form_model.model_fields.items() if get_origin(info.annotation) is list
    }
    text = _text_fields(form_model)
    known = {info.alias or name for name, info in form_model.model_fields.items()}
    data: dict[str, Any] = {}
    for name, sent in values.items():
        given = [value for value in sent if value != "" or name not in text]
        if len(given) > 1 and name in known and name not in list_fields:
            errors.append({"loc": ("body", name), "msg": "Sent more than once; send one value"})
        elif given:
            data[name] = given if name in list_fields else given[0]
    form = None
    try:
        form = form_model.model_validate(data)
    except ValidationError as exc:
        errors.extend(exc.errors(include_url=False))
    if errors or form is None:
        raise RequestValidationError(errors)
    return form


async def accept_upload(
    request: Request,
    form_model: type[FormT],
    store: JobStore,
    settings: Settings,
    before_queue: Callable[[FormT], Awaitable[None]] | None = None,
) -> tuple[FormT, JobView]:
    """Stream the file into a new job's directory (the size limit is enforced as it arrives), check the fields,
    then check that the file is decodable audio and queue the job. On any error the directory is removed and
    nothing is queued. With an Idempotency-Key that was used before, the first request's job is returned instead
    (and this upload removed). ``before_queue`` sees the checked form before anything is queued (an exception it
    raises is the answer)."""
    idempotency_key = idempotency.key_from(request.headers)
    job_id, job_dir = store.new_job_dir()
    try:
        streamed = await _stream_upload(
            request, job_dir, settings, hash_file=idempotency_key is not None, long_fields=form_model.long_fields
        )
        form = _validated_form(form_model, streamed.values, has_file=streamed.path is not None)
        options = form.job_options()
        if (requested := form.requested_model()) is not None:  # off the loop: it looks at the models on disk
            options = options.model_copy(update={"model": await run_in_threadpool(job_model, requested, settings)})
        _check_translation(options, settings)
        callback_url = await _checked_callback_url(form.callback_url, settings) if form.callback_url else None
        filename = _display_name(streamed.filename)
        assert streamed.path is not None  # a form without a file was refused just above
        if streamed.size == 0:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Failed to load audio: '{filename}' is empty (0 bytes)")
        if before_queue is not None:
            await before_queue(form)
        queue = partial(_check_and_queue, store, settings, job_id, streamed.path, filename, options, callback_url)
        inline = streamed.size <= INLINE_CHECK_MAX_BYTES and not _redis_in_trouble(request)
        if idempotency_key is None:
            return form, await _run_check_and_queue(queue, inline)
        assert streamed.sha256 is not None  # asked for with hash_file
        claim = idempotency.Claim.of(job_id, streamed.sha256, options)
        if callback_url is not None:  # part of what a repeat must match
            claim = idempotency.Claim(job_id, streamed.sha256, {**claim.options, "callback_url": callback_url})
        view = await _queue_once(idempotency.IdempotencyKeys(store), idempotency_key, claim, queue, inline)
        if view.job_id != job_id:
            shutil.rmtree(job_dir, ignore_errors=True)  # a repeat: the first request's job stands
        return form, view
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise


def _check_translation(options: JobOptions, settings: Settings) -> None:
    """400 when the job's model (its own, else the server's) cannot do the task asked for."""
    try:
        check_task(options.task, public_name(options.model or settings.whisper_model_size))
    except InvalidOptionError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


async def _checked_callback_url(url: str, settings: Settings) -> str:
    """The callback URL if it may be called (422 when malformed, 400 when its host is not allowed). Off the event
    loop: it resolves the host."""

    def check() -> str:
        try:
            check_callback_url(url, AllowList.parse(settings.webhook_allowed_hosts))
        except InvalidCallbackUrlError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"callback_url {exc}") from exc
        except RefusedCallbackUrlError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"callback_url refused: {exc}") from exc
        webhook_secret(settings)  # a generated secret exists before the first delivery needs it
        return url.strip()

    return await run_in_threadpool(check)


async def _stream_upload(
    request: Request,
    job_dir: Path,
    settings: Settings,
    *,
    hash_file: bool,
    long_fields: Mapping[str, int] | None = None,
) -> StreamedForm:
    try:
        return await stream_form(
            request,
            file_field=FILE_FIELD,
            file_path=lambda filename: job_dir / _stored_name(filename),
            max_file_bytes=int(settings.max_upload_mb * 1024 * 1024),
            hash_file=hash_file,
            idle_timeout=settings.request_idle_timeout_seconds,
            long_fields=long_fields,
        )
    except NotMultipartError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{FILE_FIELD}: Field required ({exc})") from exc
    except FormError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    except FileTooLargeError as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, upload_too_large(settings.max_upload_mb)) from exc
    except UploadStalledError as exc:
        raise HTTPException(status.HTTP_408_REQUEST_TIMEOUT, f"{exc} (STT_REQUEST_IDLE_TIMEOUT_SECONDS)") from exc


REDIS_TROUBLE_SECONDS = 30.0
"""After Redis failed a request, uploads are queued from the thread pool for this long: a stalled Redis (5 s per
call before it is an error) then holds a pool thread per upload instead of the event loop, and every other
request is still answered (503 while it lasts)."""


def note_redis_trouble(request: Request) -> None:
    request.app.state.redis_trouble_until = time.monotonic() + REDIS_TROUBLE_SECONDS


def _redis_in_trouble(request: Request) -> bool:
    return time.monotonic() < getattr(request.app.state, "redis_trouble_until", 0.0)


async def _run_check_and_queue(check_and_queue: Callable[[], JobView], inline: bool) -> JobView:
    if inline:
        return check_and_queue()
    return await run_in_threadpool(check_and_queue)


async def _queue_once(
    keys: idempotency.IdempotencyKeys,
    key: str,
    claim: idempotency.Claim,
    check_and_queue: Callable[[], JobView],
    inline: bool,
) -> JobView:
    """Queue the job unless the key was used before; then the first request's job."""
    if (first := await keys.claim(key, claim)) is not None:
        return first
    try:
        view = await _run_check_and_queue(check_and_queue, inline)
    except BaseException:
        keys.release(key, claim)
        raise
    keys.confirm(key, claim)
    return view


def _check_and_queue(
    store: JobStore,
    settings: Settings,
    job_id: str,
    audio: Path,
    filename: str,
    options: JobOptions,
    callback_url: str | None = None,
) -> JobView:
    try:
        seconds = probe_audio(audio, settings.max_audio_seconds)
    except AudioTooLongError as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(exc)) from exc
    except AudioError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{exc} ('{filename}')") from exc
    return store.submit(
        job_id,
        audio,
        options,
        filename=filename,
        delete_audio_after=not settings.keep_uploads,
        audio_seconds=seconds,
        callback_url=callback_url,
        uploaded=True,
    )
