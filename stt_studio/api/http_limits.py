"""Bounds on the request head that uvicorn's httptools protocol does not set.

uvicorn with httptools reads a request head of any size (a 20 MB header was accepted whole) and waits for ever for
a head that never completes (a connection that sends nothing, or a byte now and then: slow-loris). Here the head
may be at most MAX_HEAD_BYTES (431 beyond), and a head that stalls for the idle timeout is answered 408 and the
connection closed. Bodies are bounded where they are read (the upload's own size limit and idle timeout).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

MAX_HEAD_BYTES = 64 * 1024
"""The request line and headers together (nginx's default allows 32 KB)."""


def _response(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps({"detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_TOO_LARGE = (
    431,
    "Request Header Fields Too Large",
    f"The request's headers are larger than {MAX_HEAD_BYTES // 1024} KB",
)


def bounded_http_protocol(idle_timeout: float) -> type[Any] | None:
    """uvicorn's httptools protocol with the bounds above, for ``uvicorn.run(http=...)``; None without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return None

    class BoundedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True  # from the connection's start, and from each request's first byte
            self._head_bytes = 0
            self._pending_head_bytes = 0
            self._head_timer: asyncio.TimerHandle | None = None
            self._refusal: tuple[int, str, str] | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._in_head or self.transport.is_closing():
                return
            self._pending_head_bytes += len(data)  # what the parser holds of a head not yet complete
            if self._pending_head_bytes > MAX_HEAD_BYTES:
                self._refuse(*_TOO_LARGE)
            else:
                self._arm_head_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True
            self._head_bytes = self._pending_head_bytes = 0
            self._arm_head_timer()

        # A head that arrived in one piece is measured as it is parsed: an exception raised in a parser callback
        # makes uvicorn answer 400, which send_400_response turns into this refusal.
        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._head_bytes += size
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refusal = _TOO_LARGE
                raise ValueError(_TOO_LARGE[2])

        def send_400_response(self, msg: str) -> None:
            if self._refusal is None:
                super().send_400_response(msg)
            else:
                self._refuse(*self._refusal)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._cancel_head_timer()
            super().on_headers_complete()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(idle_timeout, self._head_stalled)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_stalled(self) -> None:
            self._head_timer = None
            if self._in_head and not self.transport.is_closing():
                self._refuse(408, "Request Timeout", f"The request stalled: nothing arrived for {idle_timeout:g} s")

        def _refuse(self, status: int, reason: str, detail: str) -> None:
            self._in_head = False
            self._cancel_head_timer()
            self.logger.warning("Refused a request from %s: %s", self.client, detail)
            self.transport.write(_response(status, reason, detail))
            self.transport.close()

    return BoundedHttpToolsProtocol
