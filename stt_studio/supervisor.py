"""Keeps N worker processes running for ``serve`` (and the desktop app): a worker that dies is started again."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
_QUICK_DEATH_SECONDS = 20.0
_MAX_BACKOFF_SECONDS = 30.0


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float = 0.0


class WorkerSupervisor:
    def __init__(self, count: int, extra_args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self._slots = [_Slot(i) for i in range(count)]
        self._args = [sys.executable, "-m", "stt_studio", "worker", *(extra_args or [])]
        self._env = {**os.environ, **(env or {})}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stt-supervisor", daemon=True)

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self._slots if s.process is not None and s.process.poll() is None]

    def start(self) -> None:
        for slot in self._slots:
            self._spawn(slot)
        self._thread.start()

    def _spawn(self, slot: _Slot) -> None:
        slot.process = subprocess.Popen(self._args, env=self._env, start_new_session=True)
        slot.started_at = time.monotonic()
        log.info("Started worker %d (pid %d)", slot.index, slot.process.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(_POLL_SECONDS):
            now = time.monotonic()
            for slot in self._slots:
                proc = slot.process
                if proc is None or proc.poll() is None:
                    if proc is None and now >= slot.restart_at:
                        self._spawn(slot)
                    continue
                lived = now - slot.started_at
                slot.quick_deaths = slot.quick_deaths + 1 if lived < _QUICK_DEATH_SECONDS else 0
                delay = min(_MAX_BACKOFF_SECONDS, 2.0**slot.quick_deaths) if slot.quick_deaths > 1 else 0.0
                log.warning(
                    "Worker %d (pid %d) exited with %s after %.0f s; restarting%s",
                    slot.index, proc.pid, proc.returncode, lived, f" in {delay:.0f} s" if delay else "",
                )  # fmt: skip
                slot.process = None
                slot.restart_at = now + delay

    def stop(self, grace_seconds: float = 5.0) -> None:
        """SIGTERM (a worker finishes its current step), then SIGKILL after the grace period. A job cut off
        this way is not lost: it is found by its stale heartbeat and run again on the next start."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        running = [s.process for s in self._slots if s.process is not None and s.process.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker's whole process tree
                proc.wait()
