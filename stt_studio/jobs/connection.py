"""Which Redis to use: the configured one (REDIS_URL, or REDIS_HOST/PORT/PASSWORD) or the embedded server."""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff, ExponentialWithJitterBackoff
from redis.retry import Retry

from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.settings import Settings


def embedded_server(settings: Settings) -> EmbeddedRedis | None:
    """The embedded server this configuration uses, or None when an external Redis is configured."""
    if settings.redis_url or settings.redis_host:
        return None
    return EmbeddedRedis(settings.data_dir / "redis")


TIMEOUT_SECONDS = 5.0
"""An unreachable Redis is an error (the API answers 503) within seconds, not a hang. RQ's worker raises its own
connection's read timeout above its blocking dequeue's."""


def client_options(*, patient: bool = False) -> dict[str, Any]:
    """Timeouts and retries. By default a refused connection is tried twice more within about half a second (a
    restarted Redis is back by then) and a stalled one is an error after 5 s: redis-py's own default, ten retries
    with backoff, kept a request to a stopped (SIGSTOP) Redis waiting about a minute. ``patient`` (workers): keep
    retrying for a few minutes, so a Redis restart or stall does not end the worker or cut a job short."""
    if patient:
        retry = Retry(ExponentialWithJitterBackoff(base=0.5, cap=10.0), 30, (redis.ConnectionError, redis.TimeoutError))
    else:
        retry = Retry(ExponentialBackoff(cap=0.4, base=0.1), 2, (redis.ConnectionError,))
    return {"socket_timeout": TIMEOUT_SECONDS, "socket_connect_timeout": TIMEOUT_SECONDS, "retry": retry}


def connect(settings: Settings, *, patient: bool = False) -> redis.Redis:
    """A client for the configured Redis; starts the embedded server if it is the one and isn't running."""
    options = client_options(patient=patient)
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options)
    if settings.redis_host:
        return redis.Redis(
            host=settings.redis_host,
            port=settings.redis_port,
            password=settings.redis_password,
            health_check_interval=30,
            **options,
        )
    server = embedded_server(settings)
    assert server is not None
    server.ensure_running()
    return redis.Redis(unix_socket_path=str(server.socket), **options)
