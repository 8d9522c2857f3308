"""A transcript's segments as a table: Start, Speaker, Text, colored by speaker, with the playing segment and word.

A row is a speaker's turn (consecutive segments of one speaker, ``set_grouped``) or a single segment. The model's
segment API (``segment``, ``playing_row``, ``playing_word``, ``segment_at_time``, ``set_matches``) speaks of the
transcript's segments; Qt's rows are turns, mapped by ``row_of``, ``index_of_segment`` and ``row_word``.

The model shows a result; edits are made elsewhere (``stt_studio.review.editing``) and come back as a new result
through ``update_result``, which changes only the rows that differ (the view keeps its scroll and row heights).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette

from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.review.turns import TurnLayout
from stt_studio.review.words import DEFAULT_LOW_CONFIDENCE, WordRef
from stt_studio.ui.clock import format_clock, format_precise
from stt_studio.ui.speakers import SpeakerPalette, blend, is_dark

ModelIndex = QModelIndex | QPersistentModelIndex

MATCH_COLOR = QColor("#f5c518")  # find matches: amber, apart from every speaker tint and the selection
WORDS_ROLE = Qt.ItemDataRole.UserRole.value + 1
"""Named in dataChanged when only the marks on words changed (the playing word, the words to check)."""
_HIGHLIGHT_ROLES = [Qt.ItemDataRole.BackgroundRole.value, Qt.ItemDataRole.ForegroundRole.value]
_WORD_ROLES = [WORDS_ROLE]


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
        self._grouped = False
        self._turns = TurnLayout([], grouped=False)
        self._rows: list[Segment] = []
        """What each row shows: a segment, or a turn's segments as one."""
        self._starts: list[float] = []
        self._speakers = SpeakerPalette()
        self._playing_row: int | None = None
        self._playing_word: WordRef | None = None
        self._threshold = DEFAULT_LOW_CONFIDENCE
        self._matches: frozenset[int] = frozenset()
        self._match_rows: frozenset[int] = frozenset()
        self._current_match: WordRef | None = None
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

    def update_result(self, result: TranscriptionResult, speakers: SpeakerPalette) -> range:
        """Show ``result``, an edit of the one shown: rows that are the same stay, the rows between the first and
        the last difference are changed, inserted or removed. Returns the rows whose text may have a new height."""
        self._segments = list(result.segments)
        self._turns = TurnLayout(self._segments, grouped=self._grouped)
        old, new = self._rows, [self._turns.row_segment(row) for row in range(len(self._turns))]
        prefix = 0
        while prefix < min(len(old), len(new)) and _same_row(old[prefix], new[prefix]):
            prefix += 1
        suffix = 0
        while suffix < min(len(old), len(new)) - prefix and _same_row(old[-1 - suffix], new[-1 - suffix]):
            suffix += 1
        old_count, new_count = len(old) - prefix - suffix, len(new) - prefix - suffix
        common = min(old_count, new_count)
        if old_count > common:
            self.beginRemoveRows(QModelIndex(), prefix + common, prefix + old_count - 1)
            del self._rows[prefix + common : prefix + old_count]
            self.endRemoveRows()
        elif new_count > common:
            self.beginInsertRows(QModelIndex(), prefix + common, prefix + new_count - 1)
            self._rows[prefix + common : prefix + common] = new[prefix + common : prefix + new_count]
            self.endInsertRows()
        self._rows = new  # rows outside the changed range differ at most in their id, which is not shown
        self._starts = [segment.start for segment in self._segments]
        if self._playing_row is not None and self._playing_row >= len(self._segments):
            self._playing_row = None
        if self._playing_word is not None and self._playing_word.row >= len(self._segments):
            self._playing_word = None
        renamed = speakers.names() != self._speakers.names()
        self._speakers = speakers
        self._tints.clear()
        if common:
            self.dataChanged.emit(self.index(prefix, 0), self.index(prefix + common - 1, len(Column) - 1))
        if renamed and new:
            self.dataChanged.emit(self.index(0, Column.SPEAKER), self.index(len(new) - 1, Column.SPEAKER))
        return range(prefix, prefix + new_count)

    def clear(self) -> None:
        self._reset([], SpeakerPalette())

    def _reset(self, segments: Iterable[Segment], speakers: SpeakerPalette) -> None:
        self.beginResetModel()
        self._segments = list(segments)
        self._turns = TurnLayout(self._segments, grouped=self._grouped)
        self._rows = [self._turns.row_segment(row) for row in range(len(self._turns))]
        self._starts = [segment.start for segment in self._segments]
        self._speakers = speakers
        self._tints.clear()
        self._playing_row = None
        self._playing_word = None
        self._matches = frozenset()
        self._match_rows = frozenset()
        self._current_match = None
        self.endResetModel()

    # Turns

    @property
    def grouped(self) -> bool:
        return self._grouped

    def set_grouped(self, grouped: bool) -> None:
        """One row per speaker turn (consecutive segments of one speaker), or one per segment."""
        if grouped == self._grouped:
            return
        self._grouped = grouped
        playing_row, playing_word, matches = self._playing_row, self._playing_word, self._matches
        current_match = self._current_match
        self._reset(self._segments, self._speakers)
        self._playing_row, self._playing_word, self._current_match = playing_row, playing_word, current_match
        self.set_matches(matches)

    def row_of(self, segment: int) -> int:
        """The row that shows segment ``segment``."""
        return self._turns.row_of(segment)

    def segments_of(self, row: int) -> range:
        """The segments row ``row`` shows."""
        return self._turns.segments_of(row)

    def index_of_segment(self, segment: int, column: int = Column.TEXT) -> QModelIndex:
        return self.index(self._turns.row_of(segment), column)

    def row_segment(self, row: int) -> Segment:
        """What row ``row`` shows, as one segment (a turn's text and words in order)."""
        return self._rows[row]

    def row_word(self, ref: WordRef) -> WordRef:
        """The transcript's word ``ref`` as (row, its place among the row's words)."""
        return self._turns.to_row_word(ref)

    def segment_word(self, row: int, word: int) -> WordRef:
        """Word ``word`` of row ``row`` as the transcript's (segment, word)."""
        return self._turns.to_segment_word(row, word)

    def segment(self, row: int) -> Segment:
        """The transcript's segment ``row`` (not necessarily Qt's row ``row``: see ``row_segment``)."""
        return self._segments[row]

    def segment_count(self) -> int:
        return len(self._segments)

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
        """The segment playing (by its number in the transcript)."""
        return self._playing_row

    def set_playing_row(self, segment: int | None) -> None:
        if segment == self._playing_row:
            return
        previous, self._playing_row = self._playing_row, segment
        rows = {self._shown_row(changed) for changed in (previous, segment)}
        for row in rows - {None}:
            self._emit_row_changed(row)  # type: ignore[arg-type]

    def playing_display_row(self) -> int | None:
        """The row of the segment playing."""
        return self._shown_row(self._playing_row)

    @property
    def playing_word(self) -> WordRef | None:
        """The transcript's word being said."""
        return self._playing_word

    def playing_row_word(self) -> WordRef | None:
        """The word being said as (row, its place among the row's words)."""
        return self._row_word_of(self._playing_word)

    def set_playing_word(self, ref: WordRef | None) -> None:
        """The word being said, highlighted; only its row (and the row it leaves) is repainted."""
        if ref == self._playing_word:
            return
        previous, self._playing_word = self._playing_word, ref
        rows = {self._shown_row(changed.row) for changed in (previous, ref) if changed is not None}
        for row in rows - {None}:
            self._emit_row_changed(row, _WORD_ROLES)  # type: ignore[arg-type]

    @property
    def threshold(self) -> float:
        """Words scored under this are marked as left to check."""
        return self._threshold

    def set_threshold(self, threshold: float) -> None:
        if threshold == self._threshold:
            return
        self._threshold = threshold
        if self._rows:
            self.dataChanged.emit(self.index(0, Column.TEXT), self.index(len(self._rows) - 1, Column.TEXT))

    @property
    def matches(self) -> frozenset[int]:
        """The segments that match the find text."""
        return self._matches

    def set_matches(self, segments: Iterable[int]) -> None:
        """Segments that match the find text: their rows are tinted amber; only the rows whose state changed are
        repainted."""
        new = frozenset(segments)
        changed = new ^ self._matches
        self._matches = new
        self._match_rows = frozenset(row for segment in new if (row := self._shown_row(segment)) is not None)
        for row in {self._shown_row(segment) for segment in changed} - {None}:
            self._emit_row_changed(row)  # type: ignore[arg-type]

    @property
    def current_match(self) -> WordRef | None:
        """The word find went to last (marked in its row)."""
        return self._current_match

    def current_match_row_word(self) -> WordRef | None:
        return self._row_word_of(self._current_match)

    def set_current_match(self, ref: WordRef | None) -> None:
        if ref == self._current_match:
            return
        previous, self._current_match = self._current_match, ref
        for row in {self._shown_row(changed.row) for changed in (previous, ref) if changed is not None} - {None}:
            self._emit_row_changed(row, _WORD_ROLES)  # type: ignore[arg-type]

    def _shown_row(self, segment: int | None) -> int | None:
        if segment is None or not 0 <= segment < len(self._segments):
            return None
        return self._turns.row_of(segment)

    def _row_word_of(self, ref: WordRef | None) -> WordRef | None:
        if ref is None or not 0 <= ref.row < len(self._segments):
            return None
        return self._turns.to_row_word(ref)

    def set_colors(self, palette: QPalette) -> None:
        """Follow the application's palette (light or dark)."""
        self._base = palette.color(QPalette.ColorRole.Base)
        dark = is_dark(self._base)
        self._playing_color = blend(self._base, palette.color(QPalette.ColorRole.Highlight), 0.45 if dark else 0.3)
        self._match_color = blend(self._base, MATCH_COLOR, 0.3 if dark else 0.32)
        self._tints.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))

    def _emit_row_changed(self, row: int, roles: list[int] = _HIGHLIGHT_ROLES) -> None:
        # Only the colors change. Naming those roles keeps the view from measuring every row's height again on
        # each call (rows resize to their contents): 1.8 s of GUI thread per find keystroke on 600 segments.
        if 0 <= row < len(self._rows):
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1), roles)

    # QAbstractTableModel

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == Column.TEXT:
            flags |= Qt.ItemFlag.ItemIsEditable  # the view's editor commits through the review's undo stack
        return flags

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 3:
            return HEADERS[Column(section)]
        return None

    def data(self, index: ModelIndex, role: int = DISPLAY) -> Any:
        # called tens of times per visible cell: plain int comparisons, unhandled roles out first
        if role not in HANDLED_ROLES or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not 0 <= row < len(self._rows):
            return None
        segment = self._rows[row]
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
        if self._playing_row is not None and row == self._shown_row(self._playing_row):
            return self._playing_color
        if row in self._match_rows:
            return self._match_color
        if segment.speaker is None:
            return None
        tint = self._tints.get(segment.speaker)
        if tint is None:
            tint = self._tints[segment.speaker] = self._speakers.tint(segment.speaker, self._base)
        return tint

    def segment_tooltip(self, segment: int) -> str:
        """Segment ``segment``'s speaker and times (a sentence of a turn, on hover)."""
        return self._tooltip(self._segments[segment])

    def _tooltip(self, segment: Segment) -> str:
        length = segment.end - segment.start
        times = f"{format_precise(segment.start)} \u2013 {format_precise(segment.end)} ({length:.2f} s)"
        name = self._speakers.display_name(segment.speaker)
        return f"{name} · {times}" if name else times


def _same_row(a: Segment, b: Segment) -> bool:
    """The same row on screen: the same segment, or a copy of it with another id (its words shared)."""
    if a is b:
        return True
    if a.text != b.text or a.speaker != b.speaker or a.start != b.start or a.end != b.end:
        return False
    if a.words is b.words:
        return True
    same_words = len(a.words) == len(b.words) and all(x is y for x, y in zip(a.words, b.words, strict=True))
    return same_words or a.words == b.words
