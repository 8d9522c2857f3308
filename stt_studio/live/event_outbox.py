"""The events waiting for a live client that takes them at its own pace (the WebSocket ``/live``).

Bounded, and a client that does not read is found out: a newer ``partial`` replaces one not yet sent (it
supersedes it), so only final words and notices pile up, at most ``max_events``; and a client that has taken
nothing for ``stall_seconds`` while an event waits to go out (its TCP window is full: it does not read) is too slow.
Either way ``ClientTooSlow`` says so, and the connection is closed with its message.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Event = dict[str, Any]


class ClientTooSlow(Exception):
    """The client does not read its events; the message is the close reason (at most 123 bytes)."""


class EventOutbox:
    def __init__(self, max_events: int, stall_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_events = max_events
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._events: deque[Event] = deque()
        self._more = asyncio.Event()
        self._ended = False
        self._sending_since: float | None = None
        """When the event being sent was handed to the connection (None: nothing is being sent)."""
        self.too_slow: ClientTooSlow | None = None

    def __len__(self) -> int:
        return len(self._events)

    def put(self, event: Event) -> None:
        self.check()
        if event.get("type") == "partial" and self._events and self._events[-1].get("type") == "partial":
            self._events[-1] = event
        elif len(self._events) >= self.max_events:
            self._fail(f"client too slow: {self.max_events} events wait unread")
        else:
            self._events.append(event)
        self._more.set()

    def check(self) -> None:
        """Raise ClientTooSlow once the client was found too slow (here or by an earlier ``put``), or when the
        event being sent has not gone out for ``stall_seconds``."""
        if self.too_slow is not None:
            raise self.too_slow
        since = self._sending_since
        if since is not None and self._clock() - since >= self.stall_seconds:
            self._fail(f"client too slow: it has not read its events for {self.stall_seconds:g} s")

    def _fail(self, reason: str) -> None:
        self.too_slow = ClientTooSlow(reason)
        raise self.too_slow

    def end(self) -> None:
        """No more events: ``send_all`` returns once the ones waiting are sent."""
        self._ended = True
        self._more.set()

    async def send_all(self, send: Callable[[Event], Awaitable[None]]) -> None:
        """Send the events in order as they come, until ``end`` (or until sending fails: the client is gone)."""
        while True:
            while self._events:
                event = self._events.popleft()
                self._sending_since = self._clock()
                try:
                    await send(event)
                except Exception:
                    return
                finally:
                    self._sending_since = None
            if self._ended:
                return
            self._more.clear()
            await self._more.wait()
