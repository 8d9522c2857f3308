"""The webhook worker: a light process (no model) that runs the ``stt-webhooks`` queue's delivery tries.

Retries are scheduled with RQ (``enqueue_in``); RQ's own scheduler for them runs as a forked process, which would
outlive this one if it were killed. Here a thread of this process moves due retries to the queue instead (with
RQ's scheduler lock, so of several webhook workers one does it).
"""

from __future__ import annotations

import logging
import threading

from rq import SimpleWorker
from rq.job import Job
from rq.scheduler import RQScheduler

from stt_studio.jobs.connection import connect
from stt_studio.jobs.store import JobStore
from stt_studio.processes import watch_parent_from_env
from stt_studio.settings import Settings
from stt_studio.webhooks import queue
from stt_studio.webhooks.delivery import DeliveryContext, new_client, use_context
from stt_studio.webhooks.signing import webhook_secret
from stt_studio.webhooks.url_safety import AllowList

log = logging.getLogger(__name__)

SCHEDULER_SECONDS = 1.0
WORKER_TTL = 60


class WebhookWorker(SimpleWorker):
    def get_heartbeat_ttl(self, job: Job) -> int:
        return queue.JOB_TIMEOUT_SECONDS + 60  # one try never beats; it is bounded by its job timeout


def _move_due_retries(scheduler: RQScheduler, stop: threading.Event) -> None:
    while not stop.wait(SCHEDULER_SECONDS):
        try:
            if scheduler.acquire_locks():  # acquired, or refreshed while we hold it
                scheduler.enqueue_scheduled_jobs()
        except Exception as exc:  # Redis restarting: the next round tries again
            log.warning("Could not move due webhook retries to the queue: %s", exc)
    scheduler.release_locks()


def run_webhook_worker(settings: Settings, *, burst: bool = False) -> None:
    """Deliver webhooks until stopped (SIGTERM/SIGINT: after the current try)."""
    watch_parent_from_env()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs each request's URL, whose query may hold a token
    connection = connect(settings)
    store = JobStore(connection, settings.data_dir)
    webhook_secret(settings)  # a generated one exists from the start, for `stt-studio webhook-secret` to show
    context = DeliveryContext(
        settings=settings,
        store=store,
        client=new_client(settings.webhook_timeout_seconds),
        allow=AllowList.parse(settings.webhook_allowed_hosts),
    )
    use_context(context)  # SimpleWorker runs each try in this thread
    webhooks = queue.webhook_queue(connection)
    stop = threading.Event()
    scheduler = RQScheduler([webhooks], connection=connection)
    mover = threading.Thread(target=_move_due_retries, args=(scheduler, stop), name="stt-webhook-retries", daemon=True)
    mover.start()
    worker = WebhookWorker([webhooks], connection=connection, worker_ttl=WORKER_TTL)
    log.info("Webhook worker ready (retries after %s s)", ", ".join(f"{s:g}" for s in settings.webhook_retry_seconds))
    try:
        worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
    finally:
        stop.set()
        mover.join()
        context.client.close()
