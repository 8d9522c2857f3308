"""A find field with previous/next and an "n of m" count; what matches is the owner's business."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QStyle, QToolButton, QWidget

PLACEHOLDER = "Find in transcript"


class _FindEdit(QLineEdit):
    """Enter finds the next match, Shift+Enter the previous one, Escape clears."""

    next_requested = Signal()
    previous_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.previous_requested.emit()
            else:
                self.next_requested.emit()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            event.accept()
            return
        super().keyPressEvent(event)


class FindBar(QWidget):
    query_changed = Signal(str)
    next_requested = Signal()
    previous_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.find_edit = _FindEdit(self)
        self.find_edit.setPlaceholderText(PLACEHOLDER)
        self.find_edit.setClearButtonEnabled(True)
        self.previous_button = self._button(QStyle.StandardPixmap.SP_ArrowUp, "Previous match (Shift+F3)")
        self.next_button = self._button(QStyle.StandardPixmap.SP_ArrowDown, "Next match (Enter, F3)")
        self.count_label = QLabel(self)
        self.count_label.setMinimumWidth(self.count_label.fontMetrics().horizontalAdvance("8888 of 8888"))

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.find_edit, 1)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(self.count_label)

        self.find_edit.textChanged.connect(self.query_changed)
        self.find_edit.next_requested.connect(self.next_requested)
        self.find_edit.previous_requested.connect(self.previous_requested)
        self.previous_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.set_count(None, 0)

    def install_shortcuts(self, scope: QWidget) -> None:
        """F3, Shift+F3 and Ctrl+F anywhere inside ``scope``."""
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        shortcuts = (
            (QKeySequence(Qt.Key.Key_F3), self.next_requested.emit),
            (QKeySequence(Qt.KeyboardModifier.ShiftModifier | Qt.Key.Key_F3), self.previous_requested.emit),
            (QKeySequence(QKeySequence.StandardKey.Find), self.focus_find),
        )
        for sequence, slot in shortcuts:
            shortcut = QShortcut(sequence, scope)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)

    def focus_find(self) -> None:
        self.find_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_edit.selectAll()

    def query(self) -> str:
        return self.find_edit.text()

    def set_count(self, current: int | None, total: int) -> None:
        """``current`` counts from 0; the label counts from 1."""
        if not self.find_edit.text().strip():
            text = ""
        elif total == 0:
            text = "No matches"
        else:
            text = f"{(current or 0) + 1} of {total}"
        self.count_label.setText(text)
        self.previous_button.setEnabled(total > 0)
        self.next_button.setEnabled(total > 0)

    def _button(self, icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setAutoRaise(True)
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        return button
