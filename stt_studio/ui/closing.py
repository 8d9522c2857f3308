"""Closing the window while jobs run: ask what should happen to them, and keep the answer honest.

"Quit now" stops the running job where it is: the job keeps its finished stages (its checkpoints) and continues
from them at the next start.

"Stop after current job" is a quit that waits: the window goes, the workers finish their job and take no other,
and only then does the app shut down. Until then it is still fully alive (queue polling, sharing), so starting
``stt-studio`` again (or the tray icon) calls the quit off and brings back a live window rather than one frozen
mid-shutdown. "Keep transcribing in the background" is offered only where a system tray shows an icon to come
back by.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from stt_studio.ui.service import ServiceStatus
from stt_studio.ui.views.notices import Tone

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

log = logging.getLogger(__name__)

STOP_TEXT = "Stop after current job"
QUIT_NOW_TEXT = "Quit now"
KEEP_TEXT = "Keep transcribing in background"
CALLED_OFF = "STT Studio stays open"
CALLED_OFF_DETAIL = "It was to quit after the current job; opening it again called that off."


class QuitController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.box: QMessageBox | None = None
        """The question about running jobs, while one is asked (tests answer it)."""
        self.pending = False
        """Quitting once the workers have finished their current job; reopening the window calls it off."""
        window._local.status_updated.connect(self._on_status)

    def active_jobs(self) -> int:
        """This computer's queued and running jobs (a server's go on without this window)."""
        window = self.window
        status = window._local.status
        if window.service is not window._local:
            return status.queued + status.processing
        jobs = window.queue_model.jobs()
        return max(status.queued + status.processing, sum(1 for j in jobs if not j.status.is_final))

    def background_offered(self) -> bool:
        """Only with a tray icon: without one, a hidden window leaves nothing on screen to come back by."""
        return self.window.tray is not None

    def ask_about_jobs(self) -> None:
        """Quit at once when nothing is queued; otherwise ask whether to stop after the current job, quit now (or,
        with a tray, keep transcribing in the background)."""
        active = self.active_jobs()
        if not active:
            self.window.quit_now()
            return
        background = self.background_offered()
        box = QMessageBox(self.window)
        box.setWindowTitle("Jobs are still running")
        box.setText(f"{active} job(s) are queued or running.")
        lines = [
            "Stop after the current job: the rest stay queued for the next start.",
            "Quit now: the running job stops and goes on from its last finished step at the next start.",
        ]
        if background:
            lines.append("Keep transcribing: the window closes and STT Studio goes on in the background (tray icon).")
        box.setInformativeText("\n".join(lines))
        stop = box.addButton(STOP_TEXT, QMessageBox.ButtonRole.DestructiveRole)
        quit_now = box.addButton(QUIT_NOW_TEXT, QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton(KEEP_TEXT, QMessageBox.ButtonRole.AcceptRole) if background else None
        box.addButton(QMessageBox.StandardButton.Cancel)

        def chosen() -> None:
            self.box = None
            if box.clickedButton() is stop:
                self.quit_after_current_job()
            elif box.clickedButton() is quit_now:
                self.window.quit_now()
            elif keep is not None and box.clickedButton() is keep:
                self.window.hide()
                self.window.notify("STT Studio keeps transcribing", "Open the window again from the tray icon.")

        box.finished.connect(lambda _: chosen())
        box.open()
        self.box = box

    def quit_after_current_job(self) -> None:
        """Hide the window; quit once this app's workers have finished their job (at once when it runs none)."""
        self.pending = True
        self.window.hide()
        if self.window.tray is not None:
            self.window.tray.setToolTip("STT Studio — quitting after the current job (click to keep it open)")
        self.window.spawn(self._drain())

    async def _drain(self) -> None:
        if not await self.window._local.drain_workers():
            self._finish()

    def _on_status(self, status: ServiceStatus) -> None:
        if self.pending and self.window._local.workers_drained():
            self._finish()

    def _finish(self) -> None:
        if self.pending:
            self.pending = False
            if not self.window._quitting:  # not quit meanwhile another way (the tray's Quit, a SIGTERM)
                self.window.quit_now()

    def reopened(self) -> None:
        """Another start of ``stt-studio`` (or the tray icon) asks for the window: a pending quit is called off,
        and the window comes back alive. During the final shutdown (seconds) nothing is shown: that window could
        only freeze and vanish."""
        if self.window.has_quit or self.window._quitting:
            log.info("Asked to open the window while quitting; it is not shown")
            return
        if self.pending:
            self.pending = False
            self.window.spawn(self.window._local.resume_workers())
            self.window.notices.show_notice(
                CALLED_OFF, [CALLED_OFF_DETAIL], Tone.INFO, [("Quit after the current job", self.window.request_quit)]
            )
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
