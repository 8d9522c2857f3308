"""The desktop app's responsiveness, measured on the real window (offscreen Qt) with its real worker (tiny.en, CPU):

1. GUI-thread stalls while working: a library of 500 finished jobs (one real tiny.en transcript of ~2.5 min of
   espeak-ng speech, stored 500 times through JobStore under different ids, file names and dates), then the window
   with its worker transcribing 3 dropped files (~25 s of speech each) while the benchmark acts as a user (key and
   mouse events sent to the widgets): switches tabs, types library searches (file names filter at once, the
   transcript search follows), selects rows, opens transcripts, finds in them, sorts, scrolls, selects queue jobs.
   A 10 ms PreciseTimer (tests.desktop.StallMeter) runs from the moment the window is shown; its lateness per tick
   is the GUI thread's stall. Reported from the window shown until the 3 jobs are done, and for the whole session
   (the user steps go on for at least --rounds rounds: tiny.en finishes the jobs in seconds). Worst, p99, the
   count over 50 ms (target: none) and the user step each such stall happened in; with --explain, where the GUI
   thread was: a sampler thread reads its Python stack (and those of busy threads) every 5 ms while the timer is
   overdue. The window runs on a real qasync loop (run_until_complete), as ``run_desktop`` runs it.
2. Start-up, each start in a fresh Python process (as ``stt-studio gui`` is): cold (fresh data dir: Valkey starts,
   the worker is spawned and loads its model) and warm (the same data dir again). From ``build_window`` to the
   window's first paint, to the first status poll answered, to a worker registered in Redis (polled every 20 ms)
   and to the status bar showing it (the next status poll); and from the process launch to the first paint and to
   ``build_window`` (interpreter and imports). The OS file cache is warm in both: "cold" is the data dir only.
3. Idle CPU over 30 s with the window open and nothing queued (after the last warm start, worker loaded, 5 s to
   settle): the app's own process (all threads), its worker (found by STT_PARENT_PID) and the embedded Valkey, in
   percent of one core.

Every process the benchmark starts is stopped at the end (the window quits itself; children are killed on error)
and it checks that no Valkey or worker of its own is left.

    .venv/bin/python -m benchmarks.gui [--parts stall,start,idle] [--library 500] [--rounds 4] [--explain] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import wave
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QTableView, QWidget

    from stt_studio.engine.result import TranscriptionResult
    from stt_studio.jobs.store import JobStore
    from stt_studio.ui.views.main_window import MainWindow

REPO = Path(__file__).resolve().parents[1]
STALL_MS = 50.0
SAMPLE_SECONDS = 0.005
STARTS = 3
PARTS = {"stall", "start", "idle"}
FILE_STEMS = ["meeting", "interview", "lecture", "call", "standup", "memo", "podcast", "review"]
SEARCHES = ["morning", "piano", "meeting", "station", "xylophone"]  # transcript, transcript, file name, both, none


# --- measuring helpers (used in the children) --------------------------------------------------------------------
def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StackSampler:
    """While the GUI thread is stalled (the meter's timer more than ``threshold`` s overdue), read its Python
    stack every 5 ms, and those of the other threads that are running (scheduler state R in /proc: a thread
    blocked in C, in poll() or recv(), is not, whatever its Python stack says): the frames that show up most are
    where the stalls come from. A GUI thread shown only in the event loop is in Qt's C++ code, or waiting for the
    GIL that a running thread holds (then it sleeps: 'GUI S')."""

    def __init__(self, last_tick: Callable[[], float], interval: float, threshold: float = 0.03) -> None:
        self._last_tick = last_tick
        self._limit = interval + threshold
        self._main = threading.main_thread().ident
        self.samples: Counter[str] = Counter()
        self.others: Counter[str] = Counter()
        self.states: Counter[str] = Counter()
        """Per sample while stalled, each thread's scheduler state from /proc: the GUI thread sleeping (S) while
        another thread of the app runs (R) is the GUI thread waiting for the GIL (or a lock) that one holds; the
        GUI thread running (R) is work in Qt's C++ code, or the CPU shared with other processes."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        threads: dict[int, tuple[int | None, str]] = {}  # native id -> (Python ident, name)
        while not self._stop.wait(SAMPLE_SECONDS):
            if time.perf_counter() - self._last_tick() <= self._limit:
                continue
            frames = sys._current_frames()
            frame = frames.get(self._main or 0)
            if frame is not None:
                self.samples[_describe(frame)] += 1
            if len(threads) != threading.active_count():
                threads = {t.native_id: (t.ident, t.name) for t in threading.enumerate() if t.native_id is not None}
            states = _thread_states()
            gui = os.getpid()
            busy = {tid: comm for tid, (state, comm) in states.items() if state == "R" and tid != gui}
            running = sorted(name_of(tid, threads, comm) for tid, comm in busy.items())
            running = [name for name in running if name != "stall-sampler"]
            self.states[f"GUI {states.get(gui, ('?', ''))[0]}; running: {', '.join(running) or 'none'}"] += 1
            for tid, (ident, name) in threads.items():
                other = frames.get(ident or 0)
                if other is not None and tid in busy and name != "stall-sampler":
                    self.others[f"[{name}] {_describe(other, 4)}"] += 1


def name_of(tid: int, threads: dict[int, tuple[int | None, str]], comm: str) -> str:
    """A thread's Python name, or its OS name in <> (Qt's threads, a library's own)."""
    return threads[tid][1] if tid in threads else f"<{comm}>"


def _gui_thread_schedstat() -> tuple[int, int]:
    """The main thread's nanoseconds on a CPU and waiting in the run queue so far (Linux schedstat)."""
    fields = Path(f"/proc/self/task/{os.getpid()}/schedstat").read_text().split()
    return int(fields[0]), int(fields[1])


def _thread_states() -> dict[int, tuple[str, str]]:
    """Each thread of this process: its scheduler state (R running or ready, S sleeping: a lock, the GIL, I/O, a
    wait) and its OS name, from /proc. A thread blocked in C (poll, recv, a lock) is S, whatever its Python stack."""
    states = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        states[int(task.name)] = (stat[stat.rindex(")") + 2], stat[stat.index("(") + 1 : stat.rindex(")")])
    return states


def _describe(frame: Any, depth: int = 6) -> str:
    """The innermost frames of a stack, innermost first; frames of the benchmark's own driving loop left out."""
    stack = [f for f in traceback.extract_stack(frame) if not f.filename.endswith(("asyncio/base_events.py",))]
    inner = stack[-depth:][::-1]
    return " <- ".join(f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno} {f.name}" for f in inner)


# --- part 1: stalls while working (child process) ----------------------------------------------------------------
def _key(widget: QWidget, key: int, text: str = "", ctrl: bool = False) -> None:
    """A key press and release sent to ``widget``, as the keyboard would."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    mods = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, mods, text))


def _click(widget: QWidget, pos: QPoint) -> None:
    """A left click (press and release) at ``pos`` in ``widget``."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    left, none, plain = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    local, where = QPointF(pos), QPointF(widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, QMouseEvent(QEvent.Type.MouseButtonPress, local, where, left, left, plain))
    QApplication.sendEvent(widget, QMouseEvent(QEvent.Type.MouseButtonRelease, local, where, left, none, plain))


def _click_row(table: QTableView, row: int) -> None:
    index = table.model().index(row, 1)
    table.scrollTo(index)
    _click(table.viewport(), table.visualRect(index).center())


def _click_header(table: QTableView, column: int) -> None:
    from PySide6.QtCore import QPoint

    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    _click(header.viewport(), QPoint(x, header.height() // 2))


def _select_tab(window: MainWindow, index: int) -> None:
    bar = window.tabs.tabBar()
    _click(bar, bar.tabRect(index).center())


async def _type(widget: QWidget, text: str, pause: float = 0.12) -> None:
    from PySide6.QtCore import Qt

    _key(widget, Qt.Key.Key_A, ctrl=True)  # select all, so typing replaces
    _key(widget, Qt.Key.Key_Backspace)
    for char in text:
        await asyncio.sleep(pause)
        _key(widget, ord(char.upper()), char)


async def _act_like_a_user(window: MainWindow, step: list[str], done: Callable[[], bool], rounds_at_least: int) -> int:
    """Rounds of what a user does, until ``done()`` and at least ``rounds_at_least`` rounds; ``step[0]`` names the
    current step. Returns the rounds done."""
    from PySide6.QtCore import Qt

    from stt_studio.ui.models.library_model import Column

    library, queue = window.library_view, window.queue_view
    rounds = 0
    while not done() or rounds < rounds_at_least:
        word = SEARCHES[rounds % len(SEARCHES)]
        step[0] = "switch to the Library tab"
        _select_tab(window, 1)
        await asyncio.sleep(0.3)
        step[0] = f"type the search '{word}'"
        await _type(library.search, word)
        step[0] = "wait for the transcript search"
        await asyncio.sleep(0.6)
        if library.proxy.rowCount():
            step[0] = "select library rows"
            _click_row(library.table, rounds % library.proxy.rowCount())
            for _ in range(3):
                await asyncio.sleep(0.15)
                _key(library.table, Qt.Key.Key_Down)
            step[0] = "open a transcript (Enter)"
            _key(library.table, Qt.Key.Key_Return)
            await asyncio.sleep(0.6)
            step[0] = "find in the transcript"
            await _type(window.transcript_view.find_edit, "the")
            await asyncio.sleep(0.3)
        step[0] = "clear the search"
        await _type(library.search, "")
        await asyncio.sleep(0.3)
        step[0] = "sort the library"
        _click_header(library.table, Column.FILE)
        await asyncio.sleep(0.3)
        _click_header(library.table, Column.DATE)
        await asyncio.sleep(0.3)
        step[0] = "scroll the library"
        for _ in range(4):
            _key(library.table, Qt.Key.Key_PageDown)
            await asyncio.sleep(0.15)
        step[0] = "switch to the Queue tab"
        _select_tab(window, 0)
        await asyncio.sleep(0.3)
        if queue.proxy.rowCount():
            step[0] = "select a queued job"
            _click_row(queue.table, rounds % queue.proxy.rowCount())
            await asyncio.sleep(0.6)
        rounds += 1
    step[0] = "(done)"
    return rounds


async def _quit(window: MainWindow) -> None:
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_quit() -> None:
        if not finished.done():
            finished.set_result(None)

    window.quit_finished.connect(on_quit)
    window.quit_now()
    await asyncio.wait_for(finished, 120)


def _tick_stats(ms: list[float]) -> dict[str, float]:
    return {
        "ticks": len(ms),
        "worst_ms": max(ms, default=0.0),
        "p50_ms": _percentile(ms, 0.5),
        "p99_ms": _percentile(ms, 0.99),
        "over_50": sum(1 for m in ms if m > STALL_MS),
        "over_16": sum(1 for m in ms if m > 16.0),
    }


def _stall_child(root: Path, models_dir: Path, clips: list[Path], report: Path, explain: bool, rounds: int) -> None:
    import pytest
    import qasync
    from PySide6.QtWidgets import QApplication

    from stt_studio.ui.app import build_window, settle_the_heap
    from tests.desktop import StallMeter, desktop_env, drop_paths, statuses

    class TickMeter(StallMeter):
        """StallMeter that keeps every tick's lateness and the user step it happened in."""

        def __init__(self, step: list[str]) -> None:
            super().__init__()
            self.step = step
            self.lateness: list[float] = []
            self.long: list[tuple[float, float, str, float, float]] = []
            self.began = time.perf_counter()
            self._cpu = _gui_thread_schedstat()

        def start(self) -> None:
            self.began = time.perf_counter()
            super().start()

        def last_tick(self) -> float:
            return self._last

        def _tick(self) -> None:
            now = time.perf_counter()
            late = now - self._last - self.interval
            self.lateness.append(late)
            cpu = _gui_thread_schedstat()
            if late * 1000 > STALL_MS:
                ran, waited = ((a - b) / 1e6 for a, b in zip(cpu, self._cpu, strict=True))
                self.long.append((now - self.began, late * 1000, self.step[0], ran, waited))
            self._cpu = cpu
            super()._tick()

    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    window = build_window(desktop_env(pytest.MonkeyPatch(), root, models_dir))
    if os.environ.get("STT_BENCH_NO_FREEZE") != "1":  # set: the collector as Python sets it up, to compare
        settle_the_heap(app)  # as run_desktop does (the app owns the collector)
    step = ["start-up"]
    meter = TickMeter(step)
    sampler = StackSampler(meter.last_tick, meter.interval) if explain else None
    names = {clip.name for clip in clips}

    def jobs_done() -> bool:
        current = statuses(window)
        return names <= current.keys() and all(current[n].is_final for n in names)

    async def scenario() -> dict[str, Any]:
        meter.start()
        if sampler is not None:
            sampler.start()
        window.show()
        await window.spawn(window.start())
        step[0] = "drop 3 files"
        drop_paths(window, clips)
        done_at: list[float] = []

        def done() -> bool:
            if not done_at and jobs_done():
                done_at.append(time.perf_counter())
                mark.append(len(meter.lateness))
            return bool(done_at)

        mark: list[int] = []
        rounds_done = await _act_like_a_user(window, step, done, rounds)
        meter.stop()
        seconds = time.perf_counter() - meter.began
        if sampler is not None:
            sampler.stop()
        outcome = {n: s.value for n, s in statuses(window).items() if n in names}
        await _quit(window)
        ms = [late * 1000 for late in meter.lateness]
        return {
            "until_done": {**_tick_stats(ms[: mark[0]]), "seconds": done_at[0] - meter.began},
            "session": {**_tick_stats(ms), "seconds": seconds, "rounds": rounds_done},
            "long": meter.long,
            "jobs": outcome,
            "stacks": sampler.samples.most_common(12) if sampler is not None else [],
            "other_stacks": sampler.others.most_common(8) if sampler is not None else [],
            "thread_states": sampler.states.most_common(8) if sampler is not None else [],
        }

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result = loop.run_until_complete(scenario())
    report.write_text(json.dumps(result))


# --- parts 2 and 3: start-up and idle CPU (child process) --------------------------------------------------------
def _wait_for_worker(store: JobStore, timeout: float = 300.0) -> float:
    from rq import Worker

    deadline = time.monotonic() + timeout
    while Worker.count(queue=store.queue) < 1:
        if time.monotonic() > deadline:
            raise TimeoutError("no worker registered")
        time.sleep(0.02)
    return time.time()


async def _measure_idle(window: MainWindow, settle: float, seconds: float) -> dict[str, float]:
    from tests.test_process_lifetime import _workers_of

    await asyncio.sleep(settle)
    workers = _workers_of(os.getpid())
    server = window._local._server
    valkey = server.pid() if server is not None else None
    others = {"worker": workers, "valkey": [valkey] if valkey else []}

    def sample() -> tuple[float, float, dict[str, float]]:
        own = os.times()
        return (
            time.perf_counter(),
            own.user + own.system,
            {name: sum(_proc_cpu_seconds(p) for p in pids) for name, pids in others.items()},
        )

    t0, app0, rest0 = sample()
    await asyncio.sleep(seconds)
    t1, app1, rest1 = sample()
    wall = t1 - t0
    shares = {"app": (app1 - app0) / wall * 100}
    shares.update({name: (rest1[name] - rest0[name]) / wall * 100 for name in others})
    shares["workers_found"] = float(len(workers))
    return shares


def _start_child(launched: float, report: Path, idle_seconds: float, settle: float) -> None:
    """One start of the app as ``stt-studio gui`` does it (the parent set the environment), timed."""
    from stt_studio.engine.cpu import configure_process_environment

    configure_process_environment()
    import qasync
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from stt_studio.settings import Settings
    from stt_studio.ui.app import build_window
    from stt_studio.ui.service import ServiceStatus

    class FirstPaint(QObject):
        def __init__(self, target: QObject) -> None:
            super().__init__(target)
            self.at: float | None = None
            target.installEventFilter(self)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if self.at is None and event.type() == QEvent.Type.Paint:
                self.at = time.time()
            return False

    marks: dict[str, Any] = {"launched": launched}
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    base = Settings()
    marks["build"] = time.time()
    window = build_window(base)
    marks["built"] = time.time()
    painted = FirstPaint(window)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window.show()

    async def scenario() -> None:
        running = asyncio.get_running_loop()
        first_status: asyncio.Future[float] = running.create_future()
        worker_shown: asyncio.Future[float] = running.create_future()

        def on_status(status: ServiceStatus) -> None:
            if not first_status.done():
                first_status.set_result(time.time())
            if status.workers >= 1 and not worker_shown.done():
                worker_shown.set_result(time.time())

        window.service.status_updated.connect(on_status)
        started = window.spawn(window.start())
        marks["status"] = await asyncio.wait_for(first_status, 120)
        await started
        marks["worker_redis"] = await running.run_in_executor(None, _wait_for_worker, window._local.store)
        marks["worker_shown"] = await asyncio.wait_for(worker_shown, 120)
        while painted.at is None:
            await asyncio.sleep(0.01)
        marks["painted"] = painted.at
        if idle_seconds > 0:
            marks["idle"] = await _measure_idle(window, settle, idle_seconds)
        await _quit(window)

    with loop:
        loop.run_until_complete(scenario())
    report.write_text(json.dumps(marks))


# --- the parent: set-up, children, checks, table -----------------------------------------------------------------
class Children:
    """The benchmark's child processes; any still running at the end (an error, Ctrl-C) is killed."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.pids: list[int] = []
        self.exit_problems: list[str] = []
        self._running: list[subprocess.Popen[bytes]] = []

    def run(self, argv: list[str], env: dict[str, str], name: str, timeout: float) -> dict[str, Any]:
        report = self.work / f"{name}.json"
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.gui", *argv, "--report", str(report)],
                env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            self.pids.append(proc.pid)
            self._running.append(proc)
            try:
                code = proc.wait(timeout)
            finally:
                self._kill(proc)
        if not report.exists():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{name} failed (exit {code}); the end of {log}:\n{tail}")
        if code != 0:  # measured and quit, then failed on the way out (e.g. a crash at interpreter exit)
            self.exit_problems.append(f"{name} exited with {code} after quitting")
        data: dict[str, Any] = json.loads(report.read_text())
        return data

    def _kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # its worker and Valkey are tied to it and go too
            proc.wait()
        self._running.remove(proc)

    def kill_all(self) -> None:
        for proc in list(self._running):
            self._kill(proc)

    def leftovers(self, timeout: float = 20.0) -> list[str]:
        """Valkey servers in the benchmark's dirs and workers of its children still running (killed, then listed)."""
        from tests.test_process_lifetime import _workers_of

        def find() -> dict[int, str]:
            found = {w: f"worker {w} of {parent}" for parent in self.pids for w in _workers_of(parent)}
            pgrep = subprocess.run(["pgrep", "-af", "valkey"], capture_output=True, text=True).stdout
            for line in pgrep.splitlines():
                pid, _, command = line.partition(" ")
                if str(self.work) in command:
                    found[int(pid)] = f"valkey {pid}"
            return found

        deadline = time.monotonic() + timeout
        while (found := find()) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return list(found.values())


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return float(w.getnframes()) / float(w.getframerate())


def _library(data_dir: Path, result: TranscriptionResult, source: Path, count: int) -> None:
    """``count`` finished jobs in the data dir's real layout, written by JobStore (no Redis needed: finished jobs
    past RQ's retention live on disk only): the record ``submit`` writes, then ``save_result``, then the dates."""
    import redis

    from stt_studio.jobs.models import JobOptions
    from stt_studio.jobs.store import JobStore

    store = JobStore(redis.Redis(unix_socket_path=str(data_dir / "unused.sock")), data_dir)  # never connected
    newest = datetime.now(timezone.utc) - timedelta(hours=1)
    for i in range(count):
        created = newest - timedelta(hours=7 * i, minutes=13 * (i % 5))
        job_id, _ = store.new_job_dir()
        store._write_record(
            job_id,
            filename=f"{FILE_STEMS[i % len(FILE_STEMS)]}-{created:%Y-%m-%d}-{i:03d}.wav",
            options=JobOptions().model_dump(),
            created_at=created.isoformat(),
            audio_seconds=result.duration,
            source_path=str(source),
        )
        store.save_result(job_id, result, started_at=created + timedelta(seconds=20))
        store._write_record(job_id, completed_at=(created + timedelta(seconds=30)).isoformat())


def _part_stall(
    children: Children, work: Path, models_dir: Path, jobs: int, explain: bool, rounds: int
) -> dict[str, Any]:
    from stt_studio.engine.pipeline import Engine
    from stt_studio.settings import Settings
    from tests import live
    from tests.speech import SENTENCES, speech_clip

    audio = work / "audio"
    clips = [speech_clip(audio, SENTENCES[a : a + 6], name) for a, name in ((0, "first"), (3, "second"), (6, "third"))]
    library_clip = speech_clip(audio, SENTENCES * 3, "library")  # ~2.5 min
    engine = Engine(Settings(offline=True), model="tiny.en", device="cpu")
    result = engine.transcribe(library_clip)
    del engine
    root = work / "stall"
    t = time.perf_counter()
    _library(root / "data", result, library_clip, jobs)
    written = time.perf_counter() - t
    env = live.service_env(root / "data", models_dir, QT_QPA_PLATFORM="offscreen", STT_CONFIG_DIR=str(root / "config"))
    argv = ["--child-stall", str(root), "--models-dir", str(models_dir), "--rounds", str(rounds),
            *(["--explain"] if explain else []), *map(str, clips)]  # fmt: skip
    measured = children.run(argv, env, "stall", timeout=1200)
    measured["clip_seconds"] = [_wav_seconds(c) for c in clips]
    measured["library_words"] = len(result.text.split())
    measured["library_seconds"] = written
    return measured


def _part_start(children: Children, work: Path, models_dir: Path, idle: float, settle: float) -> list[dict[str, Any]]:
    """STARTS pairs of (cold, warm) starts, each in a fresh process; the last warm one also measures idle CPU."""
    from tests import live

    runs = []
    for i in range(STARTS):
        root = work / f"start{i}"
        env = live.service_env(root / "data", models_dir, QT_QPA_PLATFORM="offscreen",
                               STT_CONFIG_DIR=str(root / "config"))  # fmt: skip
        for kind in ("cold", "warm"):
            idle_here = idle if kind == "warm" and i == STARTS - 1 else 0.0
            argv = ["--child-start", "--launched", repr(time.time()), "--idle", str(idle_here), "--settle", str(settle)]
            marks = children.run(argv, env, f"start{i}-{kind}", timeout=600)
            marks["kind"] = kind
            runs.append(marks)
    return runs


START_COLUMNS = [
    ("launch → painted", "launched", "painted"),
    ("launch → build_window", "launched", "build"),
    ("build → painted", "build", "painted"),
    ("build → first status", "build", "status"),
    ("build → worker ready (Redis)", "build", "worker_redis"),
    ("build → worker in status bar", "build", "worker_shown"),
]


def _start_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str, list[float], float]]:
    rows = []
    for kind in ("cold", "warm"):
        mine = [r for r in runs if r["kind"] == kind]
        for label, a, b in START_COLUMNS:
            values = [r[b] - r[a] for r in mine]
            rows.append((kind, label, values, statistics.median(values)))
    return rows


def _print(
    stall: dict[str, Any] | None,
    starts: list[dict[str, Any]] | None,
    idle: dict[str, float] | None,
    library: int,
    idle_seconds: float,
    wall: float,
    left: list[str],
    exit_problems: list[str],
) -> None:
    print(f"\nGUI benchmark: real window (offscreen Qt), real worker (tiny.en, CPU), {os.cpu_count()} cores; "
          f"run took {wall / 60:.1f} min")  # fmt: skip
    md: list[str] = []
    if stall is not None:
        clips = " + ".join(f"{s:.0f}" for s in stall["clip_seconds"])
        done, session = stall["until_done"], stall["session"]
        print(f"\n1. GUI-thread stalls (lateness of a 10 ms timer), {library}-job library ({stall['library_words']} "
              f"words each), 3 files ({clips} s of speech) transcribing, user steps all along "
              f"({session['rounds']} rounds); target: none over 50 ms")  # fmt: skip
        print(f"   {'span':34} {'seconds':>7} {'ticks':>6} {'worst':>9} {'p99':>8} {'p50':>7} {'>50 ms':>7} "
              f"{'>16 ms':>7}")  # fmt: skip
        for label, span in (("window shown → 3 jobs done", done), ("whole session (rounds finished)", session)):
            print(f"   {label:34} {span['seconds']:7.1f} {span['ticks']:6d} {span['worst_ms']:7.1f}ms "
                  f"{span['p99_ms']:6.1f}ms {span['p50_ms']:5.1f}ms {span['over_50']:7d} "
                  f"{span['over_16']:7d}")  # fmt: skip
        print(f"   jobs: {stall['jobs']}")
        print("   each stall: the GUI thread's time on a CPU and waiting for one (ready to run) since the tick before;")
        print("   the rest of it the thread slept (a lock, the GIL, I/O)")
        for at, ms, step, ran, waited in stall["long"]:
            print(f"   stall {ms:6.1f} ms at {at:6.1f} s (ran {ran:5.1f} ms, waited for a CPU {waited:5.1f} ms) "
                  f"during: {step}")  # fmt: skip
        for stack, count in stall["stacks"]:
            print(f"   GUI thread in {count * SAMPLE_SECONDS * 1000:.0f} ms of samples: {stack}")
        for stack, count in stall["other_stacks"]:
            print(f"   meanwhile, {count * SAMPLE_SECONDS * 1000:.0f} ms of samples: {stack}")
        for states, count in stall.get("thread_states", []):
            print(f"   threads in {count * SAMPLE_SECONDS * 1000:.0f} ms of samples: {states}")
        md += [f"| GUI thread, {library}-job library, 3 jobs + user steps | seconds | worst | p99 | stalls > 50 ms |",
               "|---|---|---|---|---|"]  # fmt: skip
        for label, span in (("window shown → 3 jobs done", done), ("whole session", session)):
            md.append(f"| {label} | {span['seconds']:.0f} | {span['worst_ms']:.0f} ms | {span['p99_ms']:.1f} ms | "
                      f"{span['over_50']} |")  # fmt: skip
        md.append("")
    if starts is not None:
        print(f"\n2. Start-up, a fresh process each (s; medians of {STARTS}, then each run)")
        md += [f"| start-up (median of {STARTS}) | cold | warm |", "|---|---|---|"]
        rows = _start_rows(starts)
        for kind, label, values, median in rows:
            print(f"   {kind:4} {label:30} {median:6.2f}   ({', '.join(f'{v:.2f}' for v in values)})")
        for label, *_ in START_COLUMNS:
            cold = next(m for k, lab, _, m in rows if k == "cold" and lab == label)
            warm = next(m for k, lab, _, m in rows if k == "warm" and lab == label)
            md.append(f"| {label} | {cold:.2f} s | {warm:.2f} s |")
        md.append("")
    if idle is not None:
        print(f"\n3. Idle CPU over {idle_seconds:.0f} s, window open, nothing queued (% of one core; target ~0)")
        print(f"   app {idle['app']:.2f} %   worker {idle['worker']:.2f} % ({idle['workers_found']:.0f} found)   "
              f"valkey {idle['valkey']:.2f} %")  # fmt: skip
        md += ["| idle, window open | app | worker | Valkey |", "|---|---|---|---|",
               f"| CPU, % of one core ({idle_seconds:.0f} s) | {idle['app']:.2f} | {idle['worker']:.2f} | "
               f"{idle['valkey']:.2f} |", ""]  # fmt: skip
    print(f"\nleft running afterwards: {', '.join(left) if left else 'nothing (no valkey, no worker)'}")
    for problem in exit_problems:
        print(f"note: {problem}")
    print("\nFor the README:\n")
    print("\n".join(md))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="stall,start,idle", help="comma-separated: stall, start, idle")
    parser.add_argument("--library", type=int, default=500, help="finished jobs in the library for part 1")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the worker is ready before idling")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of user steps at least (part 1)")
    parser.add_argument("--explain", action="store_true", help="sample the GUI thread's stack during stalls")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data dirs)")
    # the children (one fresh process each)
    parser.add_argument("--child-stall", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-start", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--models-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--idle", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("clips", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_stall is not None:
        _stall_child(args.child_stall, args.models_dir, args.clips, args.report, args.explain, args.rounds)
        return
    if args.child_start:
        _start_child(args.launched, args.report, args.idle, args.settle)
        return

    from stt_studio.engine.cpu import configure_process_environment

    configure_process_environment()
    from stt_studio.settings import Settings

    parts = set(args.parts.split(","))
    if not parts or not parts <= PARTS:
        parser.error(f"--parts takes a comma-separated list of {', '.join(sorted(PARTS))}, not {args.parts!r}")
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="stt-bench-gui-"))
    models_dir = Settings().resolved_models_dir
    children = Children(work)
    stall = starts = None
    idle: dict[str, float] | None = None
    try:
        if "stall" in parts:
            stall = _part_stall(children, work, models_dir, args.library, args.explain, args.rounds)
        if parts & {"start", "idle"}:
            starts = _part_start(children, work, models_dir, args.idle_seconds if "idle" in parts else 0.0,
                                 args.settle)  # fmt: skip
            idle = next((r["idle"] for r in starts if "idle" in r), None)
    finally:
        children.kill_all()
        left = children.leftovers()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _print(stall, starts if "start" in parts else None, idle, args.library, args.idle_seconds,
           time.perf_counter() - began, left, children.exit_problems)  # fmt: skip
    if args.keep:
        print(f"\nwork dir (logs, data): {work}")


if __name__ == "__main__":
    main()
