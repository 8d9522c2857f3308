"""WebSocket ``/live``: a client streams audio, the server sends back the live transcript as JSON events.

Binary frames (at most ``MAX_FRAME_BYTES`` each): little-endian 16-bit mono samples at 16 kHz, or with
``format=ogg-opus`` an Ogg/Opus stream cut anywhere (``live/opus.py``). The text frame ``{"type": "stop"}`` ends the
audio; the server then sends the last ``final`` words and ``closed`` (with the ``job_id`` of the recording's job
when the connection asked ``queue=true``) and closes with 1000. Events: ``{"type": "partial"|"final", "words":
[{"start", "end", "text"}], "text"}``, ``{"type": "error", "message"}``, ``{"type": "closed", "job_id", "seconds",
"recording"}``. Close codes: 1003 a text frame that is not the stop message, an odd number of PCM bytes, or what is
not Ogg/Opus; 1009 a frame over the limit; 1013 more connections than ``STT_LIVE_MAX_SESSIONS``; 1011 the worker did
not finish; 1008 a client that does not read its events (``live/event_outbox.py``), one whose audio runs more than
``MAX_AHEAD_SECONDS`` ahead of real time, or no valid API key where keys are required. Each connection has its own
live worker process and its own recording in the data folder, written as the audio comes (like ``stt-studio
live``); a queued one moves into its job, one not queued is removed after ``STT_LIVE_RECORDING_RETENTION_HOURS``
(``live/retention.py``). A connection that ends without the stop message is not queued even with ``queue=true`` (no
``closed`` event could name the job; a client that kept its own copy, as the desktop app does, sends it as a file).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from stt_studio.jobs.models import JobOptions
from stt_studio.jobs.store import JobStore
from stt_studio.live.event_outbox import ClientTooSlow, EventOutbox
from stt_studio.live.jobs import hand_to_job
from stt_studio.live.opus import OggOpusDecoder, OpusStreamError
from stt_studio.live.recording import Recording
from stt_studio.live.retention import WEBSOCKET_SOURCE, remove_expired
from stt_studio.live.session import LiveWorkerProcess, worker_config
from stt_studio.live.worker import SAMPLE_RATE, LiveWorkerConfig, words_from_wire
from stt_studio.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

MAX_FRAME_BYTES = 64 * 1024
"""Two seconds of audio a frame at most."""
MAX_PENDING_EVENTS = 200
"""Events not yet taken by the client (a partial replaces the unsent one); more and it is closed as too slow."""
STALL_SECONDS = 20.0
"""A client that takes nothing for this long while an event waits (it does not read) is closed as too slow."""
SEND_REST_SECONDS = 10.0
"""After the audio, how long the events still waiting may take to go out."""
CLOSE_WAIT_SECONDS = 30.0
"""How long the close frame may wait behind what a client has not read; then the connection is dropped."""
FINISH_TIMEOUT_SECONDS = 120.0
MAX_AHEAD_SECONDS = 60.0
"""How far a client's audio may run ahead of the time it has been connected (a burst after a network stall fits);
more is a file sent as a stream, which would pile up unbounded in the live worker's buffer."""
GONE_BEFORE_STOP = "the connection ended before the stop message"
TOO_FAST = (
    f"audio sent over {MAX_AHEAD_SECONDS:g} s ahead of real time: /live takes live audio; "
    "send a file to POST /transcribe/async"
)

AudioFormat = Literal["pcm", "ogg-opus"]

CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013


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
    # Shielded: a connection's task cancelled as it ends (the server shutting down) still finishes the sweep.
    removed = await asyncio.shield(asyncio.to_thread(remove_expired, settings.data_dir, hours * 3600.0))
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
    outbox = EventOutbox(MAX_PENDING_EVENTS, STALL_SECONDS)
    recording = Recording(settings.data_dir, WEBSOCKET_SOURCE)
    worker = _LazyWorker(worker_config(settings, model=model, language=language, prompt=prompt))
    sender = asyncio.create_task(outbox.send_all(websocket.send_json))
    relay_done = asyncio.Event()
    relay = asyncio.create_task(_relay_worker_events(worker, outbox, relay_done))
    close_code, reason = 1000, ""
    try:
        try:
            close_code, reason = await _receive_audio(websocket, recording, worker, outbox, decoder)
        except asyncio.CancelledError:
            # Cancelled while listening: the connection is gone before the handler heard of it (Starlette's test
            # client cancels right after its disconnect; a server shutting down likewise). The same end as a
            # disconnect before the stop message.
            close_code, reason = CLOSE_GOING_AWAY, GONE_BEFORE_STOP
            raise
        if close_code == 1000:
            info = recording.stop()
            if worker.process is not None:
                worker.end_of_audio()
                await asyncio.wait_for(relay_done.wait(), FINISH_TIMEOUT_SECONDS)
            job_id = None
            if queue:
                store: JobStore = websocket.app.state.store
                options = JobOptions(language=language, prompt=prompt)
                job_id = await asyncio.to_thread(hand_to_job, store, info, options, settings)
            outbox.put({"type": "closed", "job_id": job_id, "seconds": recording.seconds, "recording": info.id})
        elif close_code == CLOSE_GOING_AWAY:
            # Not queued: the client may still hold the whole recording and send it as a file (the desktop app
            # does), and no close event could tell it the job's id. The recording is kept like any not queued.
            log.info("/live: the connection ended before the stop message; recording %s kept, not queued", recording.id)
        else:
            outbox.put({"type": "error", "message": reason})
    except ClientTooSlow as exc:
        close_code, reason = CLOSE_POLICY, str(exc)
        log.warning("/live: closing a client that does not read its events (%s)", reason)
        sender.cancel()  # what waits for it is dropped: it does not read
    except TimeoutError:
        close_code, reason = CLOSE_INTERNAL_ERROR, "the live transcription did not finish in time"
        with contextlib.suppress(ClientTooSlow):
            outbox.put({"type": "error", "message": reason})
    finally:
        recording.stop(reason or None)
        relay.cancel()
        await asyncio.to_thread(worker.close)
        outbox.end()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender, SEND_REST_SECONDS)
        with contextlib.suppress(Exception):  # the close frame waits behind what the client has not read
            await asyncio.wait_for(websocket.close(close_code, reason[:120]), CLOSE_WAIT_SECONDS)


async def _receive_audio(
    websocket: WebSocket,
    recording: Recording,
    worker: _LazyWorker,
    outbox: EventOutbox,
    decoder: OggOpusDecoder | None,
) -> tuple[int, str]:
    """Until the stop message: (1000, "") — or the close code and reason of what the client did wrong, or 1001 when
    the connection ended without the stop message."""
    connected_at = time.monotonic()
    while True:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return CLOSE_GOING_AWAY, GONE_BEFORE_STOP
        if message["type"] == "websocket.disconnect":
            return CLOSE_GOING_AWAY, GONE_BEFORE_STOP
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
        received_seconds = recording.seconds + samples.size / SAMPLE_RATE
        if received_seconds - (time.monotonic() - connected_at) > MAX_AHEAD_SECONDS:
            return CLOSE_POLICY, TOO_FAST
        recording.write(samples)
        worker.send(samples)
        outbox.check()


async def _relay_worker_events(lazy: _LazyWorker, outbox: EventOutbox, done: asyncio.Event) -> None:
    """The worker's events into the outbox (a client found too slow there is closed by the audio loop)."""
    await lazy.started.wait()
    worker = lazy.process
    assert worker is not None
    while True:
        events = await asyncio.to_thread(worker.events, 0.2)
        for kind, payload in events:
            with contextlib.suppress(ClientTooSlow):
                if kind in ("final", "partial"):
                    outbox.put({"type": kind, **_words(payload)})
                elif kind == "error":
                    outbox.put({"type": "error", "message": str(payload)})
            if kind == "done":
                done.set()
                return
        if not worker.process.is_alive() and not events:
            done.set()
            return
