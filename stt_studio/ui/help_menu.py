"""The Help menu: keyboard shortcuts (read from the window's actions), the documentation, About, and Copy
diagnostics (the report of ``stt-studio doctor``, made off the GUI thread, for a bug report)."""

from __future__ import annotations

import asyncio
import html
import importlib.metadata
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

import stt_studio
from stt_studio.settings import APP_NAME
from stt_studio.ui.diagnostics import app_facts, diagnostics
from stt_studio.ui.shortcuts import shortcut_rows
from stt_studio.ui.views.shortcuts_dialog import ShortcutsDialog

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

COPIED = "Diagnostics copied to the clipboard"


def documentation_path() -> Path:
    """The README: the checkout's when the app runs from one, else the copy inside the installed package's metadata
    (written once to the cache folder), so it opens offline either way."""
    checkout = Path(stt_studio.__file__).resolve().parent.parent / "README.md"
    if checkout.is_file():
        return checkout
    cached = Path(platformdirs.user_cache_dir(APP_NAME)) / "README.md"
    text = importlib.metadata.metadata("stt-studio").json.get("description")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(str(text or "STT Studio: see `stt-studio --help`."), encoding="utf-8")
    return cached


class HelpMenu(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.about_box: QMessageBox | None = None
        self.diagnostics_task: asyncio.Future[None] | None = None
        """The diagnostics being gathered, while they are (tests wait for it)."""

        self.shortcuts_action = QAction("&Keyboard shortcuts", window)
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.docs_action = QAction("&Documentation", window)
        self.docs_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.docs_action.triggered.connect(self.open_documentation)
        self.diagnostics_action = QAction("Copy &diagnostics", window)
        self.diagnostics_action.setToolTip("What stt-studio doctor reports, and the app's versions: for a bug report")
        self.diagnostics_action.triggered.connect(self.copy_diagnostics)
        self.welcome_action = QAction("&Welcome and models…", window)
        self.welcome_action.setToolTip("This machine's hardware, the speed of each model here, and a model to download")
        self.welcome_action.triggered.connect(lambda: window.models.open_welcome())
        self.about_action = QAction("&About STT Studio", window)
        self.about_action.triggered.connect(self.show_about)

    def fill_menu(self, menu: QMenu) -> None:
        menu.addAction(self.welcome_action)
        menu.addAction(self.shortcuts_action)
        menu.addAction(self.docs_action)
        menu.addSeparator()
        menu.addAction(self.diagnostics_action)
        menu.addSeparator()
        menu.addAction(self.about_action)

    # --- the actions -----------------------------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(shortcut_rows(self.window), self.window)
        dialog.open()
        self.shortcuts_dialog = dialog

    def open_documentation(self) -> None:
        async def find_and_open() -> None:
            path = await self.window._local.run_blocking(documentation_path)
            if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
                self.window.statusBar().showMessage(f"The documentation is at {path}", 15000)

        self.window.spawn(find_and_open())

    def _facts(self) -> list[tuple[str, str]]:
        """From the service's last report, as the status bar shows it: the window's current queue's workers."""
        status = self.window.service.status
        info = status.worker_infos[0] if status.worker_infos else None
        return app_facts(info, status.redis_label or "not started")

    def show_about(self) -> None:
        box = QMessageBox(self.window)
        box.setWindowTitle("About STT Studio")
        box.setIconPixmap(self.window.windowIcon().pixmap(48, 48))
        box.setText("<b>STT Studio</b>: speech to text on your own machine (WhisperX behind a job queue).")
        facts = self._facts()
        rows = "".join(f"<tr><td>{name}&nbsp;&nbsp;</td><td>{html.escape(value)}</td></tr>" for name, value in facts)
        box.setInformativeText(f"<table>{rows}</table>")
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        box.open()
        self.about_box = box

    def copy_diagnostics(self) -> None:
        if self.diagnostics_task is not None and not self.diagnostics_task.done():
            return
        self.window.statusBar().showMessage("Gathering diagnostics (stt-studio doctor)…")
        self.diagnostics_task = self.window.spawn(self._copy_diagnostics())

    async def _copy_diagnostics(self) -> None:
        facts = self._facts()
        settings = self.window._local.settings
        prefs = self.window.preferences
        text = await asyncio.get_running_loop().run_in_executor(
            None, lambda: diagnostics(settings, prefs.sharing_host, prefs.sharing_port, facts)
        )
        QApplication.clipboard().setText(text)
        self.window.statusBar().showMessage(COPIED, 8000)
