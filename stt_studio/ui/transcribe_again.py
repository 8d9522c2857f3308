"""Transcribe again from the window: the Review menu and the transcript's context menu (beside "Find speakers
again…") open ``TranscribeAgainDialog``; a reviewed transcript is discarded only after the user says so; the request
goes through the window's ``JobService`` (local queue or remote server alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from stt_studio.jobs.models import JobStatus
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.ui.service import RetranscribeRefusedError
from stt_studio.ui.views.notices import Tone
from stt_studio.ui.views.transcribe_again_dialog import TranscribeAgainDialog

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

DISCARD_REVIEW = "Discard my review"


class TranscribeAgain(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction("Transcribe again…", window)
        self.action.triggered.connect(self.open)
        self.dialog: TranscribeAgainDialog | None = None
        self.review_box: QMessageBox | None = None
        window.review_menu.addAction(self.action)
        window.find_speakers.context_actions.append(self.action)
        window.transcript_view.document.loaded.connect(lambda _result: self._enable())
        self._enable()

    def _enable(self) -> None:
        job = self.window.transcript_view.job()
        shown = self.window.transcript_view.result() is not None
        self.action.setEnabled(shown and job is not None and job.status == JobStatus.COMPLETED)

    def open(self) -> None:
        view = self.window.transcript_view
        job, result = view.job(), view.result()
        if job is None or result is None:
            return
        asked = job.options.language if job.options is not None else None
        dialog = TranscribeAgainDialog(job.filename or job.job_id, result.model or "", asked, self.window)
        dialog.accepted.connect(lambda: self.window.spawn(self._ask(job.job_id, dialog.change())))
        self.dialog = dialog
        dialog.open()

    async def _ask(self, job_id: str, change: NewTranscription) -> None:
        window = self.window
        await window.transcript_view.review.flush()  # edits not saved yet count as review too
        stored = await window.service.transcript(job_id)
        if stored.reviewed:
            box = QMessageBox(window)
            box.setIcon(QMessageBox.Icon.Question)
            box.setWindowTitle("Transcribe again")
            box.setText("This transcript was reviewed.")
            box.setInformativeText(
                "Transcribing again writes new text, so your edits and speaker names are discarded (the reviewed "
                "version stays in the transcript's history)."
            )
            discard = box.addButton(DISCARD_REVIEW, QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.buttonClicked.connect(
                lambda button: button is discard and window.spawn(self._send(job_id, change, discard_review=True))
            )
            self.review_box = box
            box.open()
            return
        await self._send(job_id, change, discard_review=False)

    async def _send(self, job_id: str, change: NewTranscription, *, discard_review: bool) -> None:
        window = self.window
        try:
            view = await window.service.retranscribe(job_id, change, discard_review=discard_review)
        except RetranscribeRefusedError as exc:
            window.notices.show_notice("The file could not be transcribed again", [str(exc)], Tone.WARNING)
            return
        window.confirmations.show(f"Transcribing {view.filename or job_id} again")
