"""Server-Sent Events: GET /jobs/{job_id}/events (one job until it ends) and GET /events (every job)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from stt_studio.api.deps import StoreDep
from stt_studio.api.event_hub import EventHub, Listener
from stt_studio.api.responses import NO_SUCH_JOB, QUEUE_UNAVAILABLE, job_response
from stt_studio.jobs.events import JobEvent, SegmentsNotice
from stt_studio.jobs.models import JobStatus, JobView, PartialTranscript
from stt_studio.jobs.store import JobNotFoundError, JobStore

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])

PING_SECONDS = 15
"""A comment line this often keeps proxies from closing a quiet stream."""


async def get_hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.events
    return hub


HubDep = Annotated[EventHub, Depends(get_hub)]
LastEventId = Annotated[
    str | None,
    Header(description="The id of the last event received, sent by SSE clients when they reconnect"),
]


_STATE_DOC = """- `state`: `{"job_id", "status", "stage", "progress"}`: the current state at once on connecting (and
  reconnecting), then each change of status, stage or whole percent of progress."""
_SEGMENT_DOC = """- `segment`: `{"job_id", "segments", "until", "words_aligned": false}`: while the job transcribes,
  each new batch of segments (the result's segment shape, without words and speakers; ids are their place in the
  whole transcript) and the audio time the transcription has got up to. On connecting to a running job, one such
  event has all the segments so far (GET /jobs/{job_id} has them too, as `partial`)."""
_ALIGNED_DOC = """- `aligned`: `{"job_id", "segments", "until", "words_aligned": true}`: the alignment stage has
  finished; these segments, with their words and word times (no speakers yet), replace all the segments sent so far
  (they are numbered from 0 again: alignment may split them differently). On connecting to a job past its
  alignment, this instead of the `segment` event."""
_JOB_DOC = """- `job`: the final job, exactly as GET /jobs/{job_id} answers it (with `result` when completed); then the
  stream ends."""
_DELETED_DOC = """- `deleted`: `{"job_id"}`: the job was deleted (or a retry replaced it with a new job)."""
_IDS_DOC = """Event ids are the server's clock in milliseconds, strictly increasing within a stream and above the
`Last-Event-ID` a client reconnects with. Every event carries the whole state, so nothing is replayed: on
reconnecting, the first events are the current state. A comment line (`: ping`) comes every 15 s when nothing else
does."""


class StateData(BaseModel):
    """A `state` event's data: the job's state (what ``JobEvent.public_json`` writes)."""

    job_id: str
    status: JobStatus
    stage: str | None
    progress: int


class SegmentData(PartialTranscript):
    """A `segment` event's data: the job's new segments and how far the transcription has got; an `aligned` event's:
    all its aligned segments."""

    job_id: str


class DeletedData(BaseModel):
    """A `deleted` event's data: the job that is gone."""

    job_id: str


def _data_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema, referring to the document's components (JobStatus is one: JobView uses it)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def _event_schema(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One event as an SSE parser reads it (OpenAPI 3.1: a text/event-stream schema describes each event): its
    name, its id, and its data, a JSON text."""
    return {
        "type": "object",
        "properties": {
            "event": {"const": name},
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
        },
        "required": ["event", "id", "data"],
    }


STATE_EVENT = _event_schema("state", _data_schema(StateData))
SEGMENT_EVENT = _event_schema("segment", _data_schema(SegmentData))
ALIGNED_EVENT = _event_schema("aligned", _data_schema(SegmentData))
JOB_EVENT = _event_schema("job", {"$ref": "#/components/schemas/JobView"})
DELETED_EVENT = _event_schema("deleted", _data_schema(DeletedData))


def _stream_responses(*events: tuple[str, dict[str, Any]], job_errors: bool) -> dict[int | str, dict[str, Any]]:
    lines = [line for line, _ in events]
    description = "\n".join(["Events (`event:` name, then `data:` JSON):", "", *lines, "", _IDS_DOC])
    stream = {"text/event-stream": {"schema": {"oneOf": [schema for _, schema in events]}}}
    responses: dict[int | str, dict[str, Any]] = {
        200: {"description": description, "content": stream},
        503: QUEUE_UNAVAILABLE[503],
    }
    if job_errors:
        responses[404] = NO_SUCH_JOB
    return responses


_MAX_ID_DIGITS = 18  # ms timestamps have 13; a longer Last-Event-ID is not one of ours and is ignored


class _EventIds:
    """Milliseconds since the epoch, strictly increasing, starting above the client's Last-Event-ID."""

    def __init__(self, last_event_id: str | None) -> None:
        text = (last_event_id or "").strip()
        self.last = int(text) if text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS else 0

    def next(self) -> str:
        self.last = max(self.last + 1, time.time_ns() // 1_000_000)
        return str(self.last)


def _state_event(event: JobEvent, ids: _EventIds) -> ServerSentEvent:
    return ServerSentEvent(data=event.public_json, event="deleted" if event.deleted else "state", id=ids.next())


def _read_job(store: JobStore, job_id: str) -> tuple[JobView, str] | None:
    """The job and its JSON as GET /jobs/{job_id} answers it; None once deleted."""
    try:
        view = store.get(job_id, with_result=False)
    except JobNotFoundError:
        return None
    return view, bytes(job_response(store, view).body).decode()


async def _read_partial(
    store: JobStore, hub: EventHub, job_id: str, told: int, *, aligned: bool = False
) -> PartialTranscript | None:
    """The running job's transcript so far, its segments from id ``told`` on; None when it has none or Redis could
    not say (the next notice brings them). ``aligned``: read after the job's aligned segments were kept (a read
    shared only with others that were too)."""
    key = f"aligned:{job_id}" if aligned else f"partial:{job_id}:{told}"
    try:
        return await hub.shared_read(key, partial(store.partials.read, job_id, told))
    except redis.RedisError as exc:
        log.warning("Could not read the transcript so far of job %s: %s", job_id, exc)
        return None


def _with_segments(found: PartialTranscript | None) -> PartialTranscript | None:
    return found if found is not None and found.segments else None


async def _segments_after(store: JobStore, hub: EventHub, job_id: str, told: int) -> PartialTranscript | None:
    """The running job's segments from id ``told`` on, None when there are none (yet)."""
    return _with_segments(await _read_partial(store, hub, job_id, told))


async def _new_segments(
    notice: SegmentsNotice, store: JobStore, hub: EventHub, told: int, aligned: bool
) -> PartialTranscript | None:
    """What a client that has ``told`` segments (``aligned`` ones or not) lacks after ``notice``: once the aligned
    segments have replaced the decoded ones, all of them; else the segments from id ``told`` on, the notice's own
    when they follow on, or read from the store (notices were missed, or merged in a slow client's inbox)."""
    if aligned or (not notice.words_aligned and notice.count <= told):
        return None  # nothing follows the aligned segments in an attempt
    if notice.words_aligned:
        found = await _read_partial(store, hub, notice.job_id, 0, aligned=True)
        return _with_segments(found) if found is not None and found.words_aligned else None
    if notice.segments and notice.segments[0].id == told:
        return PartialTranscript(segments=notice.segments, until=notice.until)
    found = await _read_partial(store, hub, notice.job_id, told)
    if found is not None and found.words_aligned:  # aligned since the notice: what the client has is replaced
        found = await _read_partial(store, hub, notice.job_id, 0, aligned=True)
    return _with_segments(found)


def _segment_event(job_id: str, found: PartialTranscript, ids: _EventIds) -> ServerSentEvent:
    data = SegmentData(job_id=job_id, segments=found.segments, until=found.until, words_aligned=found.words_aligned)
    name = "aligned" if found.words_aligned else "segment"
    return ServerSentEvent(data=data.model_dump_json(), event=name, id=ids.next())


async def _job_stream(
    listener: Listener, view: JobView, store: JobStore, hub: EventHub, ids: _EventIds
) -> AsyncIterator[ServerSentEvent]:
    job_id = view.job_id
    with listener:
        current = JobEvent.of(view)
        sent: JobEvent | None = current
        yield _state_event(current, ids)
        told, aligned = 0, False  # how many segments of the transcript so far this client has, and which ones
        if view.status == JobStatus.PROCESSING and (found := await _segments_after(store, hub, job_id, 0)):
            told, aligned = found.segments[-1].id + 1, found.words_aligned
            yield _segment_event(job_id, found, ids)
        while True:
            if current != sent:
                yield _state_event(current, ids)
                sent = current
            if current.deleted:
                return
            if current.ends_job:  # read after the job ended: any client that saw it end may share the read
                try:
                    final = await hub.shared_read(f"final:{job_id}", partial(_read_job, store, job_id))
                except redis.RedisError as exc:
                    log.warning("Ended the event stream of job %s (the client reconnects): %s", job_id, exc)
                    return
                if final is None:
                    current = JobEvent.gone(job_id)
                elif final[0].status.is_final:
                    yield ServerSentEvent(data=final[1], event="job", id=ids.next())
                    return
                else:
                    current = JobEvent.of(final[0])  # the event was older than the job's state: it runs again
                continue
            heard = await listener.next()
            if isinstance(heard, SegmentsNotice):
                if found := await _new_segments(heard, store, hub, told, aligned):
                    told, aligned = found.segments[-1].id + 1, found.words_aligned
                    yield _segment_event(job_id, found, ids)
                continue
            current = heard


async def _all_stream(listener: Listener, active: list[JobView], ids: _EventIds) -> AsyncIterator[ServerSentEvent]:
    with listener:
        for view in active:
            yield _state_event(JobEvent.of(view), ids)
        while True:
            heard = await listener.next()
            if isinstance(heard, JobEvent):  # segment notices are for one job's streams (wants() keeps them out)
                yield _state_event(heard, ids)


def _active_jobs(store: JobStore) -> list[JobView]:
    return [*store.list(JobStatus.PROCESSING, limit=10_000), *store.list(JobStatus.QUEUED, limit=10_000)]


@router.get(
    "/jobs/{job_id}/events",
    summary="Server-Sent Events of one job: its state now, each change, then the final job; then the stream ends",
    response_class=EventSourceResponse,
    responses=_stream_responses(
        (_STATE_DOC, STATE_EVENT),
        (_SEGMENT_DOC, SEGMENT_EVENT),
        (_ALIGNED_DOC, ALIGNED_EVENT),
        (_JOB_DOC, JOB_EVENT),
        (_DELETED_DOC, DELETED_EVENT),
        job_errors=True,
    ),
)
async def job_events(
    job_id: str, store: StoreDep, hub: HubDep, last_event_id: LastEventId = None
) -> EventSourceResponse:
    """Addition (not in the contract): instead of polling GET /jobs/{job_id}."""
    listener = hub.listen(job_id)  # before reading the state: no event falls between the two
    view = await run_in_threadpool(partial(store.get, job_id, with_result=False))  # unknown job: 404, no stream
    listener.drop_pending_states()
    stream = _job_stream(listener, view, store, hub, _EventIds(last_event_id))
    return EventSourceResponse(stream, ping=PING_SECONDS)


@router.get(
    "/events",
    summary="Server-Sent Events of every job: the queued and running ones at once, then every change",
    response_class=EventSourceResponse,
    responses=_stream_responses((_STATE_DOC, STATE_EVENT), (_DELETED_DOC, DELETED_EVENT), job_errors=False),
)
async def all_events(store: StoreDep, hub: HubDep, last_event_id: LastEventId = None) -> EventSourceResponse:
    """Addition (not in the contract). No `job` events here: GET /jobs/{job_id} after a final `state`."""
    listener = hub.listen()
    active = await run_in_threadpool(_active_jobs, store)
    listener.drop_pending_states()
    return EventSourceResponse(_all_stream(listener, active, _EventIds(last_event_id)), ping=PING_SECONDS)
