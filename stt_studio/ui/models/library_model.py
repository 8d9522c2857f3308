"""The library table: every finished job in the data dir, and a proxy that searches it."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QObject, QSortFilterProxyModel, Qt

from stt_studio.jobs.models import JobStatus, LibraryEntry
from stt_studio.ui.clock import format_clock
from stt_studio.ui.models.filtering import change_row_filter
from stt_studio.ui.models.job_table import SORT_ROLE, STATUS_LABELS, Index, JobTableModel


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


def _date(entry: LibraryEntry) -> datetime | None:
    return entry.created_at or entry.completed_at


def _one_line(text: str) -> str:
    return " ".join(text.split())


class LibraryTableModel(JobTableModel):
    """Sorts itself, with one key per row: sorted by a QSortFilterProxyModel, every comparison calls ``data``
    twice from C++, which took the GUI thread 40-100 ms for 500 jobs on every sort, reload and search keystroke
    (benchmarks/gui.py)."""

    headers = HEADERS
    right_aligned = frozenset({Column.DURATION, Column.SPEAKERS})

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[LibraryEntry] = []
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        self.beginResetModel()
        self._entries = [entries[row] for row in self._order(entries)]
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column, self._sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        old_rows = self._order(self._entries)
        new_row = {old: new for new, old in enumerate(old_rows)}
        self._entries = [self._entries[row] for row in old_rows]
        moved = self.persistentIndexList()
        self.changePersistentIndexList(moved, [self.index(new_row[i.row()], i.column()) for i in moved])
        self.layoutChanged.emit()

    def _order(self, entries: list[LibraryEntry]) -> list[int]:
        """The rows of ``entries`` in the current sort order (stable; the given order when unsorted)."""
        if self._sort_column < 0:
            return list(range(len(entries)))
        column = Column(self._sort_column)
        keys = [self._sort_value(entry, column) for entry in entries]
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        return sorted(range(len(entries)), key=keys.__getitem__, reverse=descending)

    def entry(self, row: int) -> LibraryEntry:
        return self._entries[row]

    def entries(self) -> list[LibraryEntry]:
        return list(self._entries)

    # --- cells ---------------------------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self._entries)

    def job_id_at(self, row: int) -> str:
        return self._entries[row].job_id

    def display(self, row: int, column: int) -> str:
        return self._display(self._entries[row], Column(column))

    def sort_value(self, row: int, column: int) -> Any:
        return self._sort_value(self._entries[row], Column(column))

    def tooltip(self, row: int, column: int) -> str | None:
        return self._tooltip(self._entries[row], Column(column))

    @staticmethod
    def _display(entry: LibraryEntry, column: Column) -> str:
        if column == Column.DATE:
            moment = _date(entry)
            return _local(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else ""
        if column == Column.FILE:
            return entry.filename
        if column == Column.DURATION:
            return format_clock(entry.audio_seconds) if entry.audio_seconds is not None else "—"
        if column == Column.LANGUAGE:
            return entry.language or "—"
        if column == Column.SPEAKERS:
            return str(entry.speakers) if entry.speakers is not None else "—"
        if column == Column.STATUS:
            return STATUS_LABELS[entry.status]
        # a failed job has no transcript: what went wrong is the most useful preview
        return _one_line(entry.preview or entry.error or "")

    @staticmethod
    def _sort_value(entry: LibraryEntry, column: Column) -> Any:
        # one type per column: the proxy compares these raw values; unknown values sort first
        if column == Column.DATE:
            moment = _date(entry)
            return _local(moment).timestamp() if moment is not None else float("-inf")
        if column == Column.DURATION:
            return entry.audio_seconds if entry.audio_seconds is not None else -1.0
        if column == Column.SPEAKERS:
            return entry.speakers if entry.speakers is not None else -1
        if column == Column.STATUS:
            return list(JobStatus).index(entry.status)
        return LibraryTableModel._display(entry, column).casefold()

    @staticmethod
    def _tooltip(entry: LibraryEntry, column: Column) -> str | None:
        if column == Column.FILE:
            return entry.source_path or entry.filename
        if column == Column.STATUS and entry.error:
            return entry.error
        if column == Column.PREVIEW:
            return entry.preview or entry.error or None
        return None


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
