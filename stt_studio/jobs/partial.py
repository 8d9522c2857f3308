"""The transcript as it is made: a running job's segments so far, kept in Redis beside the job (``JobStore`` owns
the job's state; this keeps only what the transcription has decoded until the job ends).

The worker appends each batch of segments as the engine decodes it, replaces them all with the aligned segments
(words and word times, numbered from 0 again) when the alignment stage ends, and removes them all when the job ends
(and when an attempt starts again from its first batch). Bounded: at most ``max_segments`` are kept, the latest ones
(their ``id`` stays their place in the whole transcript), and the keys expire on their own should a worker die
and no attempt follow.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from stt_studio.engine.result import Segment
from stt_studio.jobs.models import PartialTranscript

MAX_SEGMENTS = 5000
"""About eight hours of speech at Whisper's usual segment length; a longer job keeps its latest ones."""
KEEP_SECONDS = 24 * 3600
"""A running job refreshes this with every batch; the keys of a job whose worker died expire after it."""
_PREFIX = "stt:partial:"


class PartialTranscripts:
    def __init__(
        self, connection: redis.Redis, *, max_segments: int = MAX_SEGMENTS, keep_seconds: int = KEEP_SECONDS
    ) -> None:
        self.redis = connection
        self.max_segments = max_segments
        self.keep_seconds = keep_seconds

    @staticmethod
    def _keys(job_id: str) -> tuple[str, str]:
        return f"{_PREFIX}{job_id}:segments", f"{_PREFIX}{job_id}:state"

    def append(self, job_id: str, segments: Sequence[Segment], until: float) -> int:
        """Add a batch of new segments (numbered by the caller from 0 on) and the audio time they cover up to;
        returns how many segments the job has so far (the dropped ones included)."""
        listed, state = self._keys(job_id)
        pipe = self.redis.pipeline()  # MULTI: a reader never sees the segments without their count
        if segments:
            pipe.rpush(listed, *(s.model_dump_json() for s in segments))
            pipe.ltrim(listed, -self.max_segments, -1)
        pipe.hincrby(state, "count", len(segments))
        pipe.hset(state, "until", repr(float(until)))
        pipe.expire(listed, self.keep_seconds)
        pipe.expire(state, self.keep_seconds)
        replies = pipe.execute()
        return int(replies[2 if segments else 0])

    def replace_with_aligned(self, job_id: str, segments: Sequence[Segment], until: float) -> int:
        """The aligned segments (with their words, numbered from 0) in place of the decoded ones, at once for every
        reader; returns how many there are."""
        listed, state = self._keys(job_id)
        pipe = self.redis.pipeline()
        pipe.delete(listed, state)
        if segments:
            pipe.rpush(listed, *(s.model_dump_json() for s in segments))
            pipe.ltrim(listed, -self.max_segments, -1)
            pipe.expire(listed, self.keep_seconds)
        pipe.hset(state, mapping={"count": len(segments), "until": repr(float(until)), "words_aligned": 1})
        pipe.expire(state, self.keep_seconds)
        pipe.execute()
        return len(segments)

    def read(self, job_id: str, after: int = 0) -> PartialTranscript | None:
        """The segments kept whose id is ``after`` or more, ``until``, and whether they are the aligned ones (ids
        then count from 0 again); None when the job has none (it has not decoded a batch yet, or it is not
        running)."""
        listed, state = self._keys(job_id)
        pipe = self.redis.pipeline()
        pipe.hgetall(state)
        pipe.llen(listed)
        stored, kept = pipe.execute()
        if not stored:
            return None
        count = int(stored.get(b"count", 0))
        first_kept = count - int(kept)
        raw = self.redis.lrange(listed, max(0, after - first_kept), -1) if after < count else []
        segments = [Segment.model_validate_json(item) for item in raw]
        return PartialTranscript(
            segments=[s for s in segments if s.id >= after],
            until=float(stored.get(b"until", 0.0)),
            words_aligned=stored.get(b"words_aligned") == b"1",
        )

    def count(self, job_id: str) -> int:
        value = self.redis.hget(self._keys(job_id)[1], "count")
        return int(value) if value is not None else 0

    def remove(self, job_id: str) -> None:
        self.redis.delete(*self._keys(job_id))
