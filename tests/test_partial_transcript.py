"""The transcript as it is made (issue 20): the store of a running job's segments so far (bounded, gone when the job
ends), the engine's batches, and, run for real on ``serve`` with a tiny.en worker, ``partial`` growing in
GET /jobs/{id} and the `segment` events of GET /jobs/{id}/events adding up to the final text."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from rq.job import Job
from sse_starlette import ServerSentEvent

from stt_studio.api.app import create_app
from stt_studio.api.event_hub import EventHub, Listener
from stt_studio.api.routers.events import _EventIds, _job_stream
from stt_studio.client import StudioClient
from stt_studio.engine.result import Segment, Word
from stt_studio.engine.stage_data import AsrPiece, partial_segments
from stt_studio.jobs.events import JobEvent, SegmentsNotice
from stt_studio.jobs.models import JobOptions, JobStatus, PartialTranscript
from stt_studio.jobs.partial import PartialTranscripts
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from tests import live
from tests.conftest import LiveService
from tests.test_events import Event, sse


def _segments(first: int, count: int) -> list[Segment]:
    return [Segment(id=i, start=float(i), end=i + 0.5, text=f"segment {i}") for i in range(first, first + count)]


# --- units: data only, or one embedded Valkey --------------------------------------------------------------------


def test_the_store_keeps_a_jobs_segments_in_order_reads_them_from_an_id_and_forgets_them(store: JobStore) -> None:
    partials = PartialTranscripts(store.redis, max_segments=5)
    job, other = "job-a", "job-b"
    assert partials.read(job) is None  # nothing decoded yet
    assert partials.append(job, _segments(0, 3), 12.5) == 3
    assert partials.append(other, _segments(0, 1), 3.0) == 1
    assert partials.append(job, _segments(3, 2), 20.0) == 5
    assert partials.read(job) == PartialTranscript(segments=_segments(0, 5), until=20.0)
    assert partials.read(job, after=3) == PartialTranscript(segments=_segments(3, 2), until=20.0)
    assert partials.read(job, after=5) == PartialTranscript(segments=[], until=20.0)
    assert 0 < store.redis.ttl(f"stt:partial:{job}:segments") <= partials.keep_seconds  # a dead worker's expire

    # bounded: the latest five are kept, with their ids in the whole transcript
    assert partials.append(job, _segments(5, 3), 31.0) == 8
    kept = partials.read(job)
    assert kept is not None and [s.id for s in kept.segments] == [3, 4, 5, 6, 7]
    assert partials.read(job, after=6) == PartialTranscript(segments=_segments(6, 2), until=31.0)
    assert partials.read(job, after=1) == kept  # those dropped are not invented

    partials.remove(job)
    assert partials.read(job) is None and store.redis.keys(f"stt:partial:{job}*") == []
    assert partials.read(other) == PartialTranscript(segments=_segments(0, 1), until=3.0)


def test_a_job_has_a_partial_only_while_it_runs_and_canceling_it_removes_it(store: JobStore, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    job_id, _ = store.new_job_dir()
    store.submit(job_id, audio, JobOptions(), filename="a.wav", delete_audio_after=False)
    store.partials.append(job_id, _segments(0, 2), 9.0)
    queued = store.get(job_id, with_result=False, with_partial=True)
    assert queued.status == JobStatus.QUEUED and queued.partial is None  # not running: none, whatever is kept
    assert "partial" not in queued.to_response()  # absent, as error and result are when they have no value

    store.cancel(job_id)
    assert store.partials.read(job_id) is None  # a canceled job keeps none


def _aligned(count: int) -> list[Segment]:
    """Fewer, longer segments than ``_segments`` gives for the same speech, as alignment may split it, with words."""
    return [
        Segment(
            id=i,
            start=2.0 * i,
            end=2.0 * i + 1.5,
            text=f"aligned {i}",
            words=[Word(word="aligned", start=2.0 * i, end=2.0 * i + 0.7, score=0.9)],
        )
        for i in range(count)
    ]


def _running_job(store: JobStore, tmp_path: Path) -> str:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    job_id, _ = store.new_job_dir()
    store.submit(job_id, audio, JobOptions(), filename="a.wav", delete_audio_after=False)
    Job.fetch(job_id, connection=store.redis).set_status("started")  # type: ignore[arg-type]  # as a worker does
    return job_id


def test_the_aligned_segments_replace_the_decoded_ones_and_a_reader_can_tell(store: JobStore, tmp_path: Path) -> None:
    """Issue 20: word times arrive when their stage finishes. GET /jobs/{id} says `words_aligned`, so a client that
    asked for the segments after its own five learns that what it has is replaced, and reads them from 0 again."""
    job_id = _running_job(store, tmp_path)
    api = TestClient(create_app(Settings(data_dir=store.jobs_dir.parent), store))
    store.partials.append(job_id, _segments(0, 5), 80.0)
    decoded = api.get(f"/jobs/{job_id}").json()["partial"]
    assert decoded["words_aligned"] is False and len(decoded["segments"]) == 5

    assert store.partials.replace_with_aligned(job_id, _aligned(3), 226.0) == 3
    since = api.get(f"/jobs/{job_id}", params={"partial_after": 5}).json()["partial"]
    assert since == {"segments": [], "until": 226.0, "words_aligned": True}  # nothing new, but all replaced
    again = api.get(f"/jobs/{job_id}").json()["partial"]
    assert PartialTranscript.model_validate(again) == PartialTranscript(
        segments=_aligned(3), until=226.0, words_aligned=True
    )
    assert again["segments"][0]["words"][0]["word"] == "aligned"
    store.partials.remove(job_id)
    assert "partial" not in api.get(f"/jobs/{job_id}").json()


async def _next(stream: AsyncIterator[ServerSentEvent]) -> ServerSentEvent:
    return await asyncio.wait_for(anext(stream), 10)


def test_the_event_stream_sends_the_aligned_segments_once_in_place_of_those_it_sent(
    store: JobStore, tmp_path: Path
) -> None:
    """The `aligned` event: on its notice, and to a stream that missed notices and finds the store aligned."""
    job_id = _running_job(store, tmp_path)
    store.partials.append(job_id, _segments(0, 5), 80.0)

    async def stream_events() -> list[tuple[str | None, dict[str, Any]]]:
        hub = EventHub(store)
        listener = hub.listen(job_id)
        view = store.get(job_id, with_result=False)
        stream = _job_stream(listener, view, store, hub, _EventIds(None))
        sent = [await _next(stream), await _next(stream)]  # its state, the segments so far
        store.partials.replace_with_aligned(job_id, _aligned(3), 226.0)
        hub.dispatch(SegmentsNotice(job_id=job_id, count=3, until=226.0, words_aligned=True))
        sent.append(await _next(stream))
        hub.dispatch(SegmentsNotice(job_id=job_id, count=3, until=226.0, words_aligned=True))  # twice: nothing
        hub.dispatch(JobEvent.gone(job_id))
        sent += [await _next(stream)]  # `deleted`

        missed = _job_stream(hub.listen(job_id), view, store, hub, _EventIds(None))
        await _next(missed)
        store.partials.remove(job_id)
        store.partials.append(job_id, _segments(0, 5), 80.0)
        sent.append(await _next(missed))  # 0..4
        store.partials.replace_with_aligned(job_id, _aligned(3), 226.0)  # its aligned notice not heard yet
        hub.dispatch(SegmentsNotice(job_id=job_id, count=7, segments=_segments(6, 1), until=90.0))  # 5 missed
        sent.append(await _next(missed))
        return [(e.event, json.loads(str(e.data))) for e in sent if e.event != "state"]

    events = asyncio.run(stream_events())
    assert [name for name, _ in events] == ["segment", "aligned", "deleted", "segment", "aligned"]
    for name, data in events:
        if name == "segment":
            assert data["words_aligned"] is False and [s["id"] for s in data["segments"]] == [0, 1, 2, 3, 4]
        if name == "aligned":
            assert data["words_aligned"] is True and data["until"] == 226.0
            assert [Segment.model_validate(s) for s in data["segments"]] == _aligned(3)


def test_a_batch_becomes_numbered_segments_without_words_or_empty_ones() -> None:
    pieces = [AsrPiece(1.0, 4.2, " Hello there."), AsrPiece(4.2, 5.0, "  "), AsrPiece(5.0, 7.123456, " Bye.")]
    assert partial_segments(pieces, 7) == [
        Segment(id=7, start=1.0, end=4.2, text="Hello there."),
        Segment(id=8, start=5.0, end=7.123, text="Bye."),
    ]


def test_a_slow_clients_inbox_keeps_each_jobs_latest_state_and_segment_count() -> None:
    import weakref

    listener = Listener("job", weakref.WeakSet())
    for i in range(257):  # one over the inbox's limit: it is merged as the last one comes
        if i % 2 == 0:
            listener.push(SegmentsNotice(job_id="job", count=i + 1, segments=_segments(i, 1)))
        else:
            listener.push(JobEvent(job_id="job", status=JobStatus.PROCESSING, stage="transcribing", progress=i // 3))
    kept = list(listener._events)
    assert [type(e) for e in kept] == [SegmentsNotice, JobEvent]
    assert isinstance(kept[0], SegmentsNotice) and isinstance(kept[1], JobEvent)
    assert kept[0].count == 257 and kept[1].progress == 85
    assert not Listener(None, weakref.WeakSet()).wants(SegmentsNotice(job_id="job", count=1))  # GET /events: none


# --- for real: serve, a tiny.en worker, speech in three batches ---------------------------------------------------


def _normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_a_running_job_shows_its_transcript_growing_by_poll_and_by_events(
    service: LiveService, sparse_wav: Path
) -> None:
    job_id = live.submit(service.url, sparse_wav, language="en")
    polled: list[dict[str, Any]] = []
    stop = threading.Event()

    later: list[list[int]] = []
    client = StudioClient(service.url)

    def poll() -> None:
        while not stop.is_set():
            job = httpx.get(f"{service.url}/jobs/{job_id}", timeout=10).json()
            if "partial" in job:
                assert job["status"] == "processing"
                if not job["partial"]["words_aligned"]:  # the decoded ones (the aligned last a moment: no speakers)
                    polled.append(job["partial"])
                # what a client that has two segments lacks, as the remote desktop asks for it
                since = client.job(job_id, with_result=False, partial_after=2)
                if since.partial is not None:
                    later.append([s.id for s in since.partial.segments])
            time.sleep(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        with sse(f"{service.url}/jobs/{job_id}/events") as stream:
            events: list[Event] = list(stream)  # the server ends the stream after the final job
    finally:
        stop.set()
        poller.join(30)
        client.close()

    final = events[-1].data
    assert events[-1].name == "job" and final["status"] == "completed", final
    assert "partial" not in final and "partial" not in httpx.get(f"{service.url}/jobs/{job_id}", timeout=10).json()
    valkey = EmbeddedRedis(service.data_dir / "redis").client()
    assert valkey.keys(f"stt:partial:{job_id}*") == []  # the worker removed them as the job ended

    batches = [e.data for e in events if e.name == "segment"]
    assert len(batches) >= 2, [e.name for e in events]  # nine chunks, four a batch: three batches (the last may be
    streamed = [s for batch in batches for s in batch["segments"]]  # over before a slow reader gets there)
    assert [s["id"] for s in streamed] == list(range(len(streamed)))  # in order, none twice, none missing
    assert all(s["words"] == [] and s["speaker"] is None for s in streamed)
    untils = [batch["until"] for batch in batches]
    assert untils == sorted(untils) and untils[-1] <= final["result"]["duration"]

    assert later and all(ids == list(range(2, 2 + len(ids))) for ids in later), later
    bad = httpx.get(f"{service.url}/jobs/{job_id}", params={"partial_after": -1}, timeout=10)
    assert bad.status_code == 422 and "partial_after" in bad.json()["detail"], bad.text
    counts = [len(p["segments"]) for p in polled]
    assert counts == sorted(counts) and len(set(counts)) >= 2, counts  # partial.segments grows during the run
    assert [s["text"] for s in polled[-1]["segments"]] == [s["text"] for s in streamed[: counts[-1]]]

    # the final text is what was streamed, then the segments after the last `until` streamed
    after = [s["text"] for s in final["result"]["segments"] if s["start"] >= untils[-1]]
    expected = _normalized(" ".join([*(s["text"] for s in streamed), *after]))
    assert _normalized(final["result"]["text"]) == expected
