"""Dismissible notices at the top of the window: files that could not be added, a question, a result."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class Tone(Enum):
    INFO = ("#1f4e79", "#dbeafe")
    WARNING = ("#7a4b00", "#fef3c7")
    ERROR = ("#7f1d1d", "#fee2e2")


_MAX_DETAIL_LINES = 8


class Notice(QFrame):
    def __init__(
        self,
        title: str,
        details: list[str],
        tone: Tone,
        actions: list[tuple[str, Callable[[], None]]],
        on_close: Callable[[Notice], None],
    ) -> None:
        super().__init__()
        self.title = title
        self.details = details
        self.setObjectName("notice")
        text, background = tone.value
        # Fixed colors on both sides: the notice reads the same in a light and a dark palette.
        self.setStyleSheet(
            f"#notice {{ background: {background}; border: 1px solid {text}; border-radius: 4px; }}"
            f"#notice QLabel {{ color: {text}; background: transparent; }}"
        )
        shown = details[:_MAX_DETAIL_LINES]
        if len(details) > len(shown):
            shown.append(f"… and {len(details) - len(shown)} more")
        body = QLabel(f"<b>{title}</b>" + "".join(f"<br>{line}" for line in shown))
        body.setTextFormat(Qt.TextFormat.RichText)
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QVBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for label, callback in actions:
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, cb=callback: self._run_and_close(cb, on_close))
            buttons.addWidget(button)
            self.buttons[label] = button
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(lambda: on_close(self))
        buttons.addWidget(dismiss)
        self.buttons["Dismiss"] = dismiss
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(body, 1)
        layout.addLayout(buttons)


    def _run_and_close(self, callback: Callable[[], None], on_close: Callable[[Notice], None]) -> None:
        callback()
        on_close(self)


class NoticeArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.notices: list[Notice] = []
        self.hide()

    def show_notice(
        self,
        title: str,
        details: list[str] | None = None,
        tone: Tone = Tone.INFO,
        actions: list[tuple[str, Callable[[], None]]] | None = None,
    ) -> Notice:
        notice = Notice(title, list(details or []), tone, actions or [], self.dismiss)
        self.notices.append(notice)
        self._layout.addWidget(notice)
        self.show()
        return notice

    def dismiss(self, notice: Notice) -> None:
        if notice in self.notices:
            self.notices.remove(notice)
            notice.deleteLater()
        self.setVisible(bool(self.notices))
