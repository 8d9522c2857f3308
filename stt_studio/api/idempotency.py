"""``Idempotency-Key`` on the submit endpoints: a repeated request gets the first request's job, not a new one.

The key maps to the job in Redis for 24 h. The first request claims the key (SET NX) before it queues its job, so
of two concurrent requests with one key only one queues; the other waits the few ms until that job is queued.
A claim records the file's SHA-256 and the options, so that reusing a key for another submission is refused.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import redis
from fastapi import HTTPException, status
from starlette.datastructures import Headers

from stt_studio.jobs.models import JobOptions, JobView
from stt_studio.jobs.store import JobNotFoundError, JobStore

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
KEEP_SECONDS = 24 * 3600
_PENDING_POLL_SECONDS = 0.05
_PENDING_WAIT_SECONDS = 60.0
"""The first request checks its file (decodes 1 s) and queues it between claiming and confirming: milliseconds."""
_PENDING_KEEP_SECONDS = int(2 * _PENDING_WAIT_SECONDS)
"""A claim whose request died before queuing frees its key after this."""
_DELETE_IF_UNCHANGED = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def key_from(headers: Headers) -> str | None:
    key = headers.get(HEADER)
    if key is not None and not (key.strip() and len(key) <= MAX_KEY_CHARS):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"The {HEADER} header must be 1 to {MAX_KEY_CHARS} characters")
    return key


@dataclass(frozen=True)
class Claim:
    job_id: str
    file_sha256: str
    options: dict[str, Any]
    queued: bool = False

    @classmethod
    def of(cls, job_id: str, file_sha256: str, options: JobOptions) -> Claim:
        return cls(job_id, file_sha256, options.model_dump(mode="json"))

    def encoded(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def mismatch(self, other: Claim) -> str | None:
        if self.file_sha256 != other.file_sha256:
            return "a different file"
        if self.options != other.options:
            return "different options"
        return None


class IdempotencyKeys:
    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.redis: redis.Redis = store.redis

    async def claim(self, key: str, claim: Claim) -> JobView | None:
        """None when this request now holds the key and must queue ``claim.job_id`` (then ``confirm`` or
        ``release``); otherwise the job of the request that used the key first."""
        deadline = time.monotonic() + _PENDING_WAIT_SECONDS
        while True:
            if self.redis.set(_redis_key(key), claim.encoded(), nx=True, ex=_PENDING_KEEP_SECONDS):
                return None
            first, encoded = self._read(key)
            if first is None:
                continue  # released or expired since the SET: try again
            if (difference := first.mismatch(claim)) is not None:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    f"The {HEADER} was first used with {difference}; use a new key for a new submission",
                )
            if first.queued:
                try:
                    return self.store.get(first.job_id, with_result=False)
                except JobNotFoundError:
                    self._delete_if_unchanged(key, encoded)  # its job was deleted: the key is free again
                    continue
            if time.monotonic() >= deadline:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"A request with this {HEADER} is still being processed; try again"
                )
            await asyncio.sleep(_PENDING_POLL_SECONDS)

    def confirm(self, key: str, claim: Claim) -> None:
        queued = Claim(claim.job_id, claim.file_sha256, claim.options, queued=True)
        self.redis.set(_redis_key(key), queued.encoded(), xx=True, ex=KEEP_SECONDS)

    def release(self, key: str, claim: Claim) -> None:
        """The claimed submission was refused: the key is free for the next try."""
        self._delete_if_unchanged(key, claim.encoded())

    def _read(self, key: str) -> tuple[Claim | None, str]:
        stored = self.redis.get(_redis_key(key))
        if stored is None:
            return None, ""
        encoded = stored.decode() if isinstance(stored, bytes) else str(stored)
        return Claim(**json.loads(encoded)), encoded

    def _delete_if_unchanged(self, key: str, encoded: str) -> None:
        self.redis.eval(_DELETE_IF_UNCHANGED, 1, _redis_key(key), encoded)


def _redis_key(key: str) -> str:
    return f"stt:idempotency:{key}"
