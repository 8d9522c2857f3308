"""A writer process for tests/test_review_store.py: a small module, so that spawned processes import little."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import redis

from stt_studio.jobs.review import TranscriptVersionError
from stt_studio.jobs.store import JobStore


def offline_store(data_dir: Path) -> JobStore:
    """A store whose Redis client cannot connect: the transcript methods read and write files only."""
    return JobStore(redis.Redis(unix_socket_path=str(data_dir / "no-redis.sock")), data_dir)


def count_up(data_dir: str, job_id: str, times: int, start: Barrier, conflicts: Queue[int]) -> None:
    """Add one to a counter kept in a speaker name, ``times`` times, each a read-modify-write with If-Match; puts
    how often a save found its version stale and read again."""
    store = offline_store(Path(data_dir))
    start.wait()
    stale = 0
    for _ in range(times):
        while True:
            current = store.transcript(job_id)
            count = int(current.result.speaker_names.get("SPEAKER_00", "0"))
            updated = current.result.model_copy(update={"speaker_names": {"SPEAKER_00": str(count + 1)}})
            try:
                store.save_transcript(job_id, updated, if_match=current.etag)
                break
            except TranscriptVersionError:
                stale += 1
    conflicts.put(stale)
