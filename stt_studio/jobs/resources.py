"""A worker's two finite resources, memory and the data disk: the memory limit, and what to do when either runs out.

A job that runs out of memory fails with a plain reason and the worker is started afresh. When the data disk fills
up, nothing can be written: not the transcript, not the job's record, and not Redis either when its append-only
file is on the same disk (the embedded Valkey's is): it refuses writes ("MISCONF") until there is space again.
The end of such a job is therefore recorded as soon as the disk allows it.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis

log = logging.getLogger(__name__)

T = TypeVar("T")

DISK_FULL_MESSAGE = (
    "The data folder's disk is full: the transcript could not be saved. Free some space, then retry the job."
)
DISK_WAIT_SECONDS = 3600.0
"""How long a worker waits for space to record the end of a job before it gives up (and the job is run again)."""
_DISK_POLL_SECONDS = 1.0


def out_of_memory_message(limit_mb: float | None) -> str:
    limit = f" (STT_WORKER_MEMORY_LIMIT_MB={limit_mb:g})" if limit_mb else ""
    return (
        f"The worker ran out of memory while transcribing this file{limit}. Try a smaller model, split the file, "
        "or give the worker more memory."
    )


def is_out_of_memory(exc: BaseException) -> bool:
    """Python's MemoryError, and the RuntimeErrors torch and CTranslate2 raise when an allocation fails (on the CPU,
    or CUDA out of memory)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def apply_memory_limit(limit_mb: float | None) -> None:
    """Cap this process's data segment (heap and private mappings: RLIMIT_DATA). Allocations beyond it fail
    (MemoryError in Python) rather than swapping the machine to a halt."""
    if limit_mb is None:
        return
    import resource

    limit = int(limit_mb * 2**20)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    log.info("Worker memory limited to %g MB (RLIMIT_DATA)", limit_mb)


def is_disk_full(exc: BaseException) -> bool:
    """A write that failed for want of space: on the data disk, or in Redis, whose append-only file is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, redis.ResponseError) and ("MISCONF" in str(exc) or "No space left" in str(exc))


def when_space_allows(action: Callable[[], T], what: str, timeout: float = DISK_WAIT_SECONDS) -> T:
    """Run ``action``; while it fails because a disk is full, try again every second (up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        try:
            return action()
        except (OSError, redis.ResponseError) as exc:
            if not is_disk_full(exc) or time.monotonic() >= deadline:
                raise
            if not warned:
                log.warning("The disk is full: waiting for space to record %s (%s)", what, exc)
                warned = True
        time.sleep(_DISK_POLL_SECONDS)
