"""A running job's transcript as it is made: a line that says it is not finished, the segments so far (appended a
batch at a time, never rebuilt, so the user's scroll position and selection stay; replaced once by the aligned ones,
the selection and the scroll position kept by audio time), find, and a player for the part already done (a row's
click or Enter plays from its start)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from stt_studio.engine.result import Segment
from stt_studio.ui.clock import format_clock
from stt_studio.ui.speakers import is_dark
from stt_studio.ui.views.find_bar import FindBar
from stt_studio.ui.views.player import PlayerBar

STILL_TRANSCRIBING = "Still transcribing — speakers come at the end"
WORDS_ALIGNED = "Word times are in — speakers come at the end"
WORDS_ALIGNED_FINISHING = "Word times are in — finishing"
LIGHT_NOTICE = "background: #e8f1fb; color: #0b3a66; border: 1px solid #8db8e6; border-radius: 4px; padding: 6px;"
DARK_NOTICE = "background: #10304f; color: #cfe4fa; border: 1px solid #3d6d9e; border-radius: 4px; padding: 6px;"
MATCH_COLOR = QColor("#f5c518")
REFIT_DELAY_MS = 80
"""Rows are measured again this long after the Text column last changed width (once at the end of a resize)."""
ModelIndex = QModelIndex | QPersistentModelIndex


def progress_line(until: float, duration: float | None) -> str:
    """e.g. "Still transcribing — speakers come at the end · 1:23 of 3:46 so far"."""
    if duration:
        return f"{STILL_TRANSCRIBING} · {format_clock(until)} of {format_clock(duration)} so far"
    return f"{STILL_TRANSCRIBING} · {format_clock(until)} so far"


def aligned_line(speakers: bool) -> str:
    """The notice once the aligned segments are shown (``speakers``: the job finds speakers after them)."""
    return WORDS_ALIGNED if speakers else WORDS_ALIGNED_FINISHING


class GrowingSegmentsModel(QAbstractTableModel):
    """Start and Text of the segments so far; appended to, replaced once by the aligned ones (or emptied for another
    job)."""

    HEADERS = ("Start", "Text")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.segments: list[Segment] = []
        self.matches: frozenset[int] = frozenset()

    def append(self, segments: Sequence[Segment]) -> range:
        """Add the segments not shown yet (by id: a batch read twice adds nothing); the rows added."""
        next_id = self.segments[-1].id + 1 if self.segments else 0
        new = [s for s in segments if s.id >= next_id]
        first = len(self.segments)
        if new:
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self.segments.extend(new)
            self.endInsertRows()
        return range(first, first + len(new))

    def clear(self) -> None:
        self.replace([])

    def replace(self, segments: Sequence[Segment]) -> None:
        self.beginResetModel()
        self.segments = list(segments)
        self.matches = frozenset()
        self.endResetModel()

    def row_at_time(self, seconds: float) -> int | None:
        """The row of the segment said at ``seconds``, else (in a pause) the next one, else the last; None when
        there are no rows."""
        if not self.segments:
            return None
        row = bisect_right([s.start for s in self.segments], seconds) - 1
        if row >= 0 and seconds < self.segments[row].end:
            return row
        return min(row + 1, len(self.segments) - 1)

    def set_matches(self, rows: Sequence[int]) -> None:
        changed = self.matches.symmetric_difference(rows)
        self.matches = frozenset(rows)
        for row in changed:
            self.dataChanged.emit(self.index(row, 0), self.index(row, 1), [Qt.ItemDataRole.BackgroundRole])

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self.segments)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        segment = self.segments[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_clock(segment.start) if index.column() == 0 else segment.text
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        if role == Qt.ItemDataRole.BackgroundRole and index.row() in self.matches:
            return MATCH_COLOR
        if role == Qt.ItemDataRole.ForegroundRole and index.row() in self.matches:
            return QColor("#000000")
        return None


class GrowingTranscriptView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = QLabel(self)
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title_label.setFont(font)
        self.notice = QLabel(STILL_TRANSCRIBING, self)
        self.notice.setWordWrap(True)
        self.player = PlayerBar(self)
        self.find_bar = FindBar(self)
        self.model = GrowingSegmentsModel(self)
        self.words_aligned = False
        """The rows are the aligned segments (with word times), which replaced the decoded ones."""
        self.table = QTableView(self)
        self._configure_table()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.title_label)
        layout.addWidget(self.notice)
        layout.addWidget(self.player.video)
        layout.addWidget(self.player)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.table, 1)

        self._match_rows: list[int] = []
        self._match_index: int | None = None
        self.find_bar.query_changed.connect(lambda _: self._find())
        self.find_bar.next_requested.connect(lambda: self._step_match(1))
        self.find_bar.previous_requested.connect(lambda: self._step_match(-1))
        self.find_bar.install_shortcuts(self)
        self.table.clicked.connect(lambda index: self.play_row(index.row()))
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            enter = QShortcut(QKeySequence(key), self.table)
            enter.setContext(Qt.ShortcutContext.WidgetShortcut)
            enter.setWhatsThis("Play the selected segment")  # the transcript view's own, in Help → Keyboard shortcuts
            enter.activated.connect(lambda: self.play_row(self.table.currentIndex().row()))
        self.apply_colors()

    def _configure_table(self) -> None:
        table = self.table
        table.setModel(self.model)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # review opens once it is finished
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setWordWrap(True)
        table.setShowGrid(False)
        table.setFrameShape(QFrame.Shape.StyledPanel)
        table.verticalHeader().hide()
        # rows are sized as they are appended, never all again (ResizeToContents would measure every row per batch)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(REFIT_DELAY_MS)
        self._refit.timeout.connect(table.resizeRowsToContents)
        header.sectionResized.connect(self._on_column_resized)

    def _on_column_resized(self, column: int, old_width: int, new_width: int) -> None:
        if column == 1 and old_width != new_width:
            self._refit.start()  # restarted while a resize goes on: the rows are measured once, at its end

    # --- what the controller calls ----------------------------------------------------------------------------
    def start(self, title: str, media: Path | None) -> None:
        """Show another job's transcript so far, from nothing."""
        self.title_label.setText(title)
        self.notice.setText(STILL_TRANSCRIBING)
        self.words_aligned = False
        self.model.clear()
        self._find()
        self.player.load(media)

    def add(self, segments: Sequence[Segment], until: float, duration: float | None) -> None:
        """Append a batch: the rows already there, the scroll position and the selection are left as they are."""
        added = self.model.append(segments)
        for row in added:
            self.table.resizeRowToContents(row)
        self.notice.setText(progress_line(until, duration))
        if added and self.find_bar.query().strip():
            self._refresh_matches()

    def replace_with_aligned(self, segments: Sequence[Segment], notice: str) -> None:
        """Show the aligned segments instead of the decoded ones, in one go: the selected row and the one at the top
        (to the pixel within it) become those said at the same audio times, whatever their new row numbers."""
        top_row = self.table.rowAt(0)
        top, selected = self.top_time(), self.selected_time()
        into_top = -self.table.rowViewportPosition(top_row) if top_row >= 0 else 0
        self.model.replace(segments)
        self.words_aligned = True
        self.table.resizeRowsToContents()
        self.table.updateGeometries()  # the scroll range of the new rows now, not at the next layout
        if selected is not None and (row := self.model.row_at_time(selected)) is not None:
            self.table.selectRow(row)
        if top is not None and (row := self.model.row_at_time(top)) is not None:
            header = self.table.verticalHeader()
            within = min(into_top, max(0, header.sectionSize(row) - 1))
            self.table.verticalScrollBar().setValue(header.sectionPosition(row) + within)
        self.notice.setText(notice)
        if self.find_bar.query().strip():
            self._refresh_matches()
            current = self.table.currentIndex().row()
            self._match_index = self._match_rows.index(current) if current in self._match_rows else None
            self.find_bar.set_count(self._match_index, len(self._match_rows))

    def top_time(self) -> float | None:
        """The start of the segment at the top of the view (where the user is reading), if any."""
        row = self.table.rowAt(0)
        return self.model.segments[row].start if 0 <= row < len(self.model.segments) else None

    def selected_time(self) -> float | None:
        """The start of the selected segment, if one is."""
        row = self.table.currentIndex().row() if self.table.selectionModel().hasSelection() else -1
        return self.model.segments[row].start if 0 <= row < len(self.model.segments) else None

    def play_row(self, row: int) -> None:
        if 0 <= row < len(self.model.segments):
            self.player.play_from(self.model.segments[row].start)

    # --- find -------------------------------------------------------------------------------------------------
    def _find(self) -> None:
        self._match_index = None
        self._refresh_matches()
        if self._match_rows:
            self._select_match(0)

    def _refresh_matches(self) -> None:
        needle = self.find_bar.query().strip().casefold()
        segments = self.model.segments
        self._match_rows = [row for row, s in enumerate(segments) if needle and needle in s.text.casefold()]
        self.model.set_matches(self._match_rows)
        self.find_bar.set_count(self._match_index, len(self._match_rows))

    def _step_match(self, step: int) -> None:
        if self._match_rows:
            start = self._match_index if self._match_index is not None else (-1 if step > 0 else 0)
            self._select_match((start + step) % len(self._match_rows))

    def _select_match(self, match_index: int) -> None:
        self._match_index = match_index
        row = self._match_rows[match_index]
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 1), QAbstractItemView.ScrollHint.PositionAtCenter)
        self.find_bar.set_count(match_index, len(self._match_rows))

    def apply_colors(self) -> None:
        dark = is_dark(self.palette().color(QPalette.ColorRole.Window))
        self.notice.setStyleSheet(DARK_NOTICE if dark else LIGHT_NOTICE)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.apply_colors()
        super().changeEvent(event)
