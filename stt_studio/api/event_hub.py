"""One Redis subscription per API process, fanned out to every Server-Sent Events client.

A thread holds the subscription to the job-event channel and hands each event to the event loop, which puts it in
the inbox of every client that listens to that job (or to all jobs). However many clients listen, Redis sees one
subscriber per API process, and the hub re-reads the jobs being watched once every ``refresh_seconds`` (once per
job, not per client): that catches what nobody published, such as a job RQ queued again after its worker died, or
events published while the subscription was reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from pydantic import ValidationError

from stt_studio.jobs.events import CHANNEL, SEGMENTS_CHANNEL, JobEvent, SegmentsNotice
from stt_studio.jobs.store import JobNotFoundError, JobStore

log = logging.getLogger(__name__)
T = TypeVar("T")

REFRESH_SECONDS = 5.0
_POLL_SECONDS = 1.0
"""How long the subscription thread waits for a message before it checks whether the hub is stopping (a wait on the
socket: no Redis command)."""
_RECONNECT_SECONDS = 1.0
_INBOX_LIMIT = 256

Heard = JobEvent | SegmentsNotice


class Listener:
    """One client's inbox: the events of one job, or of every job when ``job_id`` is None. It listens from its
    creation until closed (or, never used, garbage collected).

    A client that reads too slowly to keep up loses intermediate states, never a job's latest one (nor its latest
    count of segments so far). Segment notices go only to the listeners of that one job.
    """

    def __init__(self, job_id: str | None, listeners: weakref.WeakSet[Listener]) -> None:
        self.job_id = job_id
        self._events: deque[Heard] = deque()
        self._ready = asyncio.Event()
        self._listeners = listeners
        listeners.add(self)

    def close(self) -> None:
        self._listeners.discard(self)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def wants(self, event: Heard) -> bool:
        if isinstance(event, SegmentsNotice):
            return self.job_id == event.job_id
        return self.job_id is None or self.job_id == event.job_id

    def push(self, event: Heard) -> None:
        self._events.append(event)
        if len(self._events) > _INBOX_LIMIT:
            # each job's latest state (and segment count), in the order they last changed
            latest = {(type(e), e.job_id): e for e in self._events}
            self._events = deque(latest.values())
        self._ready.set()

    async def next(self) -> Heard:
        while not self._events:
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    def drop_pending_states(self) -> None:
        """Forget the events that came while the client's first state was being read, which may be older than it,
        except those that end a job."""
        self._events = deque(e for e in self._events if e.ends_job)


class EventHub:
    def __init__(self, store: JobStore, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._listeners: weakref.WeakSet[Listener] = weakref.WeakSet()
        """Weak: a stream that never started (a HEAD request, a client gone at once) leaves nothing behind."""
        self._active: dict[str, JobEvent] = {}
        """The latest state of each job heard of that has not ended: what a refresh compares against."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._refreshing = asyncio.Lock()
        self._heard_while_reading: set[str] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._reads: dict[str, asyncio.Future[Any]] = {}

    # --- lifetime (the app's lifespan) -----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._subscribe, name="stt-job-events", daemon=True)
        self._thread.start()
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def stop(self) -> None:
        self._stopping.set()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, _POLL_SECONDS + 5)

    # --- clients ---------------------------------------------------------------------------------------------
    def listen(self, job_id: str | None = None) -> Listener:
        """Events of ``job_id`` (of every job when None) from now on."""
        return Listener(job_id, self._listeners)

    async def shared_read(self, key: str, read: Callable[[], T]) -> T:
        """``read()`` in a thread, once for every caller that asks for ``key`` while it runs: when a job ends, all
        its clients want the final job at the same moment. Only for reads that any of them may share."""
        pending = self._reads.get(key)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(read))
            self._reads[key] = pending
            pending.add_done_callback(lambda _: self._reads.pop(key, None))
        result: T = await asyncio.shield(pending)  # a client that leaves does not cancel the others' read
        return result

    def dispatch(self, event: Heard) -> None:
        """Hand ``event`` to every listener that wants it (in the event loop's thread)."""
        if isinstance(event, JobEvent):
            if event.ends_job:
                self._active.pop(event.job_id, None)
            else:
                self._active[event.job_id] = event
        for listener in self._listeners:
            if listener.wants(event):
                listener.push(event)

    # --- the subscription (its own thread) -------------------------------------------------------------------
    def _subscribe(self) -> None:
        failing = False
        while not self._stopping.is_set():
            pubsub = self.store.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(CHANNEL, SEGMENTS_CHANNEL)
                if failing:
                    log.info("Job events: subscribed again")
                    failing = False
                self._in_loop(self._refresh_soon)  # whatever happened while not subscribed
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=_POLL_SECONDS)
                    if message is not None and message["type"] == "message":
                        self._in_loop(self._receive, message["channel"], message["data"])
            except (redis.RedisError, OSError) as exc:
                if not failing:  # once per outage, not once a second
                    log.warning("Job events: lost the Redis subscription (%s); subscribing again", exc)
                    failing = True
                self._stopping.wait(_RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()

    def _in_loop(self, callback: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop has closed: the app is shutting down
            self._loop.call_soon_threadsafe(callback, *args)

    def _receive(self, channel: bytes, data: bytes) -> None:
        try:
            if channel == SEGMENTS_CHANNEL.encode():
                self.dispatch(SegmentsNotice.model_validate_json(data))
                return
            event = JobEvent.model_validate_json(data)
        except ValidationError as exc:
            log.warning("Job events: ignored a malformed event (%s)", exc)
            return
        self._heard_while_reading.add(event.job_id)
        self.dispatch(event)

    # --- the periodic re-read --------------------------------------------------------------------------------
    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except Exception:  # the safety net must outlive one bad round
                log.exception("Job events: the periodic re-read failed")

    def _refresh_soon(self) -> None:
        task = asyncio.ensure_future(self.refresh())
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    def _watched(self) -> set[str]:
        """The jobs to re-read: those someone watches, plus every job heard of as active when someone watches all."""
        ids = {listener.job_id for listener in self._listeners if listener.job_id is not None}
        if any(listener.job_id is None for listener in self._listeners):
            ids.update(self._active)
        return ids

    async def refresh(self) -> None:
        """Read the watched jobs' states from the store and dispatch those that differ from what was last heard."""
        async with self._refreshing:
            ids = self._watched()
            if not ids:
                return
            self._heard_while_reading.clear()
            try:
                states = await asyncio.to_thread(self._read_states, ids)
            except (redis.RedisError, OSError) as exc:
                log.warning("Job events: could not re-read the watched jobs (%s)", exc)
                return
            for event in states:
                # A job whose event came during the read has a state at least as new as the one read.
                if event.job_id not in self._heard_while_reading and event != self._active.get(event.job_id):
                    self.dispatch(event)

    def _read_states(self, job_ids: Iterable[str]) -> list[JobEvent]:
        states = []
        for job_id in job_ids:
            try:
                states.append(JobEvent.of(self.store.get(job_id, with_result=False)))
            except JobNotFoundError:
                states.append(JobEvent.gone(job_id))
        return states
