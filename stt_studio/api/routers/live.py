"""WebSocket ``/live``: a client streams 16 kHz mono PCM, the server sends back the live transcript as JSON events.

Binary frames: little-endian 16-bit mono samples at 16 kHz (at most ``MAX_FRAME_BYTES`` each). The text frame
``{"type": "stop"}`` ends the audio; the server then sends the last ``final`` words and ``closed`` (with the
``job_id`` of the recording's job when the connection asked ``queue=true``) and closes with 1000. Events:
``{"type": "partial"|"final", "words": [{"start", "end", "text"}], "text"}``, ``{"type": "error", "message"}``,
``{"type": "closed", "job_id", "seconds", "recording"}``. Close codes: 1003 a text frame that is not the stop
message, or an odd number of bytes; 1009 a frame over the limit; 1008 a client that does not read its events
(``MAX_PENDING_EVENTS`` waiting) or no valid API key where keys are required. Each connection has its own live
worker process and its own recording in the data folder, written as the audio comes (like ``stt-studio live``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from stt_studio.jobs.models import JobOptions
from stt_studio.jobs.store import JobStore
from stt_studio.live.jobs import hand_to_job
from stt_studio.live.opus import OggOpusDecoder, OpusStreamError
from stt_studio.live.recording import Recording
from stt_studio.live.retention import WEBSOCKET_SOURCE, remove_expired
from stt_studio.live.session import LiveWorkerProcess, worker_config
from stt_studio.live.worker import LiveWorkerConfig, words_from_wire
from stt_studio.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

MAX_FRAME_BYTES = 64 * 1024
"""Two seconds of audio a frame at most."""
MAX_PENDING_EVENTS = 200
"""Events not yet taken by the client; more and it is closed as too slow (the server keeps serving others)."""
FINISH_TIMEOUT_SECONDS = 120.0

AudioFormat = Literal["pcm", "ogg-opus"]

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013


class _TooSlow(Exception):
    pass


class _LazyWorker:
    """The connection's live worker, started with its first audio frame: a client that sends garbage first costs
    no process and no model load."""

    def __init__(self, config: LiveWorkerConfig) -> None:
        self.config = config
        self.process: LiveWorkerProcess | None = None
        self.started = asyncio.Event()

    def send(self, samples: np.ndarray) -> None:
        if self.process is None:
            self.process = LiveWorkerProcess(self.config)
            self.started.set()
        self.process.send(samples)

    def end_of_audio(self) -> None:
        if self.process is not None:
            self.process.end_of_audio()

    def close(self) -> None:
        if self.process is not None:
            self.process.close()


def _words(payload: list[tuple[float, float, str]]) -> dict[str, Any]:
    words = words_from_wire(payload)
    return {
        "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text} for w in words],
        "text": "".join(w.text for w in words).strip(),
    }


@router.websocket("/live")
async def live(
    websocket: WebSocket,
    language: Annotated[str | None, Query(max_length=16)] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    prompt: Annotated[str | None, Query(max_length=4096)] = None,
    queue: bool = False,
    audio_format: Annotated[AudioFormat, Query(alias="format")] = "pcm",
) -> None:
    settings: Settings = websocket.app.state.settings
    await websocket.accept()
    slots = _slots(websocket.app, settings)
    if not slots.take():
        reason = f"busy: {slots.limit} live connection(s) already (STT_LIVE_MAX_SESSIONS); try again later"
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "error", "message": reason})
            await websocket.close(CLOSE_TRY_AGAIN_LATER, reason)
        return
    try:
        await _remove_expired_recordings(settings)
        decoder = OggOpusDecoder() if audio_format == "ogg-opus" else None
        await _serve(websocket, settings, language, model, prompt, queue, decoder)
    finally:
        slots.give_back()
        await _remove_expired_recordings(settings)


class _Slots:
    """Connections to ``/live`` served at once: each holds a live worker process with a model in memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def take(self) -> bool:
        if self.taken >= self.limit:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken -= 1


def _slots(app: Any, settings: Settings) -> _Slots:
    """The app's slots, made at its first ``/live`` connection (the event loop's thread only: no lock needed)."""
    slots: _Slots | None = getattr(app.state, "live_slots", None)
    if slots is None:
        slots = app.state.live_slots = _Slots(settings.live_max_sessions)
    return slots


async def _remove_expired_recordings(settings: Settings) -> None:
    hours = settings.live_recording_retention_hours
    removed = await asyncio.to_thread(remove_expired, settings.data_dir, hours * 3600.0)
    if removed:
        log.info("Removed %d /live recording(s) older than %g h that were not queued", len(removed), hours)


async def _serve(
    websocket: WebSocket,
    settings: Settings,
    language: str | None,
    model: str | None,
    prompt: str | None,
    queue: bool,
    decoder: OggOpusDecoder | None,
) -> None:
    outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=MAX_PENDING_EVENTS)
    recording = Recording(settings.data_dir, WEBSOCKET_SOURCE)
    worker = _LazyWorker(worker_config(settings, model=model, language=language, prompt=prompt))
    sender = asyncio.create_task(_send_events(websocket, outbox))
    relay_done = asyncio.Event()
    relay = asyncio.create_task(_relay_worker_events(worker, outbox, relay_done))
    close_code, reason = 1000, ""
    try:
        close_code, reason = await _receive_audio(websocket, recording, worker, outbox, decoder)
    except _TooSlow:
        close_code, reason = CLOSE_POLICY, "client too slow: it does not read its events"
    finally:
        info = recording.stop(reason or None)
        worker.end_of_audio()
    try:
        if close_code == 1000:
            if worker.process is not None:
                await asyncio.wait_for(relay_done.wait(), FINISH_TIMEOUT_SECONDS)
            job_id = None
            seconds = recording.seconds
            if queue:
                store: JobStore = websocket.app.state.store
                options = JobOptions(language=language, prompt=prompt)
                job_id = await asyncio.to_thread(hand_to_job, store, info, options, settings)
            _put(outbox, {"type": "closed", "job_id": job_id, "seconds": seconds, "recording": info.id})
        else:
            _put(outbox, {"type": "error", "message": reason})
    except (_TooSlow, TimeoutError):
        close_code, reason = CLOSE_POLICY, "client too slow: it does not read its events"
    finally:
        relay.cancel()
        await asyncio.to_thread(worker.close)
        with contextlib.suppress(asyncio.QueueFull):
            outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender, 10)
        with contextlib.suppress(Exception):
            await websocket.close(close_code, reason[:120])


def _put(outbox: asyncio.Queue[dict[str, Any] | None], event: dict[str, Any]) -> None:
    try:
        outbox.put_nowait(event)
    except asyncio.QueueFull:
        raise _TooSlow from None


async def _receive_audio(
    websocket: WebSocket,
    recording: Recording,
    worker: _LazyWorker,
    outbox: asyncio.Queue[Any],
    decoder: OggOpusDecoder | None,
) -> tuple[int, str]:
    """Until the stop message: (1000, "") — or the close code and reason of what the client did wrong."""
    while True:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return 1000, ""
        if message["type"] == "websocket.disconnect":
            return 1000, ""
        data = message.get("bytes")
        if data is None:
            text = message.get("text") or ""
            with contextlib.suppress(ValueError):
                if json.loads(text) == {"type": "stop"}:
                    return 1000, ""
            return CLOSE_UNSUPPORTED, 'text frames other than {"type": "stop"} are not accepted: send PCM as binary'
        if len(data) > MAX_FRAME_BYTES:
            return CLOSE_TOO_BIG, f"frame of {len(data)} bytes: at most {MAX_FRAME_BYTES}"
        if decoder is not None:
            try:
                samples = await asyncio.to_thread(decoder.feed, data)
            except OpusStreamError as exc:
                return CLOSE_UNSUPPORTED, str(exc)
            if not samples.size:
                continue
        elif len(data) % 2:
            return CLOSE_UNSUPPORTED, "an odd number of bytes is not 16-bit PCM"
        else:
            samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        recording.write(samples)
        worker.send(samples)
        if outbox.full():
            raise _TooSlow


async def _relay_worker_events(
    lazy: _LazyWorker, outbox: asyncio.Queue[dict[str, Any] | None], done: asyncio.Event
) -> None:
    await lazy.started.wait()
    worker = lazy.process
    assert worker is not None
    while True:
        events = await asyncio.to_thread(worker.events, 0.2)
        for kind, payload in events:
            if kind in ("final", "partial"):
                if kind == "partial" and outbox.qsize() > MAX_PENDING_EVENTS // 2:
                    continue  # a partial is replaced by the next one: dropped first
                with contextlib.suppress(_TooSlow):
                    _put(outbox, {"type": kind, **_words(payload)})
            elif kind == "error":
                with contextlib.suppress(_TooSlow):
                    _put(outbox, {"type": "error", "message": str(payload)})
            elif kind == "done":
                done.set()
                return
        if not worker.process.is_alive() and not events:
            done.set()
            return


async def _send_events(websocket: WebSocket, outbox: asyncio.Queue[dict[str, Any] | None]) -> None:
    while (event := await outbox.get()) is not None:
        try:
            await websocket.send_json(event)
        except Exception:
            return
