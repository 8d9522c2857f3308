"""The library: every finished job, searchable by file name and (through the caller) by transcript text."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from stt_studio.jobs.models import LibraryEntry
from stt_studio.ui.models.job_table import JOB_ID_ROLE
from stt_studio.ui.models.library_model import Column, LibraryFilterProxy, LibraryTableModel

SEARCH_DELAY_MS = 250
EMPTY_TEXT = "No finished jobs yet. Drop audio files on the window to start."

_COLUMN_WIDTHS = {
    Column.DATE: 122,
    Column.FILE: 170,
    Column.DURATION: 64,
    Column.LANGUAGE: 68,
    Column.SPEAKERS: 68,
    Column.STATUS: 64,
}


class _MiddleElideDelegate(QStyledItemDelegate):
    """File names lose their middle, not their end: the extension and a trailing number or date stay visible."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle  # type: ignore[attr-defined]


class _LibraryTable(QTableView):
    """Enter opens the current row, Delete asks to delete the selection."""

    open_pressed = Signal()
    delete_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_pressed.emit()
        elif event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Delete:
            self.delete_pressed.emit()
        else:
            super().keyPressEvent(event)


class LibraryView(QWidget):
    search_changed = Signal(str)
    """The query (stripped, '' when cleared), SEARCH_DELAY_MS after the last keystroke: search the transcripts
    and answer with ``show_matches``."""
    open_requested = Signal(str)
    delete_requested = Signal(list)
    """Job ids; the receiver asks the user to confirm."""
    export_requested = Signal(list)
    reveal_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LibraryTableModel(self)
        self.proxy = LibraryFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search file names and transcripts")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._query_edited)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self.search_changed.emit(self.current_query()))
        self.count_label = QLabel()

        self.table = _LibraryTable()
        self._setup_table()
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty_label)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        self._update_state()

    def _setup_table(self) -> None:
        table = self.table
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(Column.DATE, Qt.SortOrder.DescendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setItemDelegateForColumn(Column.FILE, _MiddleElideDelegate(table))
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.PREVIEW, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)
        for column, width in _COLUMN_WIDTHS.items():
            table.setColumnWidth(column, width)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._show_menu)
        table.doubleClicked.connect(self._open_index)
        table.open_pressed.connect(lambda: self._open_index(table.currentIndex()))
        table.delete_pressed.connect(self._request_delete)
        self.proxy.rowsInserted.connect(self._update_state)
        self.proxy.rowsRemoved.connect(self._update_state)
        self.proxy.modelReset.connect(self._update_state)
        self.proxy.layoutChanged.connect(self._update_state)

    # --- the caller's side -----------------------------------------------------------------------------------
    def set_entries(self, entries: list[LibraryEntry]) -> None:
        """Replace the list (the selection is kept for the jobs still there)."""
        selected = set(self.selected_job_ids())
        self.model.set_entries(entries)
        self._select(selected)
        self._update_state()

    def show_matches(self, query: str, job_ids: set[str]) -> None:
        """The transcript search's answer for ``query``; dropped when the user has typed on since."""
        if query.strip() != self.current_query():
            return
        self.proxy.set_query(query, job_ids)
        self._update_state()

    def current_query(self) -> str:
        return self.search.text().strip()

    def selected_job_ids(self) -> list[str]:
        """The selected jobs in the order the table shows them."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.proxy.index(row, 0).data(JOB_ID_ROLE) for row in rows]

    # --- inside ------------------------------------------------------------------------------------------------
    def _query_edited(self, text: str) -> None:
        # File names filter at once; transcript matches come with show_matches once the search has run.
        self.proxy.set_query(text, None)
        self._search_timer.start()
        self._update_state()

    def _select(self, job_ids: set[str]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(JOB_ID_ROLE) in job_ids:
                selection.select(
                    index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
                )

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_requested.emit(index.siblingAtColumn(0).data(JOB_ID_ROLE))

    def _request_delete(self) -> None:
        job_ids = self.selected_job_ids()
        if job_ids:
            self.delete_requested.emit(job_ids)

    def build_menu(self) -> QMenu:
        """The context menu for the current selection (built apart from showing it, so tests can use it)."""
        job_ids = self.selected_job_ids()
        menu = QMenu(self)
        open_action = menu.addAction("Open")
        open_action.setEnabled(len(job_ids) == 1)
        open_action.triggered.connect(lambda: self.open_requested.emit(job_ids[0]))
        export_action = menu.addAction("Export…")
        export_action.setEnabled(bool(job_ids))
        export_action.triggered.connect(lambda: self.export_requested.emit(job_ids))
        reveal_action = menu.addAction("Show file in folder")
        reveal_action.setEnabled(len(job_ids) == 1)
        reveal_action.triggered.connect(lambda: self.reveal_requested.emit(job_ids[0]))
        menu.addSeparator()
        delete_action = menu.addAction("Delete…")
        delete_action.setEnabled(bool(job_ids))
        delete_action.triggered.connect(lambda: self.delete_requested.emit(job_ids))
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.table.selectRow(index.row())
        menu = self.build_menu()
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _update_state(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        noun = "job" if total == 1 else "jobs"
        self.count_label.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")
        if total == 0:
            self.empty_label.setText(EMPTY_TEXT)
            self.pages.setCurrentWidget(self.empty_label)
        elif shown == 0 and not self.proxy.transcripts_searched:
            self.empty_label.setText("No file name matches. Searching the transcripts…")
            self.pages.setCurrentWidget(self.empty_label)
        elif shown == 0:
            self.empty_label.setText(f"No file name or transcript contains “{self.current_query()}”.")
            self.pages.setCurrentWidget(self.empty_label)
        else:
            self.pages.setCurrentWidget(self.table)
