"""OpenAI-compatible transcription, so that OpenAI's clients use STT Studio: ``POST /v1/audio/transcriptions``,
``POST /v1/audio/translations`` (the same form and formats, English text) and ``GET /v1/models``. An addition to
the contract.

The upload takes the path of ``POST /transcribe`` (streamed, size-limited, checked, Idempotency-Key) and waits for
its job in the same queue and worker. Errors carry our ``{"detail": ...}`` and, beside it, OpenAI's
``{"error": {"message", "type", "param", "code"}}``, which OpenAI's clients read into their exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any, ClassVar

import orjson
import redis
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from stt_studio.api import openai_format, speaker_references
from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.openai_format import Granularity, ResponseFormat
from stt_studio.api.responses import WAIT_ERRORS, describe_validation_errors
from stt_studio.api.served_models import WHISPER_1, served_models
from stt_studio.api.uploads import SubmitForm, accept_upload, multipart_body
from stt_studio.api.waiting import wait_for_job
from stt_studio.engine.options import Task
from stt_studio.jobs.models import JobOptions
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings

PREFIX = "/v1"
OWNER = "stt-studio"


class OpenAIErrorObject(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error (4xx) or server_error (5xx)")
    param: str | None = Field(default=None, description="The form field at fault, when one is")
    code: str | None = None


class OpenAIErrorDetail(BaseModel):
    """Our ``detail`` and OpenAI's ``error`` object, saying the same thing."""

    detail: str
    error: OpenAIErrorObject
    job_id: str | None = Field(
        default=None, description="The job, when the request was accepted and its job failed or is late"
    )
    status: str | None = Field(default=None, description="504: the job's status")
    progress: int | None = Field(default=None, description="504: the job's progress")


def openai_error(status_code: int, message: str, *, param: str | None = None, **extra: Any) -> JSONResponse:
    kind = "server_error" if status_code >= 500 else "invalid_request_error"
    error = OpenAIErrorObject(message=message, type=kind, param=param)
    return JSONResponse({"detail": message, "error": error.model_dump(), **extra}, status_code=status_code)


class OpenAIErrorRoute(APIRoute):
    """Every error of these routes in both shapes (see the module's docstring). The 401 of the API-key middleware
    and the 413 of the upload-size guard answer before any route, with ``detail`` only."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except RequestValidationError as exc:
                errors = list(exc.errors())
                location = [part for part in errors[0].get("loc", ()) if part != "body"] if errors else []
                param = str(location[0]) if location else None
                return openai_error(422, describe_validation_errors(errors), param=param)
            except HTTPException as exc:
                response = openai_error(exc.status_code, str(exc.detail), param=getattr(exc, "param", None))
                response.headers.update(exc.headers or {})
                return response
            except redis.RedisError as exc:
                return openai_error(503, f"The job queue (Redis) is unavailable: {exc}")
            if response.status_code >= 400 and response.media_type == "application/json":
                body = orjson.loads(bytes(response.body))
                return openai_error(response.status_code, body.pop("detail"), **body)
            return response

        return handle


# --- models ------------------------------------------------------------------------------------------------------
class ModelObject(BaseModel):
    id: str
    object: str = "model"
    created: int = Field(default=0, description="Always 0: not known")
    owned_by: str = OWNER


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelObject]


# --- the transcription form --------------------------------------------------------------------------------------
_DIARIZE_NOTE = (
    "Addition: label segments with speakers (verbose_json: `speaker` per segment; srt/vtt: speaker prefixes); "
    "response_format=diarized_json implies it"
)


_KnownName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
_ReferenceClip = Annotated[
    str, Field(min_length=6, max_length=speaker_references.MAX_REFERENCE_CHARS, pattern=r"^data:[^,]*,")
]


class OpenAITranscriptionForm(SubmitForm):
    """OpenAI's fields, plus ours (``enable_diarization`` and the speaker counts) as extra fields."""

    long_fields: ClassVar[Mapping[str, int]] = {
        speaker_references.REFERENCES_FIELD: speaker_references.MAX_REFERENCES_BYTES
    }

    models: ClassVar[Mapping[str, str | None]] = {WHISPER_1: None}
    """Set per app: ``served_models``."""
    route_task: ClassVar[Task] = "transcribe"
    """What the route does (a transcription or a translation): its ``task`` field is not read."""

    model: str = Field(default=WHISPER_1, description="whisper-1 (the server's model) or a model of GET /v1/models")
    response_format: ResponseFormat = "json"
    timestamp_granularities: list[Granularity] = Field(
        default_factory=list,
        alias="timestamp_granularities[]",
        description="verbose_json: word adds `words`; segment (also the default) gives `segments`",
    )
    temperature: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Accepted for compatibility; no effect: the batched decoder uses beam search, not sampling",
    )

    known_speaker_names: list[_KnownName] = Field(
        default_factory=list,
        alias="known_speaker_names[]",
        description="Names of known speakers (e.g. agent, customer), one per known_speaker_references[] entry, in "
        "the same order, each once; used for this request only (never stored). Implies diarization",
    )
    known_speaker_references: list[_ReferenceClip] = Field(
        default_factory=list,
        alias="known_speaker_references[]",
        description="Audio clips of the known speakers as data URLs (data:audio/wav;base64,…; anything FFmpeg "
        "decodes), 2 to 10 s of one voice each, up to 4 by default (STT_OPENAI_MAX_SPEAKER_REFERENCES), 16 MB "
        "together at most; the two lists equally long. Each is embedded by the speaker model, the job's speakers "
        "matched against them alone: a matched speaker's segments carry its name in diarized_json (and "
        "verbose_json's `speaker`), the others A, B, …. Never stored. A clip that is not audio, is shorter or "
        "longer, holds no speech or several voices, or lists of different lengths: 400 naming the problem",
    )
    chunking_strategy: str | None = Field(
        default=None,
        max_length=2000,
        description="Accepted for compatibility (auto; OpenAI's server_vad object arrives as chunking_strategy[…] "
        "fields, also accepted); no effect: speech is always cut into regions by voice activity detection",
    )

    def requested_model(self) -> str | None:
        return None  # checked and mapped by job_options, against the names GET /v1/models lists

    def job_options(self) -> JobOptions:
        if self.model not in self.models:
            served = ", ".join(self.models)
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"Unknown model '{self.model}': this server has {served} (GET /v1/models)"
            )
        options = super().job_options()
        diarize = (
            options.enable_diarization or self.response_format == "diarized_json" or bool(self.known_speaker_names)
        )
        update = {"model": self.models[self.model], "enable_diarization": diarize, "task": self.route_task}
        return options.model_copy(update=update)


def _form_for(models: Mapping[str, str | None], task: Task) -> type[OpenAITranscriptionForm]:
    class ServedTranscriptionForm(OpenAITranscriptionForm):
        pass

    ServedTranscriptionForm.models = models
    ServedTranscriptionForm.route_task = task
    return ServedTranscriptionForm


def _request_body(form: type[OpenAITranscriptionForm]) -> dict[str, Any]:
    body = multipart_body(form)
    properties = body["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    del properties["task"]  # the route is the task
    properties["model"]["enum"] = ["", *form.models]  # empty: not sent (whisper-1)
    properties["enable_diarization"]["description"] = _DIARIZE_NOTE
    return body


_TRANSCRIBED = {
    "description": "The transcript in the response_format asked for: json, verbose_json and diarized_json as JSON; "
    "text, srt and vtt as text/plain",
    "model": openai_format.Transcription | openai_format.TranscriptionVerbose | openai_format.TranscriptionDiarized,
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
_ERRORS = {code: {**entry, "model": OpenAIErrorDetail} for code, entry in WAIT_ERRORS.items()}


def router_for(settings: Settings) -> APIRouter:
    """The routes, for a server with these settings (the models it offers)."""
    models = served_models(settings)
    form = _form_for(models, "transcribe")
    translation_form = _form_for(models, "translate")
    served = APIRouter(prefix=PREFIX, tags=["openai"], route_class=OpenAIErrorRoute)

    async def answer(
        request: Request, form: type[OpenAITranscriptionForm], store: JobStore, settings: Settings
    ) -> Response:
        references: speaker_references.SpeakerReferences | None = None

        async def embed_references(checked: OpenAITranscriptionForm) -> None:
            nonlocal references
            names, clips = checked.known_speaker_names, checked.known_speaker_references
            speaker_references.check_pairs(names, clips, settings.openai_max_speaker_references)
            if names:
                embedder = request.app.state.clip_embedder
                references = await run_in_threadpool(speaker_references.embed_references, names, clips, embedder)

        accepted, view = await accept_upload(request, form, store, settings, before_queue=embed_references)
        outcome = await wait_for_job(store, view.job_id, settings.sync_timeout_seconds)
        if isinstance(outcome, JSONResponse):
            return outcome
        completed = await run_in_threadpool(store.get, view.job_id)
        assert completed.result is not None  # a completed job has its transcript
        names = (
            await run_in_threadpool(speaker_references.speaker_names, store, view.job_id, references)
            if references is not None
            else None
        )
        body = openai_format.render(completed.result, accepted.response_format, accepted.timestamp_granularities, names)
        if isinstance(body, str):
            return PlainTextResponse(body)
        return JSONResponse(body)

    @served.post(
        "/audio/transcriptions",
        summary="OpenAI-compatible: transcribe audio and wait for the transcript (same queue and worker)",
        openapi_extra=_request_body(form),
        response_class=Response,
        responses={
            200: _TRANSCRIBED,
            **_ERRORS,
            400: {**_ERRORS[400], "description": f"An unknown model, or: {_ERRORS[400]['description']}"},
        },
    )
    async def create_transcription(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
        return await answer(request, form, store, settings)

    @served.post(
        "/audio/translations",
        summary="OpenAI-compatible: translate audio into English and wait for the text (same queue and worker)",
        openapi_extra=_request_body(translation_form),
        response_class=Response,
        responses={
            200: {**_TRANSCRIBED, "description": "The English text, in the response_format asked for (as above)"},
            **_ERRORS,
            400: {
                **_ERRORS[400],
                "description": f"An unknown model, a model that cannot translate (*.en, turbo, distil), or: "
                f"{_ERRORS[400]['description']}",
            },
        },
    )
    async def create_translation(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
        return await answer(request, translation_form, store, settings)

    @served.get("/models", summary="OpenAI-compatible: the models this server offers", response_model=ModelList)
    async def list_served_models() -> ModelList:
        return ModelList(data=[ModelObject(id=name) for name in models])

    @served.get(
        "/models/{model:path}",  # hub ids have a slash (org/name): one path parameter all the same
        summary="OpenAI-compatible: one model",
        response_model=ModelObject,
        responses={404: {"model": OpenAIErrorDetail, "description": "This server does not offer the model"}},
    )
    async def retrieve_model(model: str) -> ModelObject:
        if model not in models:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"The model '{model}' does not exist on this server")
        return ModelObject(id=model)

    return served
