"""One line under the transcript's header: the words left to check, whether the edits are saved, and the last
thing that could not be done."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from stt_studio.ui.editing.autosave import SaveState
from stt_studio.ui.speakers import blend

MESSAGE_MS = 8000


class ReviewBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count_label = QLabel(self)
        self.message_label = QLabel(self)
        self.state_label = QLabel(self)
        self.revert_button = QToolButton(self)
        self.revert_button.setAutoRaise(True)
        self.revert_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.count_label)
        layout.addWidget(self.message_label, 1)
        layout.addWidget(self.state_label)
        layout.addWidget(self.revert_button)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.setInterval(MESSAGE_MS)
        self._message_timer.timeout.connect(self.message_label.clear)
        self.set_to_check(0)
        self.set_state(SaveState.ORIGINAL)

    def set_revert_action(self, action: QAction) -> None:
        self.revert_button.setDefaultAction(action)

    def set_to_check(self, count: int, position: int | None = None) -> None:
        """``count`` words left to check; ``position``: the one the user is on is the n-th of them."""
        words = f"word{'s' if count != 1 else ''} to check (F3)"
        if count and position is not None:
            self.count_label.setText(f"<b>{position}</b> of {count} {words}")
        elif count:
            self.count_label.setText(f"<b>{count}</b> {words}")
        else:
            self.count_label.setText("No words left to check")

    def set_state(self, state: SaveState) -> None:
        self.state_label.setText(state.value)
        self.revert_button.setVisible(state not in (SaveState.ORIGINAL,))

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self._message_timer.start()

    def apply_colors(self, palette: QPalette) -> None:
        window = palette.color(QPalette.ColorRole.Window)
        secondary = QPalette(palette)
        secondary.setColor(
            QPalette.ColorRole.WindowText, blend(window, palette.color(QPalette.ColorRole.WindowText), 0.72)
        )
        for label in (self.state_label, self.message_label):
            label.setPalette(secondary)
