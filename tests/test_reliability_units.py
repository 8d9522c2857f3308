"""The small pieces the reliability suite relies on, checked directly: the name a job shows and the name its upload
gets on disk, how a full disk and an exhausted memory are recognised, waiting for space, and the embedded Valkey
refusing to start a second server over a stopped one."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import redis

from stt_studio.api.uploads import MAX_FILENAME_CHARS, _display_name, _stored_name
from stt_studio.jobs import resources
from stt_studio.jobs.redis_server import EmbeddedRedis, EmbeddedRedisError
from stt_studio.jobs.resources import is_disk_full, is_out_of_memory, when_space_allows


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("meeting.wav", "meeting.wav"),
        ("a\tb\x01c.wav", "a b c.wav"),
        ("line\nbreak\r.wav", "line break .wav"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\call.m4a", "call.m4a"),
        ("e\u0301te\u0301.wav", "\u00e9t\u00e9.wav"),
        ("invoice\u202egpj.wav", "invoicegpj.wav"),
        ("\ufeffbom.wav", "bom.wav"),
        ("lone\udcff.wav", "lone.wav"),
        ("  spaced   out  .wav", "spaced out .wav"),
        ("..", "upload"),
        ("\x00\x01", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("Café Müller 会议.mp3", "Café Müller 会议.mp3"),
    ],
)
def test_the_shown_name_is_cleaned(sent: str | None, shown: str) -> None:
    assert _display_name(sent) == shown


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    name = _display_name("x" * 5000 + ".flac")
    assert len(name) == MAX_FILENAME_CHARS and name.endswith("x.flac")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("a.WAV", "upload.wav"), ("../../x.mp3", "upload.mp3"), ("a.w\x01v", "upload"), ("a.wav\\..\\b", "upload"),
     ("noext", "upload"), ("a." + "x" * 20, "upload"), ("a.tar.gz", "upload.gz")],
)  # fmt: skip
def test_the_stored_name_is_generated(sent: str, stored: str) -> None:
    assert _stored_name(sent) == stored


def test_a_full_disk_is_recognised() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(redis.ResponseError("MISCONF Errors writing to the AOF file: No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(redis.ResponseError("WRONGTYPE Operation against a key"))


def test_running_out_of_memory_is_recognised() -> None:
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB"))
    assert is_out_of_memory(RuntimeError("CUDA failed with error out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_writes_wait_for_space_and_other_errors_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_DISK_POLL_SECONDS", 0.01)
    attempts: list[int] = []

    def fills_twice() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return "written"

    assert when_space_allows(fills_twice, "a test") == "written" and len(attempts) == 3

    def forbidden() -> None:
        raise OSError(errno.EACCES, "Permission denied")

    with pytest.raises(PermissionError):
        when_space_allows(forbidden, "a test")
    with pytest.raises(OSError, match="No space"):
        when_space_allows(_always_full, "a test", timeout=0.05)  # not for ever


def _always_full() -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_stopped_valkey_is_not_replaced_by_a_second_one(tmp_path: Path) -> None:
    """Two servers on one append-only file would corrupt it: a stalled one is reported, not doubled."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.ensure_running()
    pid = server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(EmbeddedRedisError, match="does not answer"):
            EmbeddedRedis(tmp_path / "redis").ensure_running()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert server.pid() == pid and server.is_running()
    os.kill(pid, signal.SIGKILL)
    assert server.process is not None
    server.process.wait(10)
    assert server.exited()
    server.ensure_running()  # a dead one is replaced
    assert server.pid() != pid and server.is_running()
    server.stop()


def test_a_data_dir_too_deep_for_a_unix_socket_still_gets_its_valkey(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unix socket's path holds at most 107 bytes; Valkey refuses to start on a longer one (seen with a data dir
    in pytest-xdist's deeper temporary folders). A deep data dir's socket goes to a private folder, under a name
    that every process derives from the data dir, and the server starts and is found there."""
    runtime = Path(tempfile.mkdtemp(prefix="run-"))  # short, as /run/user/<uid> is
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "redis"
    server = EmbeddedRedis(deep)
    assert len(os.fsencode(server.socket)) <= 100 and server.socket.parent == runtime / "stt-studio"
    assert EmbeddedRedis(deep).socket == server.socket != EmbeddedRedis(deep.with_name("other")).socket
    server.ensure_running()
    try:
        assert EmbeddedRedis(deep).is_running()
        assert oct(server.socket.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        server.stop()
        shutil.rmtree(runtime, ignore_errors=True)
    shallow = tmp_path / "redis"
    assert EmbeddedRedis(shallow).socket == shallow / "valkey.sock"


def test_a_shared_folder_for_the_socket_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone else's (or an open) folder where the socket would go is not used: the message says what to do."""
    runtime = Path(tempfile.mkdtemp(prefix="run-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    (runtime / "stt-studio").mkdir()
    (runtime / "stt-studio").chmod(0o777)
    try:
        with pytest.raises(EmbeddedRedisError, match="not a private folder of this user: choose a shorter data"):
            EmbeddedRedis(tmp_path / ("d" * 120))
    finally:
        shutil.rmtree(runtime)
