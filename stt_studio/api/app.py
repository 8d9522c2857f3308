"""The FastAPI application: the contract's REST API over the shared job store."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stt_studio import __version__
from stt_studio.api.auth import ALWAYS_OPEN, ApiKeyAuth, keys_required, log_key_policy
from stt_studio.api.event_hub import EventHub
from stt_studio.api.responses import allowed_methods, describe_validation_errors, truthful_openapi
from stt_studio.api.routers import (
    events,
    jobs,
    live,
    media,
    openai_compat,
    speaker_decisions,
    system,
    transcribe,
    transcript,
    voices,
)
from stt_studio.api.served_models import WHISPER_1, served_models
from stt_studio.api.uploads import note_redis_trouble, upload_too_large
from stt_studio.api_keys import ApiKeyChecker, keys_file
from stt_studio.jobs.connection import connect
from stt_studio.jobs.metrics import JobMetricsCollector
from stt_studio.jobs.resources import is_disk_full
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore
from stt_studio.settings import Settings
from stt_studio.voices.clips import ClipEmbedder

_UPLOAD_PATHS = ("/transcribe", "/transcribe/async", "/v1/audio/transcriptions")


class _HttpMetrics:
    """Request count and latency per route template (pure ASGI: adds microseconds, not a task per request)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("stt_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
        self.latency = Histogram(
            "stt_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - started)


class _UploadSizeGuard:
    """Refuse an upload whose declared size is over the limit before its body is read."""

    def __init__(self, app: ASGIApp, limit_mb: float) -> None:
        self.app = app
        self.limit_mb = limit_mb
        self.limit = int(limit_mb * 1024 * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in _UPLOAD_PATHS:
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.limit:
                response = JSONResponse({"detail": upload_too_large(self.limit_mb)}, status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


DISK_FULL_DETAIL = "The server's disk is full: nothing new can be stored until space is freed. Try again later."
_SHOWN_ID_CHARS = 64


def _shown_id(job_id: str) -> str:
    """A job id as an error message repeats it: printable characters only, and not 10 KB of them."""
    shown = "".join(c if c.isprintable() else "?" for c in job_id[:_SHOWN_ID_CHARS])
    return shown + (f"… ({len(job_id)} characters)" if len(job_id) > _SHOWN_ID_CHARS else "")


def create_app(settings: Settings, store: JobStore | None = None, *, host: str = "127.0.0.1") -> FastAPI:
    """The app for a server bound to ``host``, which decides whether API keys are required (STT_REQUIRE_API_KEY)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "store", None) is None:
            app.state.store = JobStore(connect(settings), settings.data_dir)
        app.state.metrics_registry.register(JobMetricsCollector(app.state.store))
        app.state.events = EventHub(app.state.store)  # one Redis subscription for every SSE client
        await app.state.events.start()
        # Everything imported so far lives as long as the process: keep it out of the collector's full passes,
        # which otherwise stall every request for ~80 ms (100k objects) a few times a minute under load.
        gc.collect()
        gc.freeze()
        yield
        await app.state.events.stop()

    app = FastAPI(
        title="STT Studio",
        version=__version__,
        description="WhisperX transcription, alignment and diarization behind a job queue. "
        "Contract: ASYNC_API.md (endpoints, fields and statuses); additions are marked in their descriptions. "
        "Live transcription is the WebSocket /live (16 kHz mono PCM or Ogg/Opus in, JSON events out; at most "
        "STT_LIVE_MAX_SESSIONS at once; docs/remote-api.md), "
        "which is not an operation of this document.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.metrics_registry = CollectorRegistry()
    app.state.clip_embedder = ClipEmbedder(settings)  # voices from uploaded clips; its models load on first use
    app.include_router(transcribe.router_for(settings))
    app.include_router(jobs.router)
    app.include_router(system.router)
    app.include_router(events.router)
    app.include_router(transcript.router)
    app.include_router(media.router)
    app.include_router(openai_compat.router_for(settings))
    app.include_router(voices.router)
    app.include_router(speaker_decisions.router)
    app.include_router(live.router)
    # Outermost last: metrics see every answer; CORS answers preflights and labels 401s; auth runs before uploads.
    app.add_middleware(_UploadSizeGuard, limit_mb=settings.max_upload_mb)
    log_key_policy(settings, host)
    if keys_required(settings.require_api_key, host):
        fixed_keys = [key.get_secret_value() for key in settings.api_keys]
        checker = ApiKeyChecker(keys_file(settings.data_dir), fixed_keys)
        app.add_middleware(ApiKeyAuth, checker=checker, metrics_public=settings.metrics_public)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-Match", "If-None-Match"],
            expose_headers=["ETag", "X-Transcript-Reviewed"],  # a browser editor needs the version for its PUT
        )
    app.add_middleware(_HttpMetrics, registry=app.state.metrics_registry)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": describe_validation_errors(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405 and (allowed := allowed_methods(app.openapi(), request.scope["path"])):
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        if request.scope["path"].startswith(openai_compat.PREFIX + "/"):  # no route matched: OpenAI's shape too
            response = openai_compat.openai_error(exc.status_code, str(exc.detail))
            response.headers.update(exc.headers or {})
            return response
        return await http_exception_handler(request, exc)

    @app.exception_handler(JobNotFoundError)
    async def job_not_found(_: Request, exc: JobNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": f"Job not found: {_shown_id(str(exc.args[0]))}"}, status_code=404)

    @app.exception_handler(JobConflictError)
    async def job_conflict(_: Request, exc: JobConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(redis.RedisError)
    async def queue_unavailable(request: Request, exc: redis.RedisError) -> JSONResponse:
        note_redis_trouble(request)
        if is_disk_full(exc):  # Redis refuses writes while its append-only file cannot grow
            return JSONResponse({"detail": DISK_FULL_DETAIL}, status_code=507)
        return JSONResponse({"detail": f"The job queue (Redis) is unavailable: {exc}"}, status_code=503)

    @app.exception_handler(OSError)
    async def disk_full(_: Request, exc: OSError) -> JSONResponse:
        if not is_disk_full(exc):
            raise exc  # any other OSError is a bug: a 500, logged with its traceback
        return JSONResponse({"detail": DISK_FULL_DETAIL}, status_code=507)

    models = [name for name in served_models(settings) if name != WHISPER_1]
    _document_truthfully(app, keys_required(settings.require_api_key, host), settings.metrics_public, models)
    return app


def _document_truthfully(app: FastAPI, keys: bool, metrics_public: bool, models: list[str]) -> None:
    """/openapi.json as the server behaves (``truthful_openapi``; the models a job may ask for), built once like
    FastAPI's own."""
    build = app.openapi
    open_paths = ALWAYS_OPEN | {"/metrics"} if metrics_public else ALWAYS_OPEN

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = truthful_openapi(build(), keys_required=keys, open_paths=open_paths)
            jobs.document_served_models(document, models)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
