"""The REST API served from a thread of another program (the desktop app's "Share this machine").

The socket is bound before the thread starts, so an address in use or not available is reported to the caller at
once, as a sentence, instead of ending a background thread.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)

_STOP_TIMEOUT_SECONDS = 10.0


class AddressUnavailableError(OSError):
    pass


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressUnavailableError(f"Port {port} on {host} is already in use: choose another port") from exc
        raise AddressUnavailableError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


class ApiServerThread:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._socket = bind(host, port)
        self.host = host
        self.port = self._socket.getsockname()[1]
        # The app's lifespan runs (the store's metrics collector is registered there); uvicorn installs no signal
        # handlers off the main thread, so the host program keeps its own.
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=3)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="stt-api-server", daemon=True)

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException:  # SystemExit from a failed startup included: log it, never kill the host program
            log.exception("The shared REST API stopped")

    def start(self, timeout: float = 10.0) -> None:
        """Returns once the API answers (blocking: call it off the GUI thread)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            self.stop()
            raise AddressUnavailableError(f"The REST API did not start on {self.host}:{self.port}")

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._server.started

    def stop(self) -> None:
        """Closes the listener; open requests get a few seconds to finish."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT_SECONDS)
        self._socket.close()
