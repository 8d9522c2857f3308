"""Review → Voice library…: opens the dialog on the library of the queue the window shows now (this computer's
data folder, or the connected server's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from stt_studio.ui.remote_service import RemoteJobService
from stt_studio.ui.voices.controller import VoiceLibraryController
from stt_studio.ui.voices.dialog import VoiceLibraryDialog
from stt_studio.ui.voices.service import LocalVoiceService, RemoteVoiceService, VoiceService
from stt_studio.voices.embedding_model import current_embedding_model
from stt_studio.voices.library import VoiceLibrary

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

    def _service(self) -> tuple[VoiceService, str]:
        """The library of the window's queue, and a line saying whose it is."""
        service = self.window.service
        if isinstance(service, RemoteJobService):
            where = f"The voice library of {service.profile.name} ({service.profile.url})"
            return RemoteVoiceService(service.client), where
        settings = self.window._local.settings
        library = VoiceLibrary.in_data_dir(settings.data_dir)
        local = LocalVoiceService(library, lambda: current_embedding_model(settings))
        return local, f"This computer's voice library ({library.folder})"

    def open(self) -> VoiceLibraryController:
        if self.controller is not None and self.controller.idle():
            self.controller.dialog.deleteLater()  # one dialog kept at a time (a request still running keeps its own)
        service, where = self._service()
        dialog = VoiceLibraryDialog(where, moves_archives=service.moves_archives, parent=self.window)
        self.controller = VoiceLibraryController(service, dialog, self.window.spawn)
        dialog.open()
        self.controller.refresh()
        return self.controller
