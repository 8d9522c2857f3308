"""The webhook queue: JobStore queues one delivery when a job with a callback ends; ``delivery`` queues retries.

This module knows nothing of JobStore (which imports it), only the queue, so that queuing costs the job's worker
one Redis round trip and no HTTP.
"""

from __future__ import annotations

from datetime import timedelta

import redis
from rq import Queue, Retry

QUEUE_NAME = "stt-webhooks"
DELIVER_FUNCTION = "stt_studio.webhooks.delivery.deliver"
JOB_TIMEOUT_SECONDS = 15 * 60
"""Bounds one try in the webhook worker; a try itself ends at STT_WEBHOOK_TIMEOUT_SECONDS per address."""
RERUNS_AFTER_CRASH = 2
"""A try whose webhook worker died (not a failed delivery: those schedule their own retry) runs again."""
KEEP_SECONDS = 24 * 3600
_QUEUED_PREFIX = "stt:webhook-queued:"


def webhook_queue(connection: redis.Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection)


def queue_first_delivery(connection: redis.Redis, job_id: str) -> bool:
    """Queue the delivery of ``job_id``'s ending, once per job: False when it was queued before (a worker that
    died after recording the ending runs the job again and records it again)."""
    if not connection.set(f"{_QUEUED_PREFIX}{job_id}", 1, nx=True, ex=KEEP_SECONDS):
        return False
    _enqueue(webhook_queue(connection), job_id, attempt=1, delay=None)
    return True


def queue_retry(connection: redis.Redis, job_id: str, attempt: int, delay_seconds: float) -> None:
    _enqueue(webhook_queue(connection), job_id, attempt=attempt, delay=timedelta(seconds=delay_seconds))


def forget(connection: redis.Redis, job_id: str) -> None:
    """The job was deleted: a later job can never reuse its id, but its marker need not wait for its TTL."""
    connection.delete(f"{_QUEUED_PREFIX}{job_id}")


def _enqueue(queue: Queue, job_id: str, *, attempt: int, delay: timedelta | None) -> None:
    options = {
        "kwargs": {"job_id": job_id, "attempt": attempt},
        "retry": Retry(max=RERUNS_AFTER_CRASH),
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "result_ttl": 3600,
        "failure_ttl": KEEP_SECONDS,
        "description": f"webhook for job {job_id} (try {attempt})",
    }
    if delay is None:
        queue.enqueue(DELIVER_FUNCTION, **options)
    else:
        queue.enqueue_in(delay, DELIVER_FUNCTION, **options)
