"""Server-Sent Events of job progress, run for real: ``serve`` with a tiny.en worker, real speech, an SSE client.

GET /jobs/{job_id}/events and GET /events; one Redis subscription per API process however many clients listen; the
periodic re-read that catches state changes nobody published; API keys; and ``serve`` stopping with open streams.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from httpx_sse import connect_sse
from rq.job import Job

from stt_studio.api.event_hub import REFRESH_SECONDS
from stt_studio.engine.progress import Stage
from stt_studio.jobs.events import CHANNEL
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.settings import Settings
from tests import live
from tests.conftest import LiveService
from tests.speech import SENTENCES, speech_clip, wer

pytestmark = pytest.mark.slow

UNKNOWN_JOB = "00000000-0000-0000-0000-000000000000"
STAGE_ORDER = [stage.value for stage in Stage]
READ_TIMEOUT = 40.0
"""Longer than the 15 s between keep-alive pings: a stream that goes silent for this long is broken."""


@dataclass
class Event:
    name: str
    data: dict[str, Any]
    id: str


Events = Iterator[Event]


@contextmanager
def sse(url: str, headers: dict[str, str | bytes] | None = None) -> Iterator[Events]:
    """The events of one SSE request, as they come; the stream is closed when the block is left."""
    timeout = httpx.Timeout(READ_TIMEOUT, connect=10)
    with (
        httpx.Client(timeout=timeout) as client,
        connect_sse(client, "GET", url, headers=dict(headers or {})) as source,
    ):
        assert source.response.status_code == 200, source.response.read()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        # httpx-sse also yields the keep-alive comments as events without data once an id has been seen
        yield (Event(e.event, json.loads(e.data), e.id) for e in source.iter_sse() if e.data)


def read_until(events: Events, done: Callable[[Event], bool], timeout: float = 300) -> list[Event]:
    """Events up to and including the first that is ``done``."""
    deadline = time.monotonic() + timeout
    seen = []
    for event in events:
        seen.append(event)
        if done(event):
            return seen
        assert time.monotonic() < deadline, f"no matching event within {timeout:.0f} s; got {seen[-5:]}"
    raise AssertionError(f"the stream ended before a matching event; got {seen[-5:]}")


def states(events: list[Event], job_id: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.name == "state" and e.data["job_id"] == job_id]


def final_state(job_id: str) -> Callable[[Event], bool]:
    return lambda e: e.name == "state" and e.data["job_id"] == job_id and e.data["status"] in live.FINAL


def assert_progress_rises(job_states: list[dict[str, Any]]) -> None:
    """Stages in the engine's order, progress never lower than before, 100 once completed."""
    stages = [s["stage"] for s in job_states if s["stage"] is not None]
    assert stages == sorted(stages, key=STAGE_ORDER.index), stages
    progress = [s["progress"] for s in job_states]
    assert progress == sorted(progress), progress
    assert job_states[-1] == {**job_states[-1], "status": "completed", "progress": 100, "stage": None}


@pytest.fixture(scope="module")
def long_wav(audio_dir: Path) -> Path:
    """About 100 s of speech: keeps the worker busy for a while."""
    return speech_clip(audio_dir / "events", SENTENCES * 2, "events")


def _redis(data_dir: Path) -> redis.Redis:
    return EmbeddedRedis(data_dir / "redis").client()


# --- one job ----------------------------------------------------------------------------------------------------


def test_a_job_streams_stages_and_progress_up_to_100_then_the_result(service: LiveService, sentences_wav: Path) -> None:
    job_id = live.submit(service.url, sentences_wav, language="en")
    with sse(f"{service.url}/jobs/{job_id}/events") as stream:
        events = list(stream)  # the server ends the stream after the final job
    assert {e.name for e in events[:-1]} <= {"state", "segment", "aligned"}  # the transcript as it is made
    assert events[-1].name == "job"
    job_states = states(events, job_id)
    assert len(job_states) == len([e for e in events if e.name == "state"])
    assert {s["status"] for s in job_states} <= {"queued", "processing", "completed"}
    assert_progress_rises(job_states)
    stages = {s["stage"] for s in job_states if s["stage"]}
    assert {"transcribing", "aligning"} <= stages, stages
    ids = [int(e.id) for e in events]
    assert ids == sorted(set(ids)), "event ids strictly increase"

    job = events[-1].data
    assert job["status"] == "completed" and job["progress"] == 100
    assert wer(" ".join(SENTENCES), job["result"]["text"]) <= 0.15
    assert job == httpx.get(f"{service.url}/jobs/{job_id}", timeout=10).json()  # the same JSON as GET


def test_a_finished_job_streams_its_state_and_the_job_then_ends(service: LiveService, short_wav: Path) -> None:
    job_id = live.submit(service.url, short_wav)
    done = live.wait_job(service.url, job_id)
    # A Last-Event-ID that is not one of ours is ignored: ids come from the clock.
    for last_event_id in (None, b"not a number", "²".encode("latin-1"), b"-5", b"9" * 40):
        clock_ms = time.time_ns() // 1_000_000
        headers: dict[str, str | bytes] | None = {"Last-Event-ID": last_event_id} if last_event_id else None
        with sse(f"{service.url}/jobs/{job_id}/events", headers=headers) as stream:
            events = list(stream)
        assert [e.name for e in events] == ["state", "job"]
        assert events[0].data == {"job_id": job_id, "status": "completed", "stage": None, "progress": 100}
        assert events[1].data == done
        assert clock_ms <= int(events[0].id) < int(events[1].id) < 10 * clock_ms


def test_reconnecting_with_last_event_id_gets_the_current_state_at_once(service: LiveService, long_wav: Path) -> None:
    job_id = live.submit(service.url, long_wav)
    url = f"{service.url}/jobs/{job_id}/events"
    try:
        with sse(url) as stream:
            before = read_until(stream, lambda e: e.data.get("stage") == "transcribing")
        last = before[-1]
        with sse(url, headers={"Last-Event-ID": last.id}) as stream:
            first = next(stream)
        assert first.name == "state" and int(first.id) > int(last.id)
        assert first.data["status"] == "processing"
        assert first.data["progress"] >= last.data["progress"]
        assert STAGE_ORDER.index(first.data["stage"]) >= STAGE_ORDER.index("transcribing")

        with sse(url, headers={"Last-Event-ID": "99999999999999"}) as stream:  # ids from a clock ahead of ours
            ahead = [next(stream), next(stream)]
        assert [int(e.id) for e in ahead] == [10**14, 10**14 + 1]
    finally:
        httpx.delete(f"{service.url}/jobs/{job_id}", timeout=60)


def test_a_canceled_job_ends_its_stream_with_the_canceled_job(service: LiveService, long_wav: Path) -> None:
    job_id = live.submit(service.url, long_wav)
    with sse(f"{service.url}/jobs/{job_id}/events") as stream:
        read_until(stream, lambda e: e.data.get("status") == "processing")
        assert httpx.post(f"{service.url}/jobs/{job_id}/cancel", timeout=10).status_code == 200
        rest = list(stream)
    assert rest[-1].name == "job" and rest[-1].data["status"] == "canceled"
    assert rest[-2].name == "state" and rest[-2].data["status"] == "canceled"


def test_unknown_jobs_are_404_before_any_stream(service: LiveService) -> None:
    for job_id in (UNKNOWN_JOB, "not-a-job"):
        response = httpx.get(f"{service.url}/jobs/{job_id}/events", timeout=10)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": f"Job not found: {job_id}"}


# --- every job --------------------------------------------------------------------------------------------------


def test_all_events_show_two_jobs_and_a_deletion(service: LiveService, sentences_wav: Path, short_wav: Path) -> None:
    first = live.submit(service.url, sentences_wav)
    with sse(f"{service.url}/events") as stream:
        # Connecting shows the jobs that are queued or running; once one arrives, this client is listening.
        read_until(stream, lambda e: e.data["job_id"] == first)
        second = live.submit(service.url, short_wav)  # queued behind the first (one worker)
        events = read_until(stream, final_state(second))
        for job_id in (first, second):
            assert_progress_rises(states(events, job_id))
        second_states = states(events, second)
        assert second_states[0] == {"job_id": second, "status": "queued", "stage": None, "progress": 0}
        assert [s["status"] for s in second_states].count("processing") >= 2
        assert not [e for e in events if e.name not in ("state", "deleted")]  # no job events here

        assert httpx.delete(f"{service.url}/jobs/{second}", timeout=60).status_code == 200
        deleted = read_until(stream, lambda e: e.name == "deleted")[-1]
    assert deleted.data == {"job_id": second}


def test_many_clients_share_one_redis_subscription(service: LiveService, short_wav: Path) -> None:
    job_id = live.submit(service.url, short_wav)
    with contextlib.ExitStack() as stack:
        streams = [stack.enter_context(sse(f"{service.url}/jobs/{job_id}/events")) for _ in range(10)]
        streams += [stack.enter_context(sse(f"{service.url}/events")) for _ in range(10)]
        [(channel, subscribers)] = _redis(service.data_dir).pubsub_numsub(CHANNEL)
        assert channel == CHANNEL.encode()
        assert subscribers == 1  # the API process's one subscription, not one per client
        for stream in streams[:10]:
            assert read_until(stream, lambda e: e.name == "job")[-1].data["status"] == "completed"


# --- a serve without workers: jobs stay queued ------------------------------------------------------------------


@dataclass
class IdleServe:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    headers: dict[str, str]


@contextmanager
def _idle_serve(root: Path, settings: Settings, **env: str) -> Iterator[IdleServe]:
    port = live.free_port()
    process = live.start(
        ["serve", "--port", str(port), "--workers", "0"],
        live.service_env(root / "data", settings.resolved_models_dir, **env),
        root / "serve.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        live.wait_for(lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200, 120, "the API")
        key = env.get("STT_API_KEYS")
        yield IdleServe(url, root / "data", process, {"X-API-Key": key} if key else {})
    finally:
        live.stop(process)


def test_streams_need_a_key_when_keys_are_required(tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    key = "stt_events_" + "k" * 40
    with _idle_serve(tmp_path, settings, STT_REQUIRE_API_KEY="always", STT_API_KEYS=key) as serve:
        for path in ("/events", f"/jobs/{UNKNOWN_JOB}/events", "/jobs/anything/events"):
            response = httpx.get(f"{serve.url}{path}", timeout=10)
            assert response.status_code == 401, path
            assert response.json() == {"detail": "A valid API key is required"}
        assert httpx.get(f"{serve.url}/jobs/{UNKNOWN_JOB}/events", headers=serve.headers).status_code == 404
        with short_wav.open("rb") as f:
            submitted = httpx.post(f"{serve.url}/transcribe/async", files={"file": f}, headers=serve.headers)
        job_id = submitted.json()["job_id"]
        with sse(f"{serve.url}/jobs/{job_id}/events", headers={"Authorization": f"Bearer {key}"}) as stream:
            assert next(stream).data == {"job_id": job_id, "status": "queued", "stage": None, "progress": 0}


def test_a_change_nobody_published_still_reaches_the_stream(
    tmp_path: Path, settings: Settings, short_wav: Path
) -> None:
    """RQ changes a job's state without telling anyone (here: canceled behind the store's back, as when RQ's
    maintenance requeues or fails a job whose worker died); the API's periodic re-read of watched jobs finds it."""
    with _idle_serve(tmp_path, settings) as serve:
        job_id = live.submit(serve.url, short_wav)
        with sse(f"{serve.url}/jobs/{job_id}/events") as stream:
            assert next(stream).data["status"] == "queued"
            Job.fetch(job_id, connection=_redis(serve.data_dir)).cancel()  # RQ directly: no event is published
            started = time.monotonic()
            rest = list(stream)
        waited = time.monotonic() - started
    assert [e.name for e in rest] == ["state", "job"]
    assert rest[0].data["status"] == "canceled" and rest[1].data["status"] == "canceled"
    print(f"unpublished change seen after {waited:.1f} s (re-read every {REFRESH_SECONDS:g} s)")


def test_the_subscription_comes_back_after_redis_restarts(tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    with _idle_serve(tmp_path, settings) as serve:
        valkey = EmbeddedRedis(serve.data_dir / "redis")
        with sse(f"{serve.url}/events") as stream:
            pid = valkey.pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            live.wait_for(lambda: not valkey.is_running(), 10, "Valkey to die")
            valkey.ensure_running()  # the same socket, a new server: every connection to the old one is gone
            try:
                live.wait_for(lambda: valkey.client().pubsub_numsub(CHANNEL)[0][1] == 1, 60, "the API to resubscribe")
                job_id = live.submit(serve.url, short_wav)
                event = read_until(stream, lambda e: e.data["job_id"] == job_id, timeout=60)[-1]
            finally:
                valkey.stop()  # not started by serve, so serve would leave it running
    assert event.data == {"job_id": job_id, "status": "queued", "stage": None, "progress": 0}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_with_open_streams(tmp_path: Path, settings: Settings, short_wav: Path, sig: int) -> None:
    """uvicorn waits for open responses to finish; SSE streams never do unless the server ends them."""
    with _idle_serve(tmp_path, settings) as serve:
        job_id = live.submit(serve.url, short_wav)  # stays queued: its stream stays open
        with sse(f"{serve.url}/jobs/{job_id}/events") as job_stream, sse(f"{serve.url}/events") as all_stream:
            assert next(job_stream).data["status"] == "queued"
            assert next(all_stream).data["job_id"] == job_id
            serve.process.send_signal(sig)
            serve.process.wait(timeout=60)  # by itself, with both streams open
            for stream in (job_stream, all_stream):
                with contextlib.suppress(httpx.RemoteProtocolError):  # the server may cut it mid-stream
                    assert list(stream) == []
