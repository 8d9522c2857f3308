"""Review → Voice library…: opens the dialog on the library of the queue the window shows now (this computer's
data folder, or the connected server's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from stt_studio.ui.voices.controller import VoiceLibraryController
from stt_studio.ui.voices.dialog import VoiceLibraryDialog
from stt_studio.ui.voices.naming import SpeakerNaming
from stt_studio.ui.voices.save_voice import SaveVoiceToLibrary
from stt_studio.ui.voices.window_service import voice_service_of

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


class VoiceLibraryMenu(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction("Voice &library…", window)
        self.action.setToolTip("The voices kept to name speakers across recordings: rename, delete, export, import")
        self.action.triggered.connect(self.open)
        self.controller: VoiceLibraryController | None = None
        """The dialog open now or last, with what drives it (tests read it)."""
        window.review_menu.addSeparator()
        window.review_menu.addAction(self.action)
        self.save_voice = SaveVoiceToLibrary(window)
        self.naming = SpeakerNaming(window, self.save_voice)

    def open(self) -> VoiceLibraryController:
        if self.controller is not None and self.controller.idle():
            self.controller.dialog.deleteLater()  # one dialog kept at a time (a request still running keeps its own)
        service, where = voice_service_of(self.window)
        dialog = VoiceLibraryDialog(where, moves_archives=service.moves_archives, parent=self.window)
        self.controller = VoiceLibraryController(service, dialog, self.window.spawn)
        dialog.open()
        self.controller.refresh()
        return self.controller
