"""GET /queue/stats, /health and /metrics."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import redis
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, Field

from stt_studio import __version__
from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.engine.model_catalog import list_models, public_name
from stt_studio.jobs.model_downloads import ModelDownloads
from stt_studio.jobs.models import ModelDownload

router = APIRouter(tags=["system"])


@router.get("/queue/stats", summary="Queue length and Redis health, and what each worker runs")
def queue_stats(store: StoreDep) -> dict[str, Any]:
    stats = store.stats()
    if stats.redis_healthy:
        with contextlib.suppress(redis.RedisError):  # the counts still answer
            stats.worker_models = [info.public() for info in store.worker_infos()]
            stats.model_downloads = ModelDownloads(store.redis).current()
    return stats.model_dump()


class ServerModel(BaseModel):
    name: str = Field(description="A model name (or hub id) a job's model option takes; a local folder by its name")
    repo_id: str | None = Field(description="The Hugging Face repository it is downloaded from")
    download_mb: int | None = Field(description="Approximate download size in MB (known models)")
    on_this_machine: bool = Field(description="Loadable without a download: bundled, downloaded or a local folder")
    bundled: bool = Field(description="Ships inside STT Studio's install")
    downloaded: bool = Field(description="In the server's model cache")
    size_on_disk: int = Field(description="Bytes it takes on the server (0: not there)")
    configured: bool = Field(description="The server's own model (WHISPER_MODEL_SIZE): jobs without a model run it")
    downloading: ModelDownload | None = Field(description="A worker is downloading it now, this far")


class ServerModels(BaseModel):
    offline: bool = Field(description="The server never downloads: models not on it are replaced by the bundled base")
    models: list[ServerModel]
    downloads: list[ModelDownload] = Field(description="Every download in progress (models not listed included)")


@router.get("/models", summary="The Whisper models: size, whether on this server, and downloads in progress")
def models(store: StoreDep, settings: SettingsDep) -> ServerModels:
    downloads: list[ModelDownload] = []
    with contextlib.suppress(redis.RedisError):  # the models still answer
        downloads = ModelDownloads(store.redis).current()
    by_model = {d.model: d for d in downloads}
    listed = []
    for status in list_models(settings.resolved_models_dir, settings.whisper_model_size):
        downloading = by_model.get(status.name) or (by_model.get(status.repo_id) if status.repo_id else None)
        listed.append(
            ServerModel(
                name=public_name(status.name),
                repo_id=status.repo_id,
                download_mb=status.download_mb,
                on_this_machine=status.available,
                bundled=status.bundled,
                downloaded=status.cached,
                size_on_disk=status.size_on_disk,
                configured=status.configured,
                downloading=downloading,
            )
        )
    return ServerModels(offline=settings.offline, models=listed, downloads=downloads)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    redis_healthy: bool
    workers: int
    version: str


@router.get(
    "/health",
    summary="Liveness: 200 when Redis answers, 503 otherwise",
    responses={200: {"model": Health}, 503: {"model": Health, "description": "Redis does not answer"}},
)
def health(store: StoreDep) -> JSONResponse:
    stats = store.stats()
    body = {
        "status": "ok" if stats.redis_healthy else "degraded",
        "redis_healthy": stats.redis_healthy,
        "workers": stats.workers,
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if stats.redis_healthy else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
