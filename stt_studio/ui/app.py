"""Start the desktop app: Qt + qasync, the local job service, the main window."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from stt_studio.settings import Settings
from stt_studio.ui.gui_thread_gc import GuiThreadCollector
from stt_studio.ui.preferences import PREFERENCES_FILE, Preferences
from stt_studio.ui.secrets import TokenStore
from stt_studio.ui.service import LocalJobService
from stt_studio.ui.single_instance import SingleInstance
from stt_studio.ui.views.main_window import MainWindow


def settle_the_heap(app: QApplication) -> GuiThreadCollector:
    """Call once the window is built, before it is shown; keep what it returns while the app runs.

    Keeps the objects that live as long as the app (modules, classes, the window's widgets: ~150,000) out of the
    garbage collector's full passes. Each such pass walked all of them while holding the GIL: 80-105 ms during
    which the GUI thread could not run a line of Python (the window's first stall at start-up, then one every few
    seconds of work); 3-4 ms after this. And from now on the collector runs on the GUI thread only
    (``gui_thread_gc``)."""
    gc.freeze()
    return GuiThreadCollector(app)


def build_window(base: Settings) -> MainWindow:
    """The main window on this machine's queue, from the saved preferences (not started yet)."""
    preferences = load_preferences(base)
    tokens = TokenStore(base.config_dir)
    token = tokens.get() or base.hf_token
    settings = preferences.settings(base, token)
    service = LocalJobService(
        settings,
        workers=preferences.workers,
        worker_env=preferences.worker_env(token),
        default_options=preferences.job_options(),
    )
    return MainWindow(service, preferences, base.config_dir, tokens, base)


def run_desktop(base: Settings, files: list[Path] | None = None) -> int:
    """Open the window (queueing ``files`` once it has started) and run until the user quits; returns the exit
    code."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("STT Studio")
    app.setDesktopFileName("stt-studio")
    app.setQuitOnLastWindowClosed(False)  # the window may close while jobs go on in the background
    instance = SingleInstance(base.data_dir)
    if instance.hand_over(files or []):
        return 0
    instance.listen()
    window = build_window(base)
    collector = settle_the_heap(app)
    instance.activated.connect(window.activate_with)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window.quit_finished.connect(loop.stop)
    # Ctrl-C, `kill`, a logout: quit as from the menu (workers stopped, Valkey shut down cleanly). Python runs the
    # handler the next time the event loop runs Python code (the queue poll does at least every 2 s).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.quit_now())
    window.show()
    window.models.welcome_if_first_start()
    with loop:
        window.spawn(window.start(files or []))
        loop.run_forever()
    collector.stop()
    return 0


def load_preferences(base: Settings) -> Preferences:
    """The saved preferences; on a first start, the environment's settings (WHISPER_MODEL_SIZE, …) are the
    defaults."""
    if (base.config_dir / PREFERENCES_FILE).exists():
        return Preferences.load(base.config_dir)
    return Preferences(
        model=base.whisper_model_size, device=base.whisper_device, compute_type=base.compute_type, welcome_shown=False
    )
