"""Python's cyclic collector runs on the GUI thread only (stt_studio.ui.gui_thread_gc): garbage made on the GUI
thread and found while a worker thread allocates is freed later, on the GUI thread."""

from __future__ import annotations

import gc
import threading
from typing import ClassVar

from PySide6.QtWidgets import QApplication

from stt_studio.ui.gui_thread_gc import GuiThreadCollector
from tests.desktop import wait_until


class _InACycle:
    """Records the thread that frees it (its ``__del__`` runs when the collector frees the cycle)."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _InACycle.freed_on.append(threading.current_thread().name)


def _allocate_in_a_thread() -> None:
    """Enough new container objects to cross the youngest generation's threshold many times over."""

    def allocate() -> None:
        kept = [[n] for n in range(50 * gc.get_threshold()[0])]
        assert kept

    thread = threading.Thread(target=allocate, name="a worker")
    thread.start()
    thread.join()


def test_garbage_in_cycles_is_freed_on_the_gui_thread_not_in_the_worker(qapp: QApplication) -> None:
    """The test process runs the app's collector (tests/conftest.py); a fresh one here makes this test stand alone."""
    collector = GuiThreadCollector(qapp, interval_ms=50)
    try:
        _InACycle.freed_on.clear()
        _InACycle()  # garbage at once: only the cyclic collector can free it
        _allocate_in_a_thread()
        assert _InACycle.freed_on == []  # the worker's allocations did not collect it there
        wait_until(qapp, lambda: bool(_InACycle.freed_on), 10, "the GUI thread's collection")
        assert _InACycle.freed_on == [threading.main_thread().name]
    finally:
        collector.stop()


def test_stop_gives_back_automatic_collection(qapp: QApplication) -> None:
    was = gc.isenabled()
    gc.enable()
    try:
        collector = GuiThreadCollector(qapp)
        assert not gc.isenabled()
        collector.stop()
        assert gc.isenabled()
    finally:
        gc.enable() if was else gc.disable()
