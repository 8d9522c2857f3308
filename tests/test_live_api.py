"""WebSocket /live: speech streamed as PCM comes back as final text; the recording is queued as a job; bad frames
and a missing key are closed with their codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from stt_studio.api.app import create_app
from stt_studio.api.routers.live import GONE_BEFORE_STOP, MAX_AHEAD_SECONDS, MAX_FRAME_BYTES, TOO_FAST, _serve
from stt_studio.engine.audio import decode_audio
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from tests import live
from tests.speech import SENTENCES, convert, wer
from tests.test_live_cli import LIVE_WER_BOUND


def live_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", models_dir=tmp_path / "models", offline=True, whisper_device="cpu",
        whisper_model_size="tiny.en", **extra,
    )  # fmt: skip


@pytest.fixture
def client(store: JobStore, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(live_settings(tmp_path), store)) as test_client:
        yield test_client


def events_until_closed(ws: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        event = ws.receive_json()
        events.append(event)
        if event["type"] in ("closed", "error"):
            return events


@pytest.mark.slow
def test_streamed_speech_comes_back_as_final_text_and_its_recording_is_queued(
    client: TestClient, store: JobStore, short_wav: Path, tmp_path: Path
) -> None:
    samples = decode_audio(short_wav).samples
    pcm = (np.concatenate([samples, np.zeros(16_000, np.float32)]) * 32767).astype("<i2").tobytes()
    with client.websocket_connect("/live?queue=true") as ws:
        for i in range(0, len(pcm), 6400):
            ws.send_bytes(pcm[i : i + 6400])
        ws.send_text(json.dumps({"type": "stop"}))
        events = events_until_closed(ws)
    closed = events[-1]
    assert closed["type"] == "closed", events
    text = " ".join(e["text"] for e in events if e["type"] == "final")
    assert wer(" ".join(SENTENCES[:2]), text) <= LIVE_WER_BOUND, text
    assert closed["seconds"] == pytest.approx(len(pcm) / 32_000, abs=0.01)
    job_id = closed["job_id"]
    audio = store.job_dir(job_id) / f"{closed['recording']}.wav"  # moved into the job: it owns it, like an upload
    assert soundfile.info(str(audio)).frames == len(pcm) // 2  # the job transcribes all that was sent
    assert store.get(job_id, with_result=False).uploaded
    assert list((tmp_path / "data" / "recordings").iterdir()) == []  # nothing left behind to clean up
    store.discard(job_id)
    assert not audio.exists()  # gone with its job


def test_a_connection_that_ends_before_stop_is_kept_but_not_queued(
    client: TestClient, store: JobStore, tmp_path: Path
) -> None:
    """Even with queue=true: no ``closed`` event could name the job, and a client that kept its own copy (the
    desktop app) sends that as a file — queueing here too made two jobs of one recording."""
    jobs_before = {job.job_id for job in store.list()}
    with client.websocket_connect("/live?queue=true") as ws:
        ws.send_bytes(b"\x00\x00" * 1600)
    recordings = tmp_path / "data" / "recordings"

    def ended() -> dict[str, Any] | None:
        """The recording stopped for the drop — or a job made of it (what the protection prevents)."""
        infos = [json.loads(p.read_text()) for p in recordings.glob("*.json")]
        queued = {job.job_id for job in store.list()} - jobs_before
        dropped = next((info for info in infos if info.get("stop_reason")), None)
        return dropped or ({"queued": queued} if queued else None)

    info = live.wait_for(ended, 60, "the server to end the connection's recording")
    assert "queued" not in info, info
    assert info["state"] == "stopped" and info["stop_reason"] == GONE_BEFORE_STOP
    assert (recordings / f"{info['id']}.wav").exists()


class _SilentSocket:
    """A connection that sends one frame of audio and then nothing: the handler waits in ``receive``."""

    def __init__(self) -> None:
        self.frames = [{"type": "websocket.receive", "bytes": b"\x00\x00" * 1600}]

    async def receive(self) -> dict[str, Any]:
        if self.frames:
            return self.frames.pop()
        await asyncio.Event().wait()  # forever: cancelled
        raise AssertionError

    async def send_json(self, event: dict[str, Any]) -> None:
        pass

    async def close(self, code: int, reason: str) -> None:
        pass


def test_a_connection_cancelled_while_listening_keeps_its_recording_as_gone_before_stop(tmp_path: Path) -> None:
    """Starlette's test client cancels the connection's task right after its disconnect, and a server shutting down
    cancels it too: the handler may be cancelled before it hears the disconnect. The recording must still end as one
    whose connection went before the stop message (the race made a CI run wait for that in vain)."""
    settings = live_settings(tmp_path)

    async def cancelled_while_listening() -> None:
        task = asyncio.create_task(_serve(_SilentSocket(), settings, None, None, None, True, None))  # type: ignore[arg-type]
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_while_listening())
    [info_file] = (tmp_path / "data" / "recordings").glob("*.json")
    info = json.loads(info_file.read_text())
    assert info["state"] == "stopped" and info["stop_reason"] == GONE_BEFORE_STOP


@pytest.mark.parametrize(
    ("frame", "code"),
    [("hello", 1003), (b"\x00" * 3, 1003), (b"\x00" * (MAX_FRAME_BYTES + 2), 1009)],
)
def test_garbage_and_oversized_frames_are_closed_with_their_code(
    client: TestClient, frame: str | bytes, code: int
) -> None:
    with client.websocket_connect("/live") as ws:
        if isinstance(frame, str):
            ws.send_text(frame)
        else:
            ws.send_bytes(frame)
        [error] = events_until_closed(ws)
        assert error["type"] == "error" and error["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == code
    assert client.get("/health").status_code == 200  # the server goes on serving others


def test_audio_sent_far_faster_than_real_time_is_closed_with_1008(client: TestClient, tmp_path: Path) -> None:
    """A file sent as a stream would pile up in the live worker's buffer: past ``MAX_AHEAD_SECONDS`` ahead of the
    time connected, the connection is closed; what came before is kept as a recording."""
    frame = b"\x00\x00" * 32_000  # 2 s of silence
    with client.websocket_connect("/live") as ws:
        for _ in range(int(MAX_AHEAD_SECONDS / 2) + 2):
            ws.send_bytes(frame)
        error = events_until_closed(ws)[-1]
        assert error == {"type": "error", "message": TOO_FAST}
        assert closed_with(ws) == 1008
    [info_file] = (tmp_path / "data" / "recordings").glob("*.json")
    info = json.loads(info_file.read_text())
    assert info["stop_reason"] == TOO_FAST
    assert client.get("/health").status_code == 200


def test_without_a_key_where_keys_are_required_the_socket_is_refused(store: JobStore, tmp_path: Path) -> None:
    app = create_app(live_settings(tmp_path, require_api_key="always"), store)
    with TestClient(app) as client, pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/live"):
        pass
    assert refused.value.code == 1008


def closed_with(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return closed.value.code


def test_a_connection_over_the_cap_is_closed_with_1013_and_a_freed_slot_is_taken_again(
    store: JobStore, tmp_path: Path
) -> None:
    app = create_app(live_settings(tmp_path, live_max_sessions=1), store)
    with TestClient(app) as client:
        with client.websocket_connect("/live") as first:
            with client.websocket_connect("/live") as second:
                second.send_text(json.dumps({"type": "stop"}))  # were it let in, it would end with "closed"
                [error] = events_until_closed(second)
                assert error["message"].startswith("busy: 1 live connection(s) already (STT_LIVE_MAX_SESSIONS)")
                assert closed_with(second) == 1013
            first.send_text(json.dumps({"type": "stop"}))
            assert events_until_closed(first)[-1]["type"] == "closed"
        with client.websocket_connect("/live") as third:  # the first one's slot is free again
            third.send_text(json.dumps({"type": "stop"}))
            assert events_until_closed(third)[-1]["type"] == "closed"
        assert client.get("/health").status_code == 200


def stopped_at_once(client: TestClient) -> dict[str, Any]:
    """A connection that sends no audio: its ``closed`` event."""
    with client.websocket_connect("/live") as ws:
        ws.send_text(json.dumps({"type": "stop"}))
        closed = events_until_closed(ws)[-1]
    assert closed["type"] == "closed"
    return closed


@pytest.mark.parametrize(("hours", "kept"), [(0.0, False), (24.0, True)])
def test_a_recording_that_was_not_queued_is_kept_for_the_retention_time(
    store: JobStore, tmp_path: Path, hours: float, kept: bool
) -> None:
    settings = live_settings(tmp_path, live_recording_retention_hours=hours)
    with TestClient(create_app(settings, store)) as client:
        closed = stopped_at_once(client)
        stopped_at_once(client)  # the next connection's opening removes what has expired
    recordings = settings.data_dir / "recordings"
    assert (recordings / f"{closed['recording']}.wav").exists() is kept
    assert (recordings / f"{closed['recording']}.json").exists() is kept


@pytest.mark.slow
def test_ogg_opus_speech_comes_back_as_final_text(client: TestClient, short_wav: Path, tmp_path: Path) -> None:
    """``format=ogg-opus``: an Ogg/Opus stream made by ffmpeg (libopus, 24 kb/s) sent in pieces that cut pages
    anywhere; decoded to 16 kHz mono, it is transcribed and recorded as long as it lasts."""
    speech = decode_audio(short_wav).samples
    padded = tmp_path / "padded.wav"
    soundfile.write(str(padded), np.concatenate([speech, np.zeros(16_000, np.float32)]), 16_000)
    stream = convert(padded, tmp_path / "speech.ogg", "-c:a", "libopus", "-b:a", "24k").read_bytes()
    with client.websocket_connect("/live?format=ogg-opus") as ws:
        for i in range(0, len(stream), 1000):
            ws.send_bytes(stream[i : i + 1000])
        ws.send_text(json.dumps({"type": "stop"}))
        events = events_until_closed(ws)
    closed = events[-1]
    assert closed["type"] == "closed", events
    text = " ".join(e["text"] for e in events if e["type"] == "final")
    assert wer(" ".join(SENTENCES[:2]), text) <= LIVE_WER_BOUND, text
    assert closed["seconds"] == pytest.approx(len(speech) / 16_000 + 1.0, abs=0.05)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("text as bytes", "not an Ogg stream"),
        ("wav", "not an Ogg stream"),
        ("ogg vorbis", "an Ogg stream, but not of Opus"),
    ],
)
def test_what_is_not_ogg_opus_is_closed_with_1003_and_its_reason(
    client: TestClient, short_wav: Path, tmp_path: Path, kind: str, reason: str
) -> None:
    if kind == "text as bytes":
        stream = b"hello, this is not audio at all " * 4
    elif kind == "wav":
        stream = short_wav.read_bytes()[:4000]
    else:
        stream = convert(short_wav, tmp_path / "speech.ogg", "-c:a", "libvorbis").read_bytes()[:8000]
    with client.websocket_connect("/live?format=ogg-opus") as ws:
        for i in range(0, len(stream), 4000):
            ws.send_bytes(stream[i : i + 4000])
        ws.send_text(json.dumps({"type": "stop"}))  # were it taken as audio, it would end with "closed"
        events = events_until_closed(ws)
        assert events[-1]["type"] == "error" and reason in events[-1]["message"], events
        assert closed_with(ws) == 1003
    assert client.get("/health").status_code == 200
