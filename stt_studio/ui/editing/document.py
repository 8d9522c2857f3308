"""The transcript being reviewed and its undo history: edits go in as commands, every change comes out as one
signal with the transcript before and after."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from stt_studio.engine.result import TranscriptionResult
from stt_studio.ui.editing.commands import TranscriptCommand


class ReviewDocument(QObject):
    loaded = Signal(object)
    """A transcript replaced the one shown, with a fresh history (opened, reloaded, reverted)."""
    changed = Signal(object, object)
    """An edit, an undo or a redo: the transcript before, the transcript now."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._result: TranscriptionResult | None = None

    @property
    def result(self) -> TranscriptionResult | None:
        return self._result

    def load(self, result: TranscriptionResult | None) -> None:
        self.undo_stack.clear()
        self._result = result
        self.loaded.emit(result)

    def push(self, command: TranscriptCommand) -> bool:
        """Apply ``command`` and keep it for undo; an edit that changes nothing is dropped."""
        if command.after is command.before:
            return False
        self.undo_stack.push(command)
        return True

    def show(self, result: TranscriptionResult) -> None:
        """Called by the commands: make ``result`` the transcript."""
        before, self._result = self._result, result
        self.changed.emit(before, result)
