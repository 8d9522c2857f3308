"""The Whisper models workers are downloading now, kept in Redis for the API (``GET /models``, ``/queue/stats``).

A worker tells each step of a download (start-up or a job's model); the entry goes when the download completes,
and expires on its own when the worker stops telling (it died, or the download failed).
"""

from __future__ import annotations

import logging

import redis

from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.jobs.models import ModelDownload

log = logging.getLogger(__name__)

_PREFIX = "stt:model-download:"
TTL_SECONDS = 15
"""Longer than the watcher's pause between two steps of a download that is still moving."""


class ModelDownloads:
    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    def tell(self, progress: DownloadProgress) -> None:
        """Record how far ``progress.model``'s download has got; never raises (news, not state)."""
        key = f"{_PREFIX}{progress.model}"
        try:
            if progress.done_bytes >= progress.total_bytes:
                self.redis.delete(key)
            else:
                self.redis.set(key, ModelDownload.of(progress).model_dump_json(), ex=TTL_SECONDS)
        except redis.RedisError as exc:
            log.debug("Could not record the download of %s: %s", progress.model, exc)

    def current(self) -> list[ModelDownload]:
        keys = sorted(self.redis.scan_iter(match=f"{_PREFIX}*", count=100))
        values = self.redis.mget(keys) if keys else []
        return [ModelDownload.model_validate_json(v) for v in values if v is not None]
