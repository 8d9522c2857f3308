"""Confirmations in the status bar: something asked for is done (an export written). They need no answer, so they
take no room above the work and go away by themselves."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QStatusBar

CONFIRMATION_MS = 8000


class Confirmations(QObject):
    """One line at the left of ``bar``; a newer confirmation replaces the one shown."""

    def __init__(self, bar: QStatusBar, duration_ms: int = CONFIRMATION_MS) -> None:
        super().__init__(bar)
        self._bar = bar
        self.duration_ms = duration_ms
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setContentsMargins(8, 0, 8, 0)
        self.label.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.label.hide()
        bar.addWidget(self.label, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)

    def show(self, text: str, folder: Path | None = None) -> None:
        """``text``, and when ``folder`` is given a link that opens it."""
        shown = html.escape(text)
        if folder is not None:
            url = QUrl.fromLocalFile(str(folder)).toString()
            shown += f' · <a href="{html.escape(url)}">Open folder</a>'
        self.label.setText(shown)
        self.label.setToolTip(text)
        self._bar.clearMessage()  # the newer word: a passing message shown now would be drawn over it
        self.label.show()
        self._timer.start(self.duration_ms)

    def text(self) -> str:
        """The confirmation shown now ('' when none is): its plain text."""
        return self.label.toolTip() if not self.label.isHidden() else ""

    def clear(self) -> None:
        self._timer.stop()
        self.label.hide()
        self.label.clear()
        self.label.setToolTip("")
