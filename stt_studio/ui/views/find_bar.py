"""A find field with previous/next and an "n of m" count, and a replace field shown on demand; what matches and
what replacing does is the owner's business."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QPushButton, QStyle, QToolButton, QWidget

PLACEHOLDER = "Find in transcript"
REPLACE_PLACEHOLDER = "Replace with"


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
    replace_all_requested = Signal(str, str)
    """The find text, its replacement."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.find_edit = _FindEdit(self)
        self.find_edit.setPlaceholderText(PLACEHOLDER)
        self.find_edit.setClearButtonEnabled(True)
        self.previous_button = self._button(QStyle.StandardPixmap.SP_ArrowUp, "Previous match (Shift+Enter)")
        self.next_button = self._button(QStyle.StandardPixmap.SP_ArrowDown, "Next match (Enter)")
        self.count_label = QLabel(self)
        self.count_label.setMinimumWidth(self.count_label.fontMetrics().horizontalAdvance("8888 of 8888"))
        self.replace_edit = QLineEdit(self)
        self.replace_edit.setPlaceholderText(REPLACE_PLACEHOLDER)
        self.replace_edit.setClearButtonEnabled(True)
        self.replace_button = QPushButton("Replace all", self)
        self.replace_button.setToolTip("Replace every match in the transcript (undo with Ctrl+Z)")

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setVerticalSpacing(4)
        layout.addWidget(self.find_edit, 0, 0)
        layout.addWidget(self.previous_button, 0, 1)
        layout.addWidget(self.next_button, 0, 2)
        layout.addWidget(self.count_label, 0, 3)
        layout.addWidget(self.replace_edit, 1, 0)
        layout.addWidget(self.replace_button, 1, 1, 1, 3)
        layout.setColumnStretch(0, 1)
        self.set_replace_visible(False)

        self.find_edit.textChanged.connect(self.query_changed)
        self.find_edit.next_requested.connect(self.next_requested)
        self.find_edit.previous_requested.connect(self.previous_requested)
        self.previous_button.clicked.connect(self.previous_requested)
        self.next_button.clicked.connect(self.next_requested)
        self.replace_button.clicked.connect(self._request_replace)
        self.replace_edit.returnPressed.connect(self._request_replace)
        self.set_count(None, 0)

    def install_shortcuts(self, scope: QWidget) -> None:
        """Ctrl+F anywhere inside ``scope`` (F3 belongs to the low-confidence pass)."""
        shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), scope)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.setWhatsThis("Find in the transcript")  # its name in Help → Keyboard shortcuts
        shortcut.activated.connect(self.focus_find)

    def focus_find(self) -> None:
        self.find_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_edit.selectAll()

    def show_replace(self) -> None:
        """The replace field, focused (the find field first when it is empty)."""
        self.set_replace_visible(True)
        target = self.replace_edit if self.find_edit.text().strip() else self.find_edit
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)
        target.selectAll()

    def set_replace_visible(self, visible: bool) -> None:
        self.replace_edit.setVisible(visible)
        self.replace_button.setVisible(visible)

    def _request_replace(self) -> None:
        if self.find_edit.text().strip():
            self.replace_all_requested.emit(self.find_edit.text().strip(), self.replace_edit.text().strip())

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
