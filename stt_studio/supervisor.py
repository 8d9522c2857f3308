"""Keeps N worker processes running for ``serve`` and the desktop app: a worker that dies is started again.

Every worker is spawned from the supervisor's own thread, which lives until ``stop`` has ended them all: on Linux
the workers are tied to that thread (``PR_SET_PDEATHSIG``) and die with it if this process is killed.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from stt_studio.jobs.redis_server import EmbeddedRedis, EmbeddedRedisError
from stt_studio.processes import PARENT_PID_ENV, at_least_nice, die_with_parent, session_at_least_nice

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
    retiring: bool = False
    """Asked to exit after its current job (settings changed); started again with the new environment."""
    draining: bool = False
    """Asked to exit after its current job (the app quits then); not started again unless ``resume`` is called."""


class WorkerSupervisor:
    def __init__(
        self,
        count: int,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        *,
        command: str = "worker",
        redis_server: EmbeddedRedis | None = None,
        nice: int = 0,
        slot_envs: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """``count`` processes of ``stt-studio <command>`` (``webhook-worker`` for the webhook deliveries). With
        ``redis_server`` (the embedded Valkey the caller started), that server is started again if it exits.
        ``nice``: their CPU priority (Unix) from their first instruction on: a worker's start-up (a second or more
        of imports on every core it can get) used to compete with the window and the API as their equal.
        ``slot_envs``: what worker ``i`` gets beyond ``env`` (its GPU: ``worker_placement.place_worker_processes``)."""
        self._redis_server = redis_server
        self._redis_failures = 0
        self._redis_retry_at = 0.0
        self._slots = [_Slot(i) for i in range(count)]
        self._args = [sys.executable, "-m", "stt_studio", command, *(extra_args or [])]
        self._env = {**os.environ, **(env or {}), PARENT_PID_ENV: str(os.getpid())}
        self._slot_envs = [dict(e) for e in slot_envs]
        self._preexec = _child_setup(nice)
        self._leaving: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._grace_seconds = 5.0
        self._thread = threading.Thread(target=self._run, name="stt-supervisor", daemon=True)

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self._slots if s.process is not None and s.process.poll() is None]

    @property
    def count(self) -> int:
        return len(self._slots)

    def start(self) -> None:
        """Returns at once; the workers are spawned by the supervisor's thread."""
        self._thread.start()

    def restart_after_current_job(self, env: dict[str, str] | None = None, count: int | None = None) -> None:
        """Start every worker again with ``env`` (new model, device, …) once its current job is done."""
        with self._lock:
            if env is not None:
                self._env = {**os.environ, **env, PARENT_PID_ENV: str(os.getpid())}
            if count is not None and count != len(self._slots):
                self._slots.extend(_Slot(i) for i in range(len(self._slots), count))
            for slot in self._slots:
                slot.retiring = True
                slot.quick_deaths = 0
                if slot.process is not None and slot.process.poll() is None:
                    slot.process.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the job, then exit
            if count is not None and count < len(self._slots):
                # Their processes end after their job (SIGTERM above) and are not replaced.
                self._leaving.extend(s.process for s in self._slots[count:] if s.process is not None)
                del self._slots[count:]

    def drain(self) -> None:
        """Let every worker finish its current job and exit without taking another; none is started again until
        ``resume``. ``drained`` tells when they are all gone."""
        with self._lock:
            for slot in self._slots:
                slot.draining = True
                if slot.process is not None and slot.process.poll() is None:
                    slot.process.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the job, then exit

    def resume(self) -> None:
        """Undo ``drain``: workers that have exited start again, and those still finishing their job are started
        again once it is done (a warm shutdown can't be taken back)."""
        with self._lock:
            for slot in self._slots:
                if slot.draining:
                    slot.draining = False
                    slot.retiring = True
                    slot.quick_deaths = 0

    @property
    def drained(self) -> bool:
        """After ``drain``: no worker process is left (each has finished its job). Read without the lock (the GUI
        thread asks, and the lock is held while a worker is spawned); a stale answer is corrected by the next ask."""
        return all(s.draining and (s.process is None or s.process.poll() is not None) for s in list(self._slots))

    def _spawn(self, slot: _Slot) -> None:
        env = {**self._env, **self._slot_envs[slot.index]} if slot.index < len(self._slot_envs) else self._env
        slot.process = subprocess.Popen(self._args, env=env, start_new_session=True, preexec_fn=self._preexec)
        slot.started_at = time.monotonic()
        slot.retiring = False
        log.info("Started worker %d (pid %d)", slot.index, slot.process.pid)

    def _run(self) -> None:
        with self._lock:
            for slot in self._slots:
                self._spawn(slot)
        while not self._stopping.wait(_POLL_SECONDS):
            self._keep_redis_running()
            with self._lock:
                self._check(time.monotonic())
        self._end_all()

    def _keep_redis_running(self) -> None:
        """Start the embedded Valkey again when it has exited (killed, crashed): it reloads its append-only file,
        so queued jobs are kept, and clients reconnect. Started from this thread, it is tied to it like a worker."""
        server = self._redis_server
        if server is None or not server.exited() or time.monotonic() < self._redis_retry_at:
            return
        assert server.process is not None
        log.warning("The embedded Valkey (pid %d) exited with %s; starting it again", server.process.pid,
                    server.process.returncode)  # fmt: skip
        try:
            server.ensure_running(tied_to_this_thread=True)
            self._redis_failures = 0
        except EmbeddedRedisError as exc:
            self._redis_failures += 1
            self._redis_retry_at = time.monotonic() + min(_MAX_BACKOFF_SECONDS, 2.0**self._redis_failures)
            log.error("%s", exc)

    def _check(self, now: float) -> None:
        for slot in self._slots:
            proc = slot.process
            if slot.draining:
                if proc is not None and proc.poll() is not None:
                    log.info("Worker %d (pid %d) finished its job and exited", slot.index, proc.pid)
                    slot.process = None
                continue
            if proc is None or proc.poll() is None:
                if proc is None and now >= slot.restart_at:
                    self._spawn(slot)
                continue
            lived = now - slot.started_at
            if slot.retiring:
                log.info("Worker %d (pid %d) exited for a restart", slot.index, proc.pid)
                slot.process = None
                slot.restart_at = now
                continue
            slot.quick_deaths = slot.quick_deaths + 1 if lived < _QUICK_DEATH_SECONDS else 0
            delay = min(_MAX_BACKOFF_SECONDS, 2.0**slot.quick_deaths) if slot.quick_deaths > 1 else 0.0
            log.warning(
                "Worker %d (pid %d) exited with %s after %.0f s; restarting%s",
                slot.index, proc.pid, proc.returncode, lived, f" in {delay:.0f} s" if delay else "",
            )  # fmt: skip
            slot.process = None
            slot.restart_at = now + delay

    def _end_all(self) -> None:
        """SIGTERM (a worker finishes its current step), then SIGKILL after the grace period. A job cut off
        this way is not lost: it is found by its stale heartbeat and run again on the next start."""
        processes = [s.process for s in self._slots if s.process is not None] + self._leaving
        running = [proc for proc in processes if proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._grace_seconds
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker's whole process tree
                proc.wait()

    def stop(self, grace_seconds: float = 5.0) -> None:
        """End every worker (see ``_end_all``) and wait until they are gone."""
        self._grace_seconds = grace_seconds
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()


def _child_setup(nice: int) -> Callable[[], None] | None:
    """What a worker process does before it runs ``stt-studio``: tie itself to this thread, lower its priority."""
    tie = die_with_parent()
    lower = nice > 0 and hasattr(os, "setpriority")
    if tie is None and not lower:
        return None

    def setup() -> None:
        if tie is not None:
            tie()
        if lower:
            at_least_nice(nice)
            session_at_least_nice(nice)  # it leads a session of its own (start_new_session)

    return setup
