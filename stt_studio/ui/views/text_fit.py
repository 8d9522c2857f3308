"""Line edits wide enough for the hint they show: a placeholder cut off mid-word reads as a different instruction."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLineEdit, QStyle, QStyleOptionFrame

_PROBE_WIDTH = 1000
_QT_TEXT_MARGIN = 2
"""QLineEdit keeps this many pixels free on each side of its text, inside the style's contents rectangle."""


def text_room(edit: QLineEdit, width: int | None = None) -> int:
    """The pixels ``edit`` has for its text when it is ``width`` wide (default: as wide as it is now)."""
    option = QStyleOptionFrame()
    edit.initStyleOption(option)
    option.rect = QRect(0, 0, edit.width() if width is None else width, max(edit.height(), 1))
    contents = edit.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, edit)
    margins = edit.textMargins()
    return contents.width() - margins.left() - margins.right() - 2 * _QT_TEXT_MARGIN


def fit_placeholder(edit: QLineEdit) -> None:
    """Make ``edit`` at least wide enough to show its whole placeholder text."""
    needed = edit.fontMetrics().horizontalAdvance(edit.placeholderText())
    frame = _PROBE_WIDTH - text_room(edit, _PROBE_WIDTH)
    edit.setMinimumWidth(max(edit.minimumWidth(), needed + frame))
