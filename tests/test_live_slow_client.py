"""WebSocket /live and clients that do not read their events.

On a real ``serve`` a client (the ``websockets`` package) that sends speech but never reads stops reading its
socket (its library pauses at ``max_queue``): it no longer answers uvicorn's keepalive pings either, and uvicorn
drops it 20 s after an unanswered ping. The live text is small (about 1-2 kB a second), far too little to fill
the TCP buffers (over 100 kB even with a small receive window and segment size) and the outbox before that, so
the server's own bound (1008) is checked on the outbox itself below, with a send that never completes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import websockets

from stt_studio.engine.audio import decode_audio
from stt_studio.live.event_outbox import ClientTooSlow, Event, EventOutbox
from stt_studio.live.recording import RecordingInfo, recordings_dir
from tests.conftest import LiveService
from tests.live import wait_for


def not_reading_socket(host: str, port: int) -> socket.socket:
    """A TCP connection that holds little unread data (a small receive buffer and segment size)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.connect((host, port))
    return sock


async def send_until_dropped(service: LiveService, speech: bytes, limit_seconds: float) -> float:
    """Stream ``speech`` over and over (twice real time), reading nothing, until the server drops the connection;
    the seconds it took."""
    url = urlsplit(service.url)
    sock = not_reading_socket(url.hostname or "127.0.0.1", url.port or 80)
    ws_url = f"ws://{url.hostname}:{url.port}/live"
    started = time.monotonic()
    async with websockets.connect(ws_url, sock=sock, compression=None, max_queue=1, ping_interval=None) as ws:
        sent = 0
        with pytest.raises((websockets.ConnectionClosed, OSError)):
            while time.monotonic() - started < limit_seconds:
                frame = speech[sent % len(speech) :][:6400]  # 0.2 s
                await ws.send(frame)
                sent += len(frame)
                await asyncio.sleep(0.1)
    return time.monotonic() - started


def live_recordings(data_dir: Path) -> list[RecordingInfo]:
    folder = recordings_dir(data_dir)
    infos = [RecordingInfo.from_json(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []
    return [info for info in infos if info.source == "websocket"]


@pytest.mark.slow
def test_a_client_that_never_reads_is_dropped_and_the_server_goes_on(service: LiveService, short_wav: Path) -> None:
    samples = decode_audio(short_wav).samples
    speech = (np.concatenate([samples, np.zeros(8000, np.float32)]) * 32767).astype("<i2").tobytes()
    before = {info.id for info in live_recordings(service.data_dir)}
    took = asyncio.run(send_until_dropped(service, speech, limit_seconds=180))
    print(f"dropped after {took:.0f} s")

    assert httpx.get(f"{service.url}/health", timeout=10).status_code == 200
    [dropped] = [info for info in live_recordings(service.data_dir) if info.id not in before]
    wait_for(  # its recording is finished, not left open (its connection's slot and worker are given back)
        lambda: next(i for i in live_recordings(service.data_dir) if i.id == dropped.id).state == "stopped",
        timeout=180, what="the dropped client's recording to stop",
    )  # fmt: skip
    asyncio.run(a_client_that_reads_is_served(service))


async def a_client_that_reads_is_served(service: LiveService) -> None:
    async with websockets.connect(f"{service.url.replace('http', 'ws', 1)}/live") as ws:
        await ws.send(json.dumps({"type": "stop"}))
        closed = json.loads(await ws.recv())
        assert closed["type"] == "closed"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_client_that_takes_nothing_for_the_stall_time_is_too_slow() -> None:
    async def scenario() -> str:
        clock = Clock()
        outbox = EventOutbox(max_events=200, stall_seconds=20.0, clock=clock)
        never_sent = asyncio.Event()

        async def stuck_send(_event: Event) -> None:
            await never_sent.wait()  # the client's TCP window is full: the send does not complete

        sender = asyncio.create_task(outbox.send_all(stuck_send))
        outbox.put({"type": "final", "text": "one"})
        await asyncio.sleep(0)
        clock.now = 19.0
        outbox.check()  # waiting, but not yet for the stall time
        clock.now = 20.0
        with pytest.raises(ClientTooSlow) as too_slow:
            outbox.check()
        with pytest.raises(ClientTooSlow):
            outbox.put({"type": "final", "text": "two"})  # once too slow, always
        sender.cancel()
        return str(too_slow.value)

    assert asyncio.run(scenario()) == "client too slow: it has not read its events for 20 s"


def test_unsent_partials_are_replaced_and_finals_are_bounded() -> None:
    outbox = EventOutbox(max_events=3, stall_seconds=20.0)
    for i in range(50):
        outbox.put({"type": "partial", "text": f"draft {i}"})
    assert len(outbox) == 1  # each partial supersedes the unsent one
    outbox.put({"type": "final", "text": "one"})
    outbox.put({"type": "partial", "text": "draft"})
    with pytest.raises(ClientTooSlow, match="client too slow: 3 events wait unread"):
        outbox.put({"type": "final", "text": "two"})


def test_a_client_that_reads_gets_every_event_in_order() -> None:
    async def scenario() -> list[str]:
        outbox = EventOutbox(max_events=3, stall_seconds=20.0)
        got: list[str] = []

        async def send(event: Event) -> None:
            got.append(str(event["text"]))

        sender = asyncio.create_task(outbox.send_all(send))
        for i in range(10):
            outbox.put({"type": "final", "text": str(i)})
            await asyncio.sleep(0)
        outbox.end()
        await sender
        return got

    assert asyncio.run(scenario()) == [str(i) for i in range(10)]
