"""The library table: every finished job in the data dir, and a proxy that searches it."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from enum import IntEnum

from PySide6.QtCore import QObject, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel

from stt_studio.jobs.models import JobStatus, LibraryEntry
from stt_studio.ui.clock import format_clock
from stt_studio.ui.models.filtering import change_row_filter
from stt_studio.ui.models.job_table import JOB_ID_ROLE, RIGHT_ALIGNMENT, SORT_ROLE, STATUS_LABELS, Index


class Column(IntEnum):
    DATE = 0
    FILE = 1
    DURATION = 2
    LANGUAGE = 3
    SPEAKERS = 4
    STATUS = 5
    PREVIEW = 6


HEADERS = ("Date", "File", "Duration", "Language", "Speakers", "Status", "Preview")


def _local(moment: datetime) -> datetime:
    """Stored times are UTC; a naive one (older records) is taken as UTC too."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone()


def _time_zone() -> tuple[str, ...]:
    return (*time.tzname, str(time.timezone))


def _date(entry: LibraryEntry) -> datetime | None:
    return entry.created_at or entry.completed_at


def _one_line(text: str) -> str:
    return " ".join(text.split())


class LibraryTableModel(QStandardItemModel):
    """Every cell is a Qt item made once per entry, so drawing, scrolling, selecting and sorting the library run in
    Qt's C++ code alone: a Python model is asked for about 1,200 cells × roles per repaint of a 1280×800 window,
    each call a trip through the interpreter that also has to win the GIL from the app's busy threads, which took
    the GUI thread 40-130 ms per scroll, selection or tab switch at 500 jobs (benchmarks/gui.py). Rows sort in C++
    on their raw values (SORT_ROLE); a reload changes only the rows whose entry changed."""

    right_aligned = frozenset({Column.DURATION, Column.SPEAKERS})

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.setSortRole(SORT_ROLE)
        self._by_id: dict[str, LibraryEntry] = {}
        self._zone = _time_zone()
        self._unbuilt: list[LibraryEntry] = []
        self._build_timer = QTimer(self)
        self._build_timer.setSingleShot(True)
        self._build_timer.setInterval(0)
        self._build_timer.timeout.connect(self._build_more)
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        """Show ``entries``: all rows made anew when most of them are new (the first load, another queue), else
        the changed, gone and new rows alone."""
        new = {entry.job_id: entry for entry in entries}
        kept = new.keys() & self._by_id.keys()
        zone = _time_zone()
        if len(kept) * 2 < len(new) or zone != self._zone or self._unbuilt:  # dates are shown in local time
            self._replace_all(entries)
        else:
            self._update_rows(new)
        self._by_id, self._zone = new, zone

    def _replace_all(self, entries: list[LibraryEntry]) -> None:
        """The first ROWS_BUILT_AT_ONCE rows now, the others a batch per turn of the event loop: making the items
        of 100 rows took the GUI thread ~40 ms at start-up, while the worker loads its model."""
        self.beginResetModel()
        blocked = self.blockSignals(True)  # the reset tells the views; no signal per row or for the sort
        try:
            self.setRowCount(0)
            for entry in entries[:ROWS_BUILT_AT_ONCE]:
                self.appendRow(self._items(entry))
            self._sort_rows()
        finally:
            self.blockSignals(blocked)
        self.endResetModel()
        self._unbuilt = entries[ROWS_BUILT_AT_ONCE:]
        if self._unbuilt:
            self._build_timer.start()

    def _build_more(self) -> None:
        batch, self._unbuilt = self._unbuilt[:ROWS_BUILT_AT_ONCE], self._unbuilt[ROWS_BUILT_AT_ONCE:]
        for entry in batch:
            self.appendRow(self._items(entry))
        self._sort_rows()
        if self._unbuilt:
            self._build_timer.start()

    @property
    def loading(self) -> bool:
        """Whether rows of the last entries given are still being made."""
        return bool(self._unbuilt)

    def _update_rows(self, new: dict[str, LibraryEntry]) -> None:
        changed = False
        for row in reversed(range(self.rowCount())):
            job_id = self.job_id_at(row)
            entry = new.get(job_id)
            if entry is None:
                self.removeRow(row)
            elif entry != self._by_id[job_id]:
                self._fill(row, entry)
                changed = True
        for job_id in new.keys() - self._by_id.keys():
            self.appendRow(self._items(new[job_id]))
            changed = True
        if changed:
            self._sort_rows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        self._sort_rows()

    def _sort_rows(self) -> None:
        if self._sort_column >= 0:
            super().sort(self._sort_column, self._sort_order)

    def _items(self, entry: LibraryEntry) -> list[QStandardItem]:
        items = [QStandardItem() for _ in Column]
        items[0].setData(entry.job_id, JOB_ID_ROLE)
        for column in self.right_aligned:
            items[column].setData(RIGHT_ALIGNMENT, Qt.ItemDataRole.TextAlignmentRole)
        _set_cells(items, entry)
        return items

    def _fill(self, row: int, entry: LibraryEntry) -> None:
        _set_cells([self.item(row, column) for column in Column], entry)

    # --- reading ---------------------------------------------------------------------------------------------
    def job_id_at(self, row: int) -> str:
        job_id: str = self.item(row, 0).data(JOB_ID_ROLE)
        return job_id

    def entry(self, row: int) -> LibraryEntry:
        return self._by_id[self.job_id_at(row)]

    def entries(self) -> list[LibraryEntry]:
        """In the order shown."""
        return [self.entry(row) for row in range(self.rowCount())]


ROWS_BUILT_AT_ONCE = 25
_CELL_CHARACTERS = 400
"""More than a window's width of text: a cell's text is measured to be elided at every repaint."""


def _set_cells(items: list[QStandardItem], entry: LibraryEntry) -> None:
    """Each cell's text, its raw value for sorting (one type per column, compared by Qt; unknown values sort
    first) and its tooltip."""
    moment = _date(entry)
    local = _local(moment) if moment is not None else None
    seconds, speakers = entry.audio_seconds, entry.speakers
    # a failed job has no transcript: what went wrong is the most useful preview
    preview = _one_line(entry.preview or entry.error or "")[:_CELL_CHARACTERS]
    texts = (
        f"{local:%Y-%m-%d %H:%M}" if local is not None else "",
        entry.filename,
        format_clock(seconds) if seconds is not None else "—",
        entry.language or "—",
        str(speakers) if speakers is not None else "—",
        STATUS_LABELS[entry.status],
        preview,
    )
    keys = (
        local.timestamp() if local is not None else float("-inf"),
        texts[Column.FILE].casefold(),
        seconds if seconds is not None else -1.0,
        texts[Column.LANGUAGE].casefold(),
        speakers if speakers is not None else -1,
        _STATUS_ORDER[entry.status],
        preview.casefold(),
    )
    for column, item in enumerate(items):
        item.setText(texts[column])
        item.setData(keys[column], SORT_ROLE)
    for column, tip in _tooltips(entry).items():
        items[column].setToolTip(tip)


_STATUS_ORDER = {status: order for order, status in enumerate(JobStatus)}


def _tooltips(entry: LibraryEntry) -> dict[Column, str]:
    tips = {Column.FILE: entry.source_path or entry.filename, Column.PREVIEW: entry.preview or entry.error or ""}
    tips[Column.STATUS] = entry.error or ""
    return tips


class LibraryFilterProxy(QSortFilterProxyModel):
    """Shows the rows whose file name contains the query or whose transcript matched it, in the source model's
    order: sorting is passed on to the source model, which sorts by raw values."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._query = ""
        self._transcript_matches: set[str] = set()
        self._transcripts_searched = False

    @property
    def query(self) -> str:
        return self._query

    @property
    def transcripts_searched(self) -> bool:
        """Whether the transcript matches for the current query are in."""
        return self._transcripts_searched

    def set_query(self, query: str, transcript_matches: set[str] | None = None) -> None:
        """``transcript_matches``: job ids whose transcript contains the query; None: not searched (yet)."""
        def change() -> None:
            self._query = query.strip().casefold()
            self._transcript_matches = set(transcript_matches or ())
            self._transcripts_searched = transcript_matches is not None

        change_row_filter(self, change)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if model is not None:
            model.sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._query:
            return True
        model = self.sourceModel()
        assert isinstance(model, LibraryTableModel)
        entry = model.entry(source_row)
        return self._query in entry.filename.casefold() or entry.job_id in self._transcript_matches
