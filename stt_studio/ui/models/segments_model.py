"""A transcript's segments as a read-only table: Start, Speaker, Text, colored by speaker."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette

from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.ui.clock import format_clock, format_precise
from stt_studio.ui.speakers import SpeakerPalette, blend, is_dark

ModelIndex = QModelIndex | QPersistentModelIndex

MATCH_COLOR = QColor("#f5c518")  # find matches: amber, apart from every speaker tint and the selection
_HIGHLIGHT_ROLES = [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole]


class Column(IntEnum):
    START = 0
    SPEAKER = 1
    TEXT = 2


HEADERS = {Column.START: "Start", Column.SPEAKER: "Speaker", Column.TEXT: "Text"}

DISPLAY = Qt.ItemDataRole.DisplayRole.value
BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
FONT = Qt.ItemDataRole.FontRole.value
TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
HANDLED_ROLES = frozenset({DISPLAY, BACKGROUND, FOREGROUND, FONT, TOOLTIP, ALIGNMENT})
START_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
TEXT_ALIGNMENT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop


class SegmentsTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []
        self._starts: list[float] = []
        self._speakers = SpeakerPalette()
        self._playing_row: int | None = None
        self._matches: frozenset[int] = frozenset()
        self._bold = QFont()
        self._bold.setBold(True)
        self._base = QColor()
        self._playing_color = QColor()
        self._match_color = QColor()
        self._tints: dict[str, QColor] = {}
        self.set_colors(QGuiApplication.palette())

    # Content

    def set_result(self, result: TranscriptionResult, speakers: SpeakerPalette) -> None:
        self._reset(result.segments, speakers)

    def clear(self) -> None:
        self._reset([], SpeakerPalette())

    def _reset(self, segments: Iterable[Segment], speakers: SpeakerPalette) -> None:
        self.beginResetModel()
        self._segments = list(segments)
        self._starts = [segment.start for segment in self._segments]
        self._speakers = speakers
        self._tints.clear()
        self._playing_row = None
        self._matches = frozenset()
        self.endResetModel()

    def segment(self, row: int) -> Segment:
        return self._segments[row]

    @property
    def speakers(self) -> SpeakerPalette:
        return self._speakers

    def segment_at_time(self, seconds: float) -> int | None:
        """The row of the segment playing at ``seconds``: the last one started by then, if it has not ended
        (None in the pauses between segments)."""
        row = bisect_right(self._starts, seconds) - 1
        if row < 0 or seconds >= self._segments[row].end:
            return None
        return row

    # Highlights

    @property
    def playing_row(self) -> int | None:
        return self._playing_row

    def set_playing_row(self, row: int | None) -> None:
        if row == self._playing_row:
            return
        previous, self._playing_row = self._playing_row, row
        for changed in (previous, row):
            if changed is not None:
                self._emit_row_changed(changed)

    @property
    def matches(self) -> frozenset[int]:
        return self._matches

    def set_matches(self, rows: Iterable[int]) -> None:
        """Rows that match the find text, tinted amber; only the rows whose state changed are repainted."""
        new = frozenset(rows)
        changed = new ^ self._matches
        self._matches = new
        for row in changed:
            self._emit_row_changed(row)

    def set_colors(self, palette: QPalette) -> None:
        """Follow the application's palette (light or dark)."""
        self._base = palette.color(QPalette.ColorRole.Base)
        dark = is_dark(self._base)
        self._playing_color = blend(self._base, palette.color(QPalette.ColorRole.Highlight), 0.45 if dark else 0.3)
        self._match_color = blend(self._base, MATCH_COLOR, 0.3 if dark else 0.32)
        self._tints.clear()
        if self._segments:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._segments) - 1, len(Column) - 1))

    def _emit_row_changed(self, row: int) -> None:
        # Only the colors change. Naming those roles keeps the view from measuring every row's height again on
        # each call (rows resize to their contents): 1.8 s of GUI thread per find keystroke on 600 segments.
        if 0 <= row < len(self._segments):
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1), _HIGHLIGHT_ROLES)

    # QAbstractTableModel

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._segments)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 3:
            return HEADERS[Column(section)]
        return None

    def data(self, index: ModelIndex, role: int = DISPLAY) -> Any:
        # called tens of times per visible cell: plain int comparisons, unhandled roles out first
        if role not in HANDLED_ROLES or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not 0 <= row < len(self._segments):
            return None
        segment = self._segments[row]
        if role == DISPLAY:
            if column == Column.START:
                return format_clock(segment.start)
            if column == Column.SPEAKER:
                return self._speakers.display_name(segment.speaker)
            return segment.text.strip()
        if role == BACKGROUND:
            return self._background(row, segment)
        if role == ALIGNMENT:
            return START_ALIGNMENT if column == Column.START else TEXT_ALIGNMENT
        if column == Column.SPEAKER:
            if role == FOREGROUND:
                background = self._background(row, segment) or self._base
                return self._speakers.text_color(segment.speaker, background)
            if role == FONT:
                return self._bold
        if role == TOOLTIP:
            return self._tooltip(segment)
        return None

    def _background(self, row: int, segment: Segment) -> QColor | None:
        if row == self._playing_row:
            return self._playing_color
        if row in self._matches:
            return self._match_color
        if segment.speaker is None:
            return None
        tint = self._tints.get(segment.speaker)
        if tint is None:
            tint = self._tints[segment.speaker] = self._speakers.tint(segment.speaker, self._base)
        return tint

    def _tooltip(self, segment: Segment) -> str:
        length = segment.end - segment.start
        times = f"{format_precise(segment.start)} \u2013 {format_precise(segment.end)} ({length:.2f} s)"
        name = self._speakers.display_name(segment.speaker)
        return f"{name} · {times}" if name else times
