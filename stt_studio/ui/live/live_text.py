"""The live text while recording: final words in the text colour, the provisional tail greyed; it follows the end
unless the user has scrolled up to read (then it stays where they are until they scroll back to the end)."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QWidget

from stt_studio.live.streaming import Word, text_of


class LiveTextView(QTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText("The text appears here while you speak.")
        self.final_text = ""
        self.provisional_text = ""
        self._following = True
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    @property
    def following(self) -> bool:
        """Whether the view keeps the end in sight (False once the user scrolled up)."""
        return self._following

    def _on_scrolled(self, value: int) -> None:
        self._following = value >= self.verticalScrollBar().maximum() - 4

    def add_final(self, words: list[Word]) -> None:
        self.final_text = _joined(self.final_text, text_of(words))
        self.provisional_text = ""
        self._render()

    def set_provisional(self, words: list[Word]) -> None:
        self.provisional_text = text_of(words)
        self._render()

    def clear_text(self) -> None:
        self.final_text = self.provisional_text = ""
        self._following = True
        self.clear()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the grey is the palette's: a light or dark theme
            self._render()

    def _render(self) -> None:
        bar = self.verticalScrollBar()
        follow, kept = self._following, bar.value()
        bar.blockSignals(True)
        self.clear()
        cursor = self.textCursor()
        cursor.insertText(self.final_text, QTextCharFormat())  # the palette's text colour, whichever it is
        if self.provisional_text:
            grey = QTextCharFormat()
            grey.setForeground(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            grey.setFontItalic(True)
            cursor.insertText((" " if self.final_text else "") + self.provisional_text.strip(), grey)
        bar.setValue(bar.maximum() if follow else kept)
        if follow:
            self.moveCursor(QTextCursor.MoveOperation.End)
        bar.blockSignals(False)


def _joined(before: str, more: str) -> str:
    more = more.strip()
    if not more:
        return before
    return f"{before} {more}" if before else more
