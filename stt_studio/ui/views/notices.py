"""Dismissible notices at the top of the window: files that could not be added, a question, a warning.

One notice shows at a time, the newest; the others wait behind it (its Dismiss button says how many) and the same
notice given again replaces the one waiting instead of adding another. Confirmations that need no answer (an export
written) belong in the status bar (``Confirmations``), not here."""

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
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(lambda: on_close(self))
        buttons.addWidget(self.dismiss_button)
        self.buttons["Dismiss"] = self.dismiss_button
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(body, 1)
        layout.addLayout(buttons)

    def set_waiting(self, count: int) -> None:
        """``count`` notices wait behind this one: dismissing it shows the next."""
        self.dismiss_button.setText(f"Dismiss · {count} more" if count else "Dismiss")

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
        """Show a notice in front of the others; the same notice (title and details) shown before is replaced by
        it, while one that only shares its title ("1 file(s) could not be added", for another file) waits behind."""
        details = list(details or [])
        for same in [n for n in self.notices if n.title == title and n.details == details]:
            self._drop(same)
        notice = Notice(title, details, tone, actions or [], self.dismiss)
        self.notices.append(notice)
        self._layout.addWidget(notice)
        self._show_newest()
        return notice

    def dismiss(self, notice: Notice) -> None:
        self._drop(notice)
        self._show_newest()

    def shown(self) -> Notice | None:
        """The notice in front (the newest), None when there is none."""
        return self.notices[-1] if self.notices else None

    def _drop(self, notice: Notice) -> None:
        if notice in self.notices:
            self.notices.remove(notice)
            notice.hide()
            notice.deleteLater()

    def _show_newest(self) -> None:
        front = self.shown()
        for notice in self.notices:
            notice.setVisible(notice is front)
        if front is not None:
            front.set_waiting(len(self.notices) - 1)
        self.setVisible(front is not None)
