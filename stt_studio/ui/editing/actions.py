"""The review's actions with their shortcuts: playback, edits, speakers, the low-confidence pass.

They belong to the transcript view (active while the focus is in it, so Space types a space in the library's
search field and plays in the transcript) and are listed in the main window's Review menu.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

SPEAKER_SHORTCUTS = 9  # Alt+1 … Alt+9


class ReviewActions(QObject):
    def __init__(self, scope: QWidget) -> None:
        super().__init__(scope)
        self._scope = scope
        key = QKeySequence.StandardKey
        self.play_pause = self._action("Play / pause", "Space")
        self.back = self._action("Back 5 s", "Left")
        self.forward = self._action("Forward 5 s", "Right")
        self.replay_segment = self._action("Replay segment", "R")
        self.slower = self._action("Slower", "Ctrl+[")
        self.faster = self._action("Faster", "Ctrl+]")
        self.edit_segment = self._action("Edit segment text", "F2")
        self.split = self._action("Split segment at cursor", "Ctrl+Return")
        self.merge = self._action("Merge with next segment", "Ctrl+M")
        self.delete = self._action("Delete segment", "Ctrl+Delete")
        self.replace = self._action("Find and replace…", key.Replace)
        if self.replace.shortcut().isEmpty():
            self.replace.setShortcut(QKeySequence("Ctrl+H"))
        self.rename_speaker = self._action("Rename speaker…", None)
        self.merge_speakers = self._action("Merge speakers…", None)
        self.add_speaker = self._action("Add speaker…", None)
        self.next_check = self._action("Next word to check", "F3")
        self.previous_check = self._action("Previous word to check", "Shift+F3")
        self.mark_checked = self._action("Mark word checked", "Ctrl+K")
        self.revert = self._action("Revert to original…", None)
        self.speaker_menu = QMenu("Change speaker", scope)
        self._speaker_actions: list[QAction] = []
        self._speakers_shown: list[tuple[str, str]] | None = None
        self.undo: QAction | None = None
        self.redo: QAction | None = None

    def _action(self, text: str, shortcut: str | QKeySequence.StandardKey | None) -> QAction:
        action = QAction(text, self._scope)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._scope.addAction(action)
        return action

    def set_undo_actions(self, undo: QAction, redo: QAction) -> None:
        for action, shortcut in ((undo, QKeySequence.StandardKey.Undo), (redo, QKeySequence.StandardKey.Redo)):
            action.setShortcuts(shortcut)  # every binding of the platform (Redo: Ctrl+Y and Ctrl+Shift+Z here)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self._scope.addAction(action)
        self.undo, self.redo = undo, redo

    def set_speakers(self, speakers: list[tuple[str, str]], choose: Callable[[str], None]) -> None:
        """The Change speaker menu: one entry per (label, name), Alt+1… for the first nine."""
        if speakers == self._speakers_shown:
            return
        self._speakers_shown = list(speakers)
        for action in self._speaker_actions:
            self._scope.removeAction(action)
            action.deleteLater()
        self.speaker_menu.clear()
        self._speaker_actions = []
        for number, (label, name) in enumerate(speakers, 1):
            action = QAction(name, self._scope)
            if number <= SPEAKER_SHORTCUTS:
                action.setShortcut(QKeySequence(f"Alt+{number}"))
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self._scope.addAction(action)
            action.setData(label)
            action.triggered.connect(lambda _checked=False, chosen=label: choose(chosen))
            self.speaker_menu.addAction(action)
            self._speaker_actions.append(action)
        self.speaker_menu.addSeparator()
        self.speaker_menu.addAction(self.add_speaker)
        self.speaker_menu.setEnabled(bool(speakers) or self.add_speaker.isEnabled())

    def speaker_actions(self) -> list[QAction]:
        return list(self._speaker_actions)

    def editing(self) -> list[QAction]:
        """The actions that change the transcript (disabled while none is shown)."""
        return [self.edit_segment, self.split, self.merge, self.delete, self.replace, self.rename_speaker,
                self.merge_speakers, self.add_speaker, self.mark_checked, self.revert]  # fmt: skip

    def playback(self) -> list[QAction]:
        return [self.play_pause, self.back, self.forward, self.replay_segment, self.slower, self.faster,
                self.next_check, self.previous_check]  # fmt: skip

    def fill_menu(self, menu: QMenu) -> None:
        """The Review menu: edits, speakers, the low-confidence pass, playback."""
        groups: list[list[QAction | QMenu]] = [
            [a for a in (self.undo, self.redo) if a is not None],
            [self.edit_segment, self.split, self.merge, self.delete, self.replace],
            [self.speaker_menu, self.rename_speaker, self.merge_speakers, self.add_speaker],
            [self.next_check, self.previous_check, self.mark_checked],
            [self.play_pause, self.back, self.forward, self.replay_segment, self.slower, self.faster],
            [self.revert],
        ]
        for number, group in enumerate(groups):
            if number:
                menu.addSeparator()
            for item in group:
                if isinstance(item, QMenu):
                    menu.addMenu(item)
                else:
                    menu.addAction(item)
