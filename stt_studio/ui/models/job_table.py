"""What the queue and the library tables share: roles, status labels, and the Qt model plumbing over rows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from stt_studio.jobs.models import JobStatus

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""A column's raw value (seconds, counts, an order), for sorting."""
JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 2

STATUS_LABELS = {
    JobStatus.QUEUED: "Queued",
    JobStatus.PROCESSING: "Running",
    JobStatus.COMPLETED: "Done",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELED: "Canceled",
}

RIGHT_ALIGNMENT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class JobTableModel(QAbstractTableModel):
    """A table with one job per row. Subclasses say how many rows there are and what each cell shows."""

    headers: tuple[str, ...] = ()
    right_aligned: frozenset[int] = frozenset()

    def row_count(self) -> int:
        raise NotImplementedError

    def job_id_at(self, row: int) -> str:
        raise NotImplementedError

    def display(self, row: int, column: int) -> Any:
        raise NotImplementedError

    def sort_value(self, row: int, column: int) -> Any:
        return str(self.display(row, column)).casefold()

    def tooltip(self, row: int, column: int) -> str | None:
        return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, column)
        if role == SORT_ROLE:
            return self.sort_value(row, column)
        if role == JOB_ID_ROLE:
            return self.job_id_at(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.right_aligned:
            return RIGHT_ALIGNMENT
        return None
