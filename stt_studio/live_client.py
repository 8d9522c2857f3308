"""A client of a server's WebSocket ``/live`` with the interface of the local live worker (``LiveTranscriber``):
the recording's audio goes to the server, its ``partial``/``final`` events come back as the worker's would, and its
``closed`` event (the job the server made of the recording, with ``queue=true``) ends the stream as the worker's
``done`` does, with the ``job_id`` in its payload.

A dropped connection is one ``error`` event and then ``done`` without a job: the caller's recording goes on (the
session sends nothing more) and the caller submits it itself. Blocking calls: used from the recording's thread.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from stt_studio.live.recording import to_pcm16

OPEN_TIMEOUT_SECONDS = 15.0
CLOSE_TIMEOUT_SECONDS = 5.0
STOP_MESSAGE = json.dumps({"type": "stop"})


class LiveStreamError(ConnectionError):
    """The stream could not be opened (unreachable, the key refused); the message says so."""


def live_url(server_url: str, *, language: str | None, prompt: str | None, queue: bool) -> str:
    """``http(s)://host:port`` → ``ws(s)://host:port/live?…``."""
    parts = urlsplit(server_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    query: dict[str, str] = {"queue": "true" if queue else "false"}
    if language:
        query["language"] = language
    if prompt:
        query["prompt"] = prompt
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/live", urlencode(query), ""))


def wire_words(event: dict[str, Any]) -> list[tuple[float, float, str]]:
    """An event's words as the live worker sends them (``words_from_wire`` reads both)."""
    return [(float(w["start"]), float(w["end"]), str(w["text"])) for w in event.get("words", [])]


class RemoteLiveStream:
    def __init__(
        self, server_url: str, api_key: str | None, *, language: str | None, prompt: str | None, queue: bool
    ) -> None:
        self.server_url = server_url
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._exit = ExitStack()
        try:
            self._ws: ClientConnection = self._exit.enter_context(
                connect(
                    live_url(server_url, language=language, prompt=prompt, queue=queue),
                    additional_headers=headers,
                    open_timeout=OPEN_TIMEOUT_SECONDS,
                    close_timeout=CLOSE_TIMEOUT_SECONDS,
                )
            )
        except InvalidStatus as exc:
            raise LiveStreamError(f"{server_url} refused the live stream (HTTP {exc.response.status_code})") from exc
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise LiveStreamError(f"Cannot reach {server_url}/live: {exc}") from exc
        self._sending = True
        self._alive = True
        self._pending: list[tuple[str, Any]] = []
        self.job_id: str | None = None
        """The job the server made of the recording (its ``closed`` event), once the stream has ended."""

    @property
    def process(self) -> RemoteLiveStream:
        return self  # a session asks whether its worker's process is alive: the stream is ours

    def is_alive(self) -> bool:
        return self._alive

    def send(self, samples: np.ndarray) -> None:
        if not self._sending:
            return
        try:
            self._ws.send(to_pcm16(samples))
        except (ConnectionClosed, OSError) as exc:
            self._dropped(exc)

    def events(self, timeout: float = 0.0) -> list[tuple[str, Any]]:
        got, self._pending = self._pending, []
        while self._alive:
            try:
                message = self._ws.recv(timeout=timeout if not got else 0)
            except TimeoutError:
                break
            except (ConnectionClosed, OSError) as exc:
                self._dropped(exc)
                got.extend(self._pending)
                self._pending = []
                break
            got.extend(self._translated(message))
        return got

    def _translated(self, message: str | bytes) -> list[tuple[str, Any]]:
        try:
            event = json.loads(message)
        except ValueError:
            return []
        kind = event.get("type") if isinstance(event, dict) else None
        if kind in ("partial", "final"):
            return [(kind, wire_words(event))]
        if kind == "error":
            return [("error", f"The server's live text: {event.get('message')}")]
        if kind == "closed":
            self._alive = self._sending = False
            self.job_id = event.get("job_id")
            return [("done", {"job_id": self.job_id, "seconds": event.get("seconds")})]
        return []

    def _dropped(self, exc: Exception) -> None:
        if not self._alive:
            return
        self._alive = self._sending = False
        reason = exc.rcvd.reason if isinstance(exc, ConnectionClosed) and exc.rcvd and exc.rcvd.reason else exc
        self._pending += [("error", f"The connection to {self.server_url} dropped ({reason})"), ("done", {})]

    def end_of_audio(self) -> None:
        if self._sending:
            self._sending = False
            try:
                self._ws.send(STOP_MESSAGE)
            except (ConnectionClosed, OSError) as exc:
                self._dropped(exc)

    def close(self) -> None:
        self._sending = self._alive = False
        self._exit.close()  # closes the connection
