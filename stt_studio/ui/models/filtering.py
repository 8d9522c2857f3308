"""Changing what a QSortFilterProxyModel lets through, on every Qt version the app supports."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel


def change_row_filter(proxy: QSortFilterProxyModel, change: Callable[[], None]) -> None:
    """Apply ``change`` (which alters the proxy's filter state) and re-filter the rows. Qt 6.10 replaced
    invalidateRowsFilter (deprecated since) by begin/endFilterChange; 6.8 and 6.9 only have the former."""
    if hasattr(proxy, "beginFilterChange"):
        proxy.beginFilterChange()
        change()
        proxy.endFilterChange(QSortFilterProxyModel.Direction.Rows)
    else:
        change()
        proxy.invalidateRowsFilter()
