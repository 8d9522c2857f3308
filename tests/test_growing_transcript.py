"""The growing transcript's view on made-up segments (no worker): batches are appended, never rebuilt, so the user's
selection and scroll position stay; a batch read twice adds nothing; find counts the new rows too."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pytestqt.qtbot import QtBot

from stt_studio.engine.result import Segment
from stt_studio.ui.growing.view import STILL_TRANSCRIBING, GrowingTranscriptView, progress_line

pytestmark = pytest.mark.no_qt_log  # the player's media threads log while pytest-qt swaps its handler


def _batch(first: int, count: int) -> list[Segment]:
    return [
        Segment(id=i, start=i * 7.0, end=i * 7.0 + 5, text=f"Sentence number {i} is about the office.")
        for i in range(first, first + count)
    ]


def test_batches_append_below_the_selection_and_scroll_position(qtbot: QtBot) -> None:
    view = GrowingTranscriptView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    view.start("talk.wav", None)
    view.add(_batch(0, 12), 80.0, 300.0)
    assert view.notice.text() == progress_line(80.0, 300.0) == f"{STILL_TRANSCRIBING} · 1:20 of 5:00 so far"
    view.table.setFixedHeight(90)
    qtbot.wait(10)
    view.table.selectRow(3)
    view.table.verticalScrollBar().setValue(view.table.verticalScrollBar().maximum() // 2)
    scrolled = view.table.verticalScrollBar().value()
    assert scrolled > 0

    view.add(_batch(8, 8), 120.0, 300.0)  # overlaps the last read: only ids 12..15 are new
    assert [s.id for s in view.model.segments] == list(range(16))
    assert view.table.currentIndex().row() == 3
    assert view.table.verticalScrollBar().value() == scrolled

    view.find_bar.find_edit.setText("number 14")
    assert view.find_bar.count_label.text() == "1 of 1" and view.table.currentIndex().row() == 14
    view.find_bar.find_edit.setText("number 1")  # 1, 10..15
    assert view.find_bar.count_label.text() == "1 of 7"
    view.add(_batch(16, 1), 130.0, None)  # a match comes with the next batch
    assert view.find_bar.count_label.text() == "1 of 8"
    assert view.notice.text() == f"{STILL_TRANSCRIBING} · 2:10 so far"
