"""The window's model downloads and the dialogs around them: Settings → Models, and the welcome step (shown once on
a first start, again from Help). One downloader for the window, so a download goes on when a dialog closes and a
dialog opened later shows it; quitting ends the downloads (the next Download resumes them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from stt_studio.ui.model_downloads.dialog import ModelsDialog
from stt_studio.ui.model_downloads.downloader import ModelDownloader
from stt_studio.ui.views.settings_dialog import UNSET, SettingsChoice
from stt_studio.ui.welcome.dialog import WelcomeDialog

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


class WindowModels(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        settings = window._local.settings
        self.downloader = ModelDownloader(settings.resolved_models_dir, offline=settings.offline, parent=self)
        window.quit_finished.connect(self.downloader.cancel_all)
        self.models_dialog: ModelsDialog | None = None
        self.welcome_dialog: WelcomeDialog | None = None

    def _refresh_token(self) -> None:
        self.downloader.token = self.window.tokens.get() or self.window.base_settings.hf_token

    def remote_note(self) -> str | None:
        if self.window.service is self.window._local:
            return None
        return (
            "The window shows another machine's queue now: its jobs use that machine's models (its GET /models "
            "lists them; `stt-studio models` there manages them). These are this machine's own."
        )

    def open_models(self, parent: QWidget | None = None) -> ModelsDialog:
        self._refresh_token()
        dialog = ModelsDialog(self.downloader, self.window.preferences.model, remote_note=self.remote_note(),
                              parent=parent or self.window)  # fmt: skip
        dialog.open()
        self.models_dialog = dialog
        return dialog

    def open_welcome(self) -> WelcomeDialog:
        self._refresh_token()
        dialog = WelcomeDialog(self.downloader, parent=self.window)
        dialog.finished.connect(lambda _result: self._welcome_done(dialog.chosen))
        dialog.open()
        self.welcome_dialog = dialog
        return dialog

    def welcome_if_first_start(self) -> None:
        if not self.window.preferences.welcome_shown:
            self.open_welcome()

    def _welcome_done(self, chosen: str | None) -> None:
        """Remember that the welcome was seen (Skip too), and use the model chosen there."""
        update: dict[str, object] = {"welcome_shown": True}
        if chosen is not None:
            update["model"] = chosen
        new = self.window.preferences.model_copy(update=update)
        self.window.spawn(self.window.apply_choice(SettingsChoice(new, UNSET)))
