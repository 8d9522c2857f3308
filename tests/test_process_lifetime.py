"""Nothing that ``serve`` or the desktop app started outlives it: workers and the embedded Valkey go with it,
whether it is stopped (SIGTERM), killed (SIGKILL) or quits."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from stt_studio.settings import Settings
from tests import live


def _workers_of(parent: int) -> list[int]:
    """Worker processes started by ``parent`` (they carry its pid in STT_PARENT_PID)."""
    return live.processes_with_env("STT_PARENT_PID", str(parent))


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _session_nice(pid: int) -> int | None:
    """The nice of the process's session as a scheduling group (Linux autogroup); None without autogroup."""
    try:
        return int(Path(f"/proc/{pid}/autogroup").read_text().split("nice")[1])
    except (OSError, IndexError, ValueError):
        return None


def _valkey_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "valkey.pid").read_text().strip())


def _start(command: list[str], tmp_path: Path, settings: Settings) -> tuple[subprocess.Popen[bytes], Path]:
    data_dir = tmp_path / "data"
    env = live.service_env(data_dir, settings.resolved_models_dir, QT_QPA_PLATFORM="offscreen",
                           STT_CONFIG_DIR=str(tmp_path / "config"))  # fmt: skip
    proc = live.start(command, env, tmp_path / "app.log")
    live.wait_for(lambda: len(_workers_of(proc.pid)) >= 1 and (data_dir / "redis" / "valkey.pid").exists(), 120,
                  "a worker and Valkey")  # fmt: skip
    return proc, data_dir


def _assert_all_gone(pids: list[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(live.process_alive(p) for p in pids):
        time.sleep(0.2)
    left = [p for p in pids if live.process_alive(p)]
    assert not left, f"processes left running: {left}"


@pytest.mark.parametrize(
    ("command", "sig"),
    [
        (["serve", "--port", "0", "--workers", "1"], signal.SIGTERM),
        (["serve", "--port", "0", "--workers", "1"], signal.SIGKILL),
        (["gui"], signal.SIGKILL),
        (["gui"], signal.SIGTERM),
    ],
    ids=["serve-sigterm", "serve-sigkill", "desktop-sigkill", "desktop-sigterm"],
)
def test_nothing_outlives_its_starter(command: list[str], sig: int, tmp_path: Path, settings: Settings) -> None:
    proc, data_dir = _start(command, tmp_path, settings)
    workers = _workers_of(proc.pid)
    priorities = {pid: _nice(pid) for pid in workers}
    session_priorities = {pid: _session_nice(pid) for pid in workers}
    started = [*workers, _valkey_pid(data_dir)]
    proc.send_signal(sig)
    proc.wait(60)
    _assert_all_gone(started)
    # every worker, the webhook worker too, yields the CPU to the window and the API, from its start on
    assert priorities == {pid: Settings().worker_nice for pid in workers}
    # ... also where sessions are scheduled as groups (autogroup): each worker leads a session of its own
    if Path("/proc/self/autogroup").exists():
        assert session_priorities == {pid: Settings().worker_nice for pid in workers}


def test_a_second_start_hands_its_files_to_the_first(tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    """One window per data folder: ``stt-studio gui FILE`` while the app runs queues FILE there and exits."""
    from stt_studio.jobs.redis_server import EmbeddedRedis
    from stt_studio.jobs.store import JobStore

    first, data_dir = _start(["gui"], tmp_path, settings)
    try:
        env = live.service_env(data_dir, settings.resolved_models_dir, QT_QPA_PLATFORM="offscreen",
                               STT_CONFIG_DIR=str(tmp_path / "config"))  # fmt: skip
        second = live.start(["gui", str(short_wav)], env, tmp_path / "second.log")
        assert second.wait(60) == 0
        store = JobStore(EmbeddedRedis(data_dir / "redis").client(), data_dir)
        live.wait_for(lambda: any(v.filename == short_wav.name for v in store.list()), 60, "the handed-over job")
    finally:
        live.stop(first)
