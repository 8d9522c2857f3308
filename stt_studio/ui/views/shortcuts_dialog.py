"""Help → Keyboard shortcuts: one table of what each key does, grouped as the menus are."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stt_studio.ui.shortcuts import ShortcutRow

VISIBLE_ROWS = 16
_ROOM = 24
"""Pixels beside the widest texts, so that none is elided."""


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[ShortcutRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, entry in enumerate(rows):
            for column, text in enumerate((entry.group, entry.name, entry.keys)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._fit_table(len(rows))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def _fit_table(self, rows: int) -> None:
        """The table as wide as its columns' text, and tall enough for VISIBLE_ROWS (the rest scroll)."""
        table = self.table
        table.resizeColumnsToContents()
        frame = 2 * table.frameWidth()
        width = sum(table.columnWidth(c) for c in range(table.columnCount())) + frame
        width += table.verticalScrollBar().sizeHint().width() + _ROOM
        shown = min(rows, VISIBLE_ROWS)
        height = table.horizontalHeader().sizeHint().height() + frame
        height += sum(table.rowHeight(r) for r in range(shown))
        table.setMinimumSize(width, height)

    def rows(self) -> list[tuple[str, str, str]]:
        """What the table shows (tests read it)."""

        def text(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1), text(r, 2)) for r in range(self.table.rowCount())]
