"""One window per data folder: a second ``stt-studio`` hands its files to the running one, which comes to the
front (also from the background, when the window was closed with jobs still running), and exits."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

_CONNECT_MS = 300


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return f"stt-studio-{digest}"


class SingleInstance(QObject):
    activated = Signal(list)
    """Paths (list[Path]) a later start asked this instance to add; empty: just come to the front."""

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server: QLocalServer | None = None

    def hand_over(self, files: list[Path]) -> bool:
        """True when another instance is running and took ``files``; this one should exit."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(_CONNECT_MS):
            return False
        socket.write(json.dumps([str(p.resolve()) for p in files]).encode() + b"\n")
        socket.waitForBytesWritten(_CONNECT_MS)
        socket.disconnectFromServer()
        return True

    def listen(self) -> None:
        QLocalServer.removeServer(self.name)  # a socket file left by a crashed instance
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.newConnection.connect(self._accept)
        server.listen(self.name)
        self._server = server

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        try:
            paths = [Path(p) for p in json.loads(bytes(socket.readLine().data()).decode())]
        except (ValueError, TypeError):
            paths = []
        socket.disconnectFromServer()
        self.activated.emit(paths)
