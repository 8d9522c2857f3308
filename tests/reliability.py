"""Shared ground of the reliability suite (tests/test_reliability_*.py, tests/test_hostile_inputs.py).

- ``record``: each case writes one row (what was done, what was expected, what happened, its figures) to the JSON
  lines file named by ``STT_RELIABILITY_REPORT``; ``scripts/reliability_table.py`` turns the rows into
  docs/reliability.md. Without the variable nothing is written. The row's outcome is the test's: a failed assertion
  inside the block is recorded as "failed" (with its message) and re-raised.
- ``ServeInstance``: a real ``stt-studio serve`` of its own (data dir, port, environment) with the handles the fault
  tests need: its worker and Valkey processes, their memory and descriptors.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Worker

from stt_studio.jobs.redis_server import EmbeddedRedis
from tests import live

REPORT_ENV = "STT_RELIABILITY_REPORT"
Figure = float | int | str


@dataclass
class Row:
    group: str
    case: str
    action: str
    expected: str
    observed: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)
    outcome: str = "passed"
    seconds: float = 0.0
    test: str = ""
    at: str = ""
    """When the case ended (UTC, ISO 8601)."""


def _write(row: Row) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")


@contextmanager
def record(group: str, case: str, *, action: str, expected: str) -> Iterator[Row]:
    """Run one case: fill in ``row.observed`` and ``row.figures`` inside the block, and assert there."""
    row = Row(group, case, action, expected, test=os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0])
    started = time.monotonic()
    try:
        yield row
    except BaseException as exc:
        skipped = type(exc).__name__ == "Skipped"
        row.outcome = "skipped" if skipped else "failed"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        row.observed = f"{row.observed} [{row.outcome}: {reason[:300]}]".strip()
        raise
    finally:
        row.seconds = round(time.monotonic() - started, 1)
        row.at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write(row)


# --- a serve of its own ------------------------------------------------------------------------------------------


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


@dataclass
class ServeInstance:
    url: str
    data_dir: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def redis_server(self) -> EmbeddedRedis:
        return EmbeddedRedis(self.data_dir / "redis")

    def redis(self) -> redis.Redis:
        """A client (no retries) for the Redis this serve uses: REDIS_URL when given, else its embedded Valkey."""
        if url := self.env.get("REDIS_URL"):
            return redis.Redis.from_url(url, socket_timeout=5, retry=Retry(NoBackoff(), 0))
        return self.redis_server.client()

    def workers(self) -> list[psutil.Process]:
        """The live transcription workers (``stt-studio worker``) this serve started."""
        found = []
        for child in psutil.Process(self.process.pid).children():
            try:
                if child.cmdline()[-1:] == ["worker"] and _alive(child):
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def worker_pid(self) -> int:
        [worker] = self.workers()
        return int(worker.pid)

    def valkey_pid(self) -> int:
        pid = self.redis_server.pid()
        assert pid is not None, "the embedded Valkey has no pid file"
        return pid

    def wait_for_ready_worker(self, timeout: float = 240.0, not_pid: int | None = None) -> int:
        """The pid of a worker that is alive and registered with RQ (its model is loaded), other than ``not_pid``."""

        def ready() -> int | None:
            live_pids = {p.pid for p in self.workers()} - {not_pid}
            try:
                registered = {w.pid for w in Worker.all(connection=self.redis())}
            except redis.RedisError:
                return None
            ready_pids = live_pids & registered
            return min(ready_pids) if ready_pids else None

        return live.wait_for(ready, timeout, "a worker with its model loaded", interval=0.5)

    def processes(self) -> dict[str, psutil.Process]:
        found = {"api": psutil.Process(self.process.pid), "valkey": psutil.Process(self.valkey_pid())}
        for i, worker in enumerate(self.workers()):
            found[f"worker{i or ''}"] = worker
        return found

    def resources(self) -> dict[str, dict[str, float]]:
        """RSS (MB) and open file descriptors of the API process (serve itself), its workers and Valkey."""
        usage = {}
        for name, proc in self.processes().items():
            with proc.oneshot():
                usage[name] = {"rss_mb": round(proc.memory_info().rss / 2**20, 1), "fds": proc.num_fds()}
        return usage

    def get(self, path: str, timeout: float = 30.0) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=timeout)

    @property
    def faults(self) -> InjectedFaults:
        return InjectedFaults(Path(self.env["STT_FAULT_INJECTION_DIR"]))


@dataclass(frozen=True)
class InjectedFaults:
    """The workers' test-only fault injection (stt_studio/jobs/fault_injection.py): files in the folder a serve
    got as STT_FAULT_INJECTION_DIR make its worker die, or wait, as a job enters a stage."""

    folder: Path

    def kill_in(self, stage: str) -> None:
        """From now on every worker SIGKILLs itself as a job enters ``stage`` (until ``stop_killing``)."""
        (self.folder / f"kill-in-{stage}").touch()

    def stop_killing(self, stage: str) -> None:
        (self.folder / f"kill-in-{stage}").unlink(missing_ok=True)

    def kills(self, stage: str) -> list[tuple[int, str]]:
        """Each time a worker killed itself in ``stage``: its pid and the job's id."""
        killed = self.folder / f"killed-in-{stage}"
        lines = killed.read_text().splitlines() if killed.exists() else []
        return [(int(pid), job_id) for pid, job_id in (line.split() for line in lines)]

    def hold(self, stage: str) -> None:
        """From now on a worker waits as a job enters ``stage`` (until ``release``)."""
        (self.folder / f"held-in-{stage}").unlink(missing_ok=True)  # left by a worker killed while held
        (self.folder / f"hold-in-{stage}").touch()

    def held(self, stage: str, timeout: float = 300.0) -> tuple[int, str]:
        """The pid of the worker waiting in ``stage`` and the id of its job, once one is."""
        marker = self.folder / f"held-in-{stage}"
        text = live.wait_for(lambda: marker.read_text() if marker.exists() else None, timeout, f"a job held in {stage}")
        pid, job_id = text.split()
        return int(pid), job_id

    def release(self, stage: str) -> None:
        (self.folder / f"hold-in-{stage}").unlink(missing_ok=True)

    def raise_in(self, kind: str, stage: str, times: int | None = None) -> None:
        """From now on a job raises a CUDA fault as it enters ``stage``: ``kind`` "oom" (out of memory) or "sticky"
        (an illegal memory access); ``times`` times, or every time (until ``stop_raising``)."""
        (self.folder / f"{kind}-in-{stage}").write_text("" if times is None else str(times))

    def stop_raising(self, kind: str, stage: str) -> None:
        (self.folder / f"{kind}-in-{stage}").unlink(missing_ok=True)

    def raised(self, kind: str, stage: str) -> list[tuple[int, str]]:
        """Each time a job raised ``kind`` in ``stage``: the worker's pid and the job's id."""
        record = self.folder / f"{ {'oom': 'oomed', 'sticky': 'stuck'}[kind] }-in-{stage}"
        lines = record.read_text().splitlines() if record.exists() else []
        return [(int(pid), job_id) for pid, job_id in (line.split() for line in lines)]


@contextmanager
def serve(
    root: Path,
    models_dir: Path,
    *,
    workers: int = 1,
    cwd: Path | None = None,
    wait: bool = True,
    environment: dict[str, str] | None = None,
    **extra_env: str,
) -> Iterator[ServeInstance]:
    """``stt-studio serve`` on a free port with its data in ``root/data``; stopped (SIGINT, then SIGKILL) after.
    ``environment`` and ``extra_env`` are added to (or override) tests/live.py's service environment."""
    root.mkdir(parents=True, exist_ok=True)
    extra_env = {**(environment or {}), **extra_env}
    data_dir = Path(extra_env.pop("STT_DATA_DIR", str(root / "data")))
    faults = Path(extra_env.setdefault("STT_FAULT_INJECTION_DIR", str(root / "faults")))
    faults.mkdir(parents=True, exist_ok=True)  # empty: nothing is injected until a test asks (InjectedFaults)
    env = live.service_env(data_dir, models_dir, **extra_env)
    port = live.free_port()
    log = root / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "stt_studio", "serve", "--port", str(port), "--workers", str(workers)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd,
        )  # fmt: skip
    instance = ServeInstance(f"http://127.0.0.1:{port}", data_dir, env, log, process)
    try:
        if wait:
            live.wait_until_up(instance.url, workers=workers, timeout=300)
        yield instance
    finally:
        live.stop(process, signal.SIGINT, timeout=60)


def in_ci() -> bool:
    """CI sets CI=true (and runs as root on Linux, where a test can mount what it needs)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def cannot_run_here(reason: str) -> None:
    """A case this machine cannot set up (e.g. no permission to mount): a failure in CI, where it must run; a skip
    with the reason elsewhere. Never a silent pass."""
    if in_ci():
        pytest.fail(f"{reason}: CI must be able to run this case (CI=true)")
    pytest.skip(reason)


def wait_until_answering(url: str, timeout: float = 120.0) -> float:
    """Seconds until GET /health answers 200 again."""
    started = time.monotonic()

    def healthy() -> bool:
        return httpx.get(f"{url}/health", timeout=10).status_code == 200

    live.wait_for(healthy, timeout, f"{url}/health to answer 200", interval=0.2)
    return time.monotonic() - started


def completions(url: str) -> float:
    """How many jobs the workers have completed, from /metrics (stt_jobs_finished_total{outcome="completed"})."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        if family.name == "stt_jobs_finished":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("outcome") == "completed":
                    return float(sample.value)
    return 0.0


def listening_tcp_ports(pid: int) -> list[int]:
    """TCP ports process ``pid`` listens on (IPv4 and IPv6)."""
    ports = []
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr:
            ports.append(int(conn.laddr.port))
    return ports


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def job(url: str, job_id: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{url}/jobs/{job_id}", timeout=30).json()
    return data
