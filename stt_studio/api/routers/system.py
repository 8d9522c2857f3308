"""GET /queue/stats, /health and /metrics."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import redis
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from stt_studio import __version__
from stt_studio.api.deps import StoreDep

router = APIRouter(tags=["system"])


@router.get("/queue/stats", summary="Queue length and Redis health, and what each worker runs")
def queue_stats(store: StoreDep) -> dict[str, Any]:
    stats = store.stats()
    if stats.redis_healthy:
        with contextlib.suppress(redis.RedisError):  # the counts still answer
            stats.worker_models = [info.public() for info in store.worker_infos()]
    return stats.model_dump()


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
