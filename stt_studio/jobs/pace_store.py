"""Where workers keep how fast this machine runs each stage (:class:`~stt_studio.engine.pace.Pace`): in Redis,
beside their other reports, one small JSON value per model and device, shared by all the queue's workers."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import redis

from stt_studio.engine.pace import Pace

log = logging.getLogger(__name__)

_PREFIX = "stt:pace:"


class PaceStore:
    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection

    @staticmethod
    def _key(model: str, device: str) -> str:
        return f"{_PREFIX}{device}:{model}"

    def load(self, model: str, device: str) -> Pace:
        """The pace measured for ``model`` on ``device``; the defaults when none was, or Redis can't say."""
        try:
            raw = self.redis.get(self._key(model, device))
            rates = json.loads(raw) if raw else {}
        except (redis.RedisError, ValueError) as exc:
            log.debug("No pace for %s on %s: %s", model, device, exc)
            return Pace()
        if not isinstance(rates, dict):
            return Pace()
        return Pace({str(k): float(v) for k, v in rates.items() if isinstance(v, int | float)})

    def record(self, model: str, device: str, stage_seconds: Mapping[str, float], audio_seconds: float) -> None:
        """Blend a completed job's wall time per stage into the pace of ``model`` on ``device``. Best effort: a
        pace not recorded makes the next estimate worse, never a job fail."""
        pace = self.load(model, device).learned(stage_seconds, audio_seconds)
        try:
            self.redis.set(self._key(model, device), json.dumps(dict(pace.seconds_per_audio_second)))
        except redis.RedisError as exc:
            log.warning("Could not record this machine's pace for %s on %s: %s", model, device, exc)
