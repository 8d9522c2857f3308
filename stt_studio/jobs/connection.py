"""Which Redis to use: the configured one (REDIS_URL, or REDIS_HOST/PORT/PASSWORD) or the embedded server."""

from __future__ import annotations

import redis

from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.settings import Settings


def embedded_server(settings: Settings) -> EmbeddedRedis | None:
    """The embedded server this configuration uses, or None when an external Redis is configured."""
    if settings.redis_url or settings.redis_host:
        return None
    return EmbeddedRedis(settings.data_dir / "redis")


_TIMEOUT_SECONDS = 5.0
"""An unreachable Redis is an error (the API answers 503) within seconds, not a hang. RQ's worker raises its own
connection's read timeout above its blocking dequeue's."""


def connect(settings: Settings) -> redis.Redis:
    """A client for the configured Redis; starts the embedded server if it is the one and isn't running."""
    if settings.redis_url:
        return redis.Redis.from_url(
            settings.redis_url,
            health_check_interval=30,
            socket_timeout=_TIMEOUT_SECONDS,
            socket_connect_timeout=_TIMEOUT_SECONDS,
        )
    if settings.redis_host:
        return redis.Redis(
            host=settings.redis_host,
            port=settings.redis_port,
            password=settings.redis_password,
            health_check_interval=30,
            socket_timeout=_TIMEOUT_SECONDS,
            socket_connect_timeout=_TIMEOUT_SECONDS,
        )
    server = embedded_server(settings)
    assert server is not None
    server.ensure_running()
    return server.client()
