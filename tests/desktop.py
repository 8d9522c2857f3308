"""Driving the real desktop window in tests and benchmarks: its environment, drops, and the GUI stall meter."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QStyle, QStyleOptionFrame, QWidget

from stt_studio.jobs.models import JobStatus
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.views.main_window import MainWindow
from tests import live


def desktop_env(monkeypatch: pytest.MonkeyPatch, root: Path, models_dir: Path) -> Settings:
    """Point the app (and the workers it spawns, which inherit the environment) at a private data and config
    dir, the tiny.en model on the CPU, offline."""
    for key in list(os.environ):
        if key.startswith(("REDIS_", "STT_", "HF_TOKEN")):
            monkeypatch.delenv(key)
    for key, value in live.service_env(root / "data", models_dir).items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("STT_CONFIG_DIR", str(root / "config"))
    return Settings()


def qasync_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """An asyncio loop on the Qt event loop that pytest-qt's waits drive (qtbot.waitUntil processes events)."""
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    return loop


def release_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close a loop made by ``qasync_loop``. Its ``stop()`` would call QApplication.exit(), after which every
    later wait of pytest-qt in this process returns at once (measured: the player tests time out), so the
    "running" mark that ``already_running`` set is taken back directly."""
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


def open_window(base: Settings) -> MainWindow:
    window = build_window(base)
    window.show()
    window.spawn(window.start())
    return window


class Desktop:
    """Opens windows on one data dir; whatever a test leaves running (a failed test too) is shut down after it."""

    def __init__(self, app: QApplication, base: Settings) -> None:
        self.app = app
        self.base = base
        self.loop = qasync_loop(app)
        self.windows: list[MainWindow] = []

    def open(self) -> MainWindow:
        window = open_window(self.base)
        self.windows.append(window)
        return window

    def quit(self, window: MainWindow, *, after_current_job: bool = False) -> None:
        done: list[bool] = []
        window.quit_finished.connect(lambda: done.append(True))
        window.quit_now(after_current_job=after_current_job)
        wait_until(self.app, lambda: bool(done), 300, "the app to quit")

    def close(self) -> None:
        for window in self.windows:
            if not window.has_quit:
                self.quit(window)
            window.deleteLater()
        self.app.processEvents()
        release_loop(self.loop)


def desktop_app(qapp: object) -> QApplication:
    assert isinstance(qapp, QApplication)
    qapp.setQuitOnLastWindowClosed(False)
    return qapp


def drop_paths(target: QWidget, paths: list[Path]) -> None:
    """A real drag-and-drop of ``paths`` onto ``target`` (enter, then drop), as a file manager sends it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = target.rect().center()
    enter = QDragEnterEvent(QPoint(center), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(target, drop)


def placeholder_shortfall(edit: QLineEdit) -> int:
    """How many pixels of ``edit``'s placeholder are cut off as it is laid out now (0: all of it shows): the
    style's text rectangle, less QLineEdit's own 2 px each side and the text margins, against the font metrics."""
    option = QStyleOptionFrame()
    edit.initStyleOption(option)
    contents = edit.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, edit)
    margins = edit.textMargins()
    room = contents.width() - margins.left() - margins.right() - 4
    return max(0, edit.fontMetrics().horizontalAdvance(edit.placeholderText()) - room)


def statuses(window: MainWindow) -> dict[str, JobStatus]:
    return {job.filename or job.job_id: job.status for job in window.queue_model.jobs()}


class StallMeter:
    """The GUI thread's longest stall: a 10 ms timer's worst lateness while the window works."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.interval = interval_ms / 1000
        self.worst = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start(int(self.interval * 1000))

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last - self.interval)
        self._last = now
        self.ticks += 1


def wait_until(app: QApplication, check: Callable[[], bool], timeout: float, what: str) -> None:
    """Process Qt (and so asyncio) events until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.01)
