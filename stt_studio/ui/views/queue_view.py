"""The queue: every job of this session with live progress; sort, filter by status, act on a selection."""

from __future__ import annotations

import math

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QFontMetricsF, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from stt_studio.jobs.models import JobStatus
from stt_studio.ui.models.job_table import JOB_ID_ROLE, STATUS_LABELS
from stt_studio.ui.models.queue_model import STAGE_TEXTS, Column, QueueFilterProxy, QueueTableModel

_FILTERS: list[tuple[str, set[JobStatus] | None]] = [
    ("All jobs", None),
    ("Queued or running", {JobStatus.QUEUED, JobStatus.PROCESSING}),
    ("Queued", {JobStatus.QUEUED}),
    ("Running", {JobStatus.PROCESSING}),
    ("Done", {JobStatus.COMPLETED}),
    ("Failed or canceled", {JobStatus.FAILED, JobStatus.CANCELED}),
]

_COLUMN_WIDTHS = {
    Column.FILE: 128,
    Column.DURATION: 64,
    Column.STATUS: 70,
    Column.STAGE: 104,
    Column.PROGRESS: 96,
    Column.ELAPSED: 60,
    Column.REMAINING: 72,
    Column.MODEL: 74,
    Column.SPEAKERS: 66,
}


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a progress bar."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(Qt.ItemDataRole.DisplayRole)
        if not isinstance(value, int):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(4, 4, -4, -4)  # type: ignore[attr-defined]
        bar.minimum = 0
        bar.maximum = 100
        bar.progress = value
        bar.text = f"{value} %"
        bar.textVisible = True
        bar.state = option.state | QStyle.StateFlag.State_Horizontal  # type: ignore[attr-defined]
        style = option.widget.style() if option.widget is not None else QApplication.style()  # type: ignore[attr-defined]
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class QueueView(QWidget):
    open_requested = Signal(str)
    selection_changed = Signal()

    def __init__(self, model: QueueTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = QueueFilterProxy(self)
        self.proxy.setSourceModel(model)

        self.filter_combo = QComboBox()
        for label, _ in _FILTERS:
            self.filter_combo.addItem(label)
        self.filter_combo.currentIndexChanged.connect(lambda i: self.proxy.set_statuses(_FILTERS[i][1]))
        self.count_label = QLabel()

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the order jobs were added, until a click
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(60)
        # A stretched File column shrinks to its minimum once the other columns fill the pane (the default window
        # is 1280 wide): give it a width, and the others only what their longest values need.
        for column, width in _COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        # Columns whose every value is known are as wide as the longest (at 104 px, "Finding speakers" read
        # "Findin…eakers"); the font decides, not a guess in pixels.
        self._fit_column(Column.STAGE, STAGE_TEXTS)
        self._fit_column(Column.STATUS, list(STATUS_LABELS.values()))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self.table.doubleClicked.connect(lambda index: self.open_requested.emit(index.data(JOB_ID_ROLE)))
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        self._menu_actions: list[QAction | None] = []

        model.rowsInserted.connect(self._update_count)
        model.rowsRemoved.connect(self._update_count)
        model.dataChanged.connect(self._update_count)

        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._update_count()

    def cell_text_room(self, column: int) -> int:
        """The pixels a cell of ``column`` has for its text: the item view keeps a margin on each side."""
        margin = self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table) + 1
        grid = 1 if self.table.showGrid() else 0
        return self.table.columnWidth(column) - 2 * margin - grid

    def _fit_column(self, column: int, texts: list[str]) -> None:
        metrics = QFontMetricsF(self.table.font())
        needed = max(math.ceil(metrics.horizontalAdvance(text)) + 1 for text in texts)  # + 1: Qt elides at equal
        short_by = needed - self.cell_text_room(column)
        if short_by > 0:
            self.table.setColumnWidth(column, self.table.columnWidth(column) + short_by)

    def set_menu_actions(self, actions: list[QAction | None]) -> None:
        """The context menu (None: a separator); the actions carry the shortcuts of the main menu."""
        self._menu_actions = actions

    def _show_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for action in self._menu_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _update_count(self, *_: object) -> None:
        jobs = self.model.jobs()
        active = sum(1 for j in jobs if not j.status.is_final)
        noun = "job" if len(jobs) == 1 else "jobs"
        self.count_label.setText(f"{len(jobs)} {noun}, {active} waiting or running" if jobs else "No jobs yet")

    def selected_job_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [str(index.data(JOB_ID_ROLE)) for index in sorted(rows, key=lambda i: i.row())]

    def select_jobs(self, job_ids: list[str]) -> None:
        wanted = set(job_ids)
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(JOB_ID_ROLE) in wanted:
                selection.select(index, flags)
                self.table.scrollTo(index)
