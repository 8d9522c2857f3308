"""Python's cyclic garbage collector, run on the GUI thread only.

CPython collects in whichever thread crosses an allocation threshold: in this app the job-event listener, the
executors' threads or a live recording's thread. A collection there that frees a widget or a timer caught in a
reference cycle (a lambda slot that holds its window is one) deletes a QObject off the GUI thread, and Qt crashes,
at once or later (a CI run's test process died in a segfault this way). So automatic collection is off, and a timer
on the GUI thread collects each generation when its threshold is crossed, as Python would have: the pattern of
calibre, pyqtgraph and novelWriter."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


def collect_due() -> int:
    """Collect the youngest generation, or the oldest one whose threshold is crossed (as the automatic collector
    would); the number of objects found unreachable.

    The young one is collected even below its threshold: a worker thread's burst of allocations, freed again before
    the timer looks, would have made Python collect there, and the cycles it found would otherwise wait."""
    thresholds = gc.get_threshold()
    counts = gc.get_count()
    due = [generation for generation in range(3) if counts[generation] > thresholds[generation]]
    if not due and counts[0] == 0:
        return 0
    return gc.collect(due[-1] if due else 0)


class GuiThreadCollector(QObject):
    """Turns automatic collection off while it lives and collects from a timer of the thread that made it (make it
    on the GUI thread). ``stop()`` turns automatic collection back on."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(collect_due)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
