"""The Qt binding must not drop references to None/True/False: PySide6 6.12.0 on Python 3.11 did, in
QApplication.processEvents and in the cross-thread signal qasync uses for every executor result, until the
interpreter aborted (``none_dealloc``) — after about 2.5 h of an idle window. pyproject.toml keeps such a release
out; this test catches the next one."""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtWidgets import QApplication

from tests.desktop import desktop_app, qasync_loop, release_loop

_ALLOWED_DRIFT = 100  # a few stray references come and go; the broken release lost one or more per call


def _drift() -> int:
    return sys.getrefcount(None) + sys.getrefcount(True) + sys.getrefcount(False)


def test_event_processing_keeps_references(qapp: QApplication) -> None:
    before = _drift()
    for _ in range(3000):
        qapp.processEvents()
    assert abs(_drift() - before) < _ALLOWED_DRIFT


def test_executor_results_keep_references(qapp: QApplication) -> None:
    loop = qasync_loop(desktop_app(qapp))
    pool = ThreadPoolExecutor(2)
    done: list[int] = []

    async def many() -> None:
        before = _drift()
        for _ in range(1000):
            await loop.run_in_executor(pool, lambda: None)
        done.append(_drift() - before)

    task = asyncio.ensure_future(many())
    while not done:
        qapp.processEvents()
    assert task.done() and abs(done[0]) < _ALLOWED_DRIFT, done
    pool.shutdown()
    release_loop(loop)
