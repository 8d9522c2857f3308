"""Run the real service as subprocesses (``stt-studio serve|api|worker``) for the queue and API tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

FINAL = {"completed", "failed", "canceled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server (which, like uvicorn, sets SO_REUSEADDR) could listen on ``port`` now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def service_env(data_dir: Path, models_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "STT_", "HF_TOKEN"))}
    env.update(
        STT_DATA_DIR=str(data_dir),
        STT_DIARIZATION_BACKEND="local",
        STT_MODELS_DIR=str(models_dir),
        WHISPER_MODEL_SIZE="tiny.en",
        WHISPER_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
    )
    env.update(extra)  # callers may override any of the above
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "stt_studio", *command], env=env, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def processes_with_env(name: str, value: str) -> list[int]:
    """The pids of processes whose environment holds ``name=value`` (the app marks its children this way)."""
    marker = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def process_alive(pid: int) -> bool:
    """Running (a zombie is gone for our purposes)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, OSError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})")


def wait_until_up(url: str, workers: int, timeout: float = 180.0, headers: dict[str, str] | None = None) -> None:
    def ready() -> bool:
        stats = httpx.get(f"{url}/queue/stats", timeout=5, headers=headers).json()
        return bool(stats["redis_healthy"] and stats["workers"] >= workers)

    wait_for(ready, timeout, f"{url} with {workers} worker(s)")


def server_errors(url: str) -> list[str]:
    """The 5xx answers a serve has counted (its /metrics) but the documented one: the 504 of a sync
    POST /transcribe that timed out."""
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    return [
        line
        for line in metrics.splitlines()
        if line.startswith("stt_http_requests_total")
        and re.search(r'status="5\d\d"', line)
        and not ('route="/transcribe"' in line and 'status="504"' in line)
        and not line.rstrip().endswith(" 0.0")
    ]


def submit(url: str, path: Path, **form: str) -> str:
    with path.open("rb") as f:
        response = httpx.post(f"{url}/transcribe/async", files={"file": (path.name, f)}, data=form, timeout=60)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def wait_job(url: str, job_id: str, timeout: float = 300.0) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        job: dict[str, Any] = httpx.get(f"{url}/jobs/{job_id}", timeout=10).json()
        return job if job["status"] in FINAL else None

    return wait_for(final, timeout, f"job {job_id} to finish", interval=0.3)


KEY = "remote-test-key-0123456789abcdef"


class RemoteServer:
    """A ``serve`` on a free loopback port that requires a key (``KEY``) and keeps uploads (so a remote desktop
    can fetch the audio): the server a remote desktop connects to in the tests."""

    def __init__(self, root: Path, models_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.faults_dir = root / "faults"
        """Its workers' fault injection folder (tests.reliability.InjectedFaults), for holding a job in a stage."""
        self.faults_dir.mkdir(parents=True, exist_ok=True)
        self.env = service_env(
            root / "data", models_dir, STT_REQUIRE_API_KEY="always", STT_API_KEYS=KEY, STT_KEEP_UPLOADS="true",
            STT_FAULT_INJECTION_DIR=str(self.faults_dir),
        )  # fmt: skip
        self.log = root / "serve.log"
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        self.process = start(["serve", "--port", str(self.port), "--workers", "1"], self.env, self.log)
        wait_until_up(self.url, workers=1, headers={"Authorization": f"Bearer {KEY}"})
        return self.process
