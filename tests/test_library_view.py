from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from stt_studio.jobs.models import JobStatus, LibraryEntry
from stt_studio.ui.models import library_model
from stt_studio.ui.models.job_table import JOB_ID_ROLE, SORT_ROLE
from stt_studio.ui.models.library_model import ROWS_BUILT_AT_ONCE, Column
from stt_studio.ui.views.library_view import EMPTY_TEXT, SEARCH_DELAY_MS, LibraryView

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _entry(filename: str, seconds: float | None = 60.0, *, day: int = 1, **fields: object) -> LibraryEntry:
    return LibraryEntry.model_validate(
        {
            "job_id": str(uuid.uuid4()),
            "status": JobStatus.COMPLETED,
            "filename": filename,
            "created_at": datetime(2024, 3, day, 10, 0, tzinfo=timezone.utc),
            "audio_seconds": seconds,
            "preview": f"transcript of {filename}",
            **fields,
        }
    )


ENTRIES = [
    _entry("Team meeting.wav", 3540.0, day=1),  # 59:00
    _entry("interview.mp3", 3600.0, day=2),  # 1:00:00: sorts after 59:00, though "1:…" < "59:…" as text
    _entry("MEETING notes.m4a", 5.0, day=3),
    _entry("lecture.mp4", None, day=4),
    _entry("broken.wav", None, day=5, status=JobStatus.FAILED, error="Could not decode\nthe file"),
]


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[LibraryView]:
    widget = LibraryView()
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.set_entries(ENTRIES)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def _shown_ids(view: LibraryView) -> list[str]:
    return [view.proxy.index(row, 0).data(JOB_ID_ROLE) for row in range(view.proxy.rowCount())]


def _column(view: LibraryView, column: Column) -> list[str]:
    return [view.proxy.index(row, column).data() for row in range(view.proxy.rowCount())]


def _select_rows(view: LibraryView, *rows: int) -> None:
    selection = view.table.selectionModel()
    selection.clearSelection()
    selection.setCurrentIndex(view.proxy.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate)
    for row in rows:
        selection.select(
            view.proxy.index(row, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        )


def test_newest_first_and_count(view: LibraryView) -> None:
    assert _shown_ids(view) == [e.job_id for e in reversed(ENTRIES)]
    assert view.count_label.text() == "5 jobs"
    assert view.pages.currentWidget() is view.table


def test_cells(view: LibraryView, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+5:30
    time.tzset()
    try:
        view.set_entries([ENTRIES[0], ENTRIES[4]])
        assert _column(view, Column.DATE) == ["2024-03-05 15:30", "2024-03-01 15:30"]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert _column(view, Column.DURATION) == ["—", "59:00"]
    assert _column(view, Column.STATUS) == ["Failed", "Done"]
    assert _column(view, Column.PREVIEW) == ["transcript of broken.wav", "transcript of Team meeting.wav"]
    failed_without_preview = ENTRIES[4].model_copy(update={"preview": ""})
    view.set_entries([failed_without_preview])
    assert _column(view, Column.PREVIEW) == ["Could not decode the file"]  # one line


def test_sorting_by_duration_uses_seconds(view: LibraryView) -> None:
    view.table.sortByColumn(Column.DURATION, Qt.SortOrder.AscendingOrder)
    assert _column(view, Column.DURATION)[2:] == ["0:05", "59:00", "1:00:00"]
    view.table.sortByColumn(Column.DURATION, Qt.SortOrder.DescendingOrder)
    assert _column(view, Column.DURATION)[:3] == ["1:00:00", "59:00", "0:05"]


def test_sorting_by_file_ignores_case(view: LibraryView) -> None:
    view.table.sortByColumn(Column.FILE, Qt.SortOrder.AscendingOrder)
    assert _column(view, Column.FILE) == [
        "broken.wav",
        "interview.mp3",
        "lecture.mp4",
        "MEETING notes.m4a",
        "Team meeting.wav",
    ]


def test_filter_by_file_name(view: LibraryView) -> None:
    view.search.setText("meeting")
    assert sorted(_column(view, Column.FILE)) == ["MEETING notes.m4a", "Team meeting.wav"]
    assert view.count_label.text() == "2 of 5 jobs"
    view.search.clear()
    assert view.proxy.rowCount() == 5


def test_filter_by_transcript_matches(view: LibraryView) -> None:
    view.search.setText("budget")
    assert view.proxy.rowCount() == 0
    view.show_matches("budget", {ENTRIES[1].job_id, ENTRIES[3].job_id})
    assert sorted(_column(view, Column.FILE)) == ["interview.mp3", "lecture.mp4"]


def test_transcript_matches_add_to_file_name_matches(view: LibraryView) -> None:
    view.search.setText("meeting")
    view.show_matches("meeting", {ENTRIES[3].job_id})
    assert sorted(_column(view, Column.FILE)) == ["MEETING notes.m4a", "Team meeting.wav", "lecture.mp4"]


def test_stale_matches_are_dropped(view: LibraryView) -> None:
    view.search.setText("budget")
    view.search.setText("budget plan")
    view.show_matches("budget", {ENTRIES[1].job_id})
    assert view.proxy.rowCount() == 0
    assert "Searching" in view.empty_label.text()
    view.show_matches("budget plan", set())
    assert view.pages.currentWidget() is view.empty_label
    assert "budget plan" in view.empty_label.text()


def test_search_is_debounced(view: LibraryView, qtbot: QtBot) -> None:
    emitted: list[str] = []
    view.search_changed.connect(emitted.append)
    for text in ("b", "bu", "bud", "budget "):
        view.search.setText(text)
    qtbot.wait(SEARCH_DELAY_MS // 2)
    assert emitted == []
    qtbot.waitUntil(lambda: emitted != [], timeout=2000)
    qtbot.wait(SEARCH_DELAY_MS + 100)
    assert emitted == ["budget"]


def test_double_click_and_enter_open(view: LibraryView, qtbot: QtBot) -> None:
    opened: list[str] = []
    view.open_requested.connect(opened.append)
    rect = view.table.visualRect(view.proxy.index(1, Column.FILE))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    _select_rows(view, 2)
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert opened == [_shown_ids(view)[1], _shown_ids(view)[2]]


def test_delete_key_asks_for_the_selection(view: LibraryView, qtbot: QtBot) -> None:
    requested: list[list[str]] = []
    view.delete_requested.connect(requested.append)
    _select_rows(view, 3, 0)
    qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    ids = _shown_ids(view)
    assert requested == [[ids[0], ids[3]]]


def _trigger(menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isEnabled()
    action.trigger()


def test_context_menu_actions(view: LibraryView) -> None:
    exported: list[list[str]] = []
    revealed: list[str] = []
    deleted: list[list[str]] = []
    view.export_requested.connect(exported.append)
    view.reveal_requested.connect(revealed.append)
    view.delete_requested.connect(deleted.append)
    ids = _shown_ids(view)
    _select_rows(view, 1, 2)
    menu = view.build_menu()
    assert not next(a for a in menu.actions() if a.text() == "Show file in folder").isEnabled()
    _trigger(menu, "Export…")
    _trigger(menu, "Delete…")
    _select_rows(view, 4)
    _trigger(view.build_menu(), "Show file in folder")
    assert exported == [[ids[1], ids[2]]]
    assert deleted == [[ids[1], ids[2]]]
    assert revealed == [ids[4]]


def test_selection_survives_a_refresh(view: LibraryView) -> None:
    _select_rows(view, 1)
    kept = view.selected_job_ids()
    view.set_entries([*ENTRIES, _entry("new.wav", day=9)])
    assert view.selected_job_ids() == kept


def test_empty_state(view: LibraryView) -> None:
    view.set_entries([])
    assert view.pages.currentWidget() is view.empty_label
    assert view.empty_label.text() == EMPTY_TEXT
    assert view.count_label.text() == "0 jobs"
    view.set_entries(ENTRIES[:1])
    assert view.pages.currentWidget() is view.table
    assert view.count_label.text() == "1 job"


def _library(count: int, stem: str = "call") -> list[LibraryEntry]:
    return [_entry(f"{stem}-{i:03d}.wav", float(i), day=1 + i % 28) for i in range(count)]


def test_drawing_the_library_runs_no_python_model_code(view: LibraryView, qtbot: QtBot) -> None:
    """Every repaint asks the model for ~1,200 cells × roles at 500 jobs: answered in Python, that was 40-130 ms
    of GUI thread (and GIL) per scroll, selection or tab switch (issue 27). The cells live in Qt's own items."""
    view.set_entries(_library(60))
    qtbot.waitUntil(lambda: not view.model.loading)
    models = str(Path(library_model.__file__).parent)
    entered: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(models):
            entered.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        for _ in range(3):
            view.table.verticalScrollBar().setValue(view.table.verticalScrollBar().value() + 10)
            view.table.selectRow(3)
            view.table.viewport().grab()
    finally:
        sys.setprofile(None)
    assert view.proxy.rowCount() == 60 and not entered, entered[:5]


def test_a_large_library_is_made_a_batch_at_a_time(view: LibraryView, qtbot: QtBot) -> None:
    rows = ROWS_BUILT_AT_ONCE * 2 + 50
    view.set_entries(_library(rows))
    assert view.model.rowCount() == ROWS_BUILT_AT_ONCE and view.model.loading  # the rest in later turns
    view.set_entries(_library(rows, stem="meeting"))  # given again while loading: the newest list wins
    qtbot.waitUntil(lambda: not view.model.loading)
    shown = _column(view, Column.FILE)
    assert len(shown) == rows and all(name.startswith("meeting-") for name in shown)
    dates = [view.proxy.index(row, Column.DATE).data(SORT_ROLE) for row in range(rows)]
    assert dates == sorted(dates, reverse=True)  # newest first, like the first batch
    assert view.count_label.text() == f"{rows} jobs"


def test_a_reload_changes_only_the_rows_that_changed(view: LibraryView) -> None:
    def items() -> dict[str, QStandardItem]:
        return {view.model.job_id_at(row): view.model.item(row, Column.FILE) for row in range(view.model.rowCount())}

    before = items()
    more_speakers = ENTRIES[1].model_copy(update={"speakers": 3})
    new = _entry("new.wav", day=9)
    view.set_entries([ENTRIES[0], more_speakers, *ENTRIES[2:4], new])  # broken.wav gone
    after = items()
    assert after.keys() == {*(e.job_id for e in ENTRIES[:4]), new.job_id}
    assert all(after[e.job_id] is before[e.job_id] for e in ENTRIES[:4])  # the same Qt items: not made again
    assert _shown_ids(view)[0] == new.job_id  # the newest first
    row = _shown_ids(view).index(more_speakers.job_id)
    assert view.proxy.index(row, Column.SPEAKERS).data() == "3"
