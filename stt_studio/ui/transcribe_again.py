"""Transcribe again from the window: the Review menu and the transcript's context menu (beside "Find speakers
again…") open ``TranscribeAgainDialog``; a reviewed transcript is discarded only after the user says so; the request
goes through the window's ``JobService`` (local queue or remote server alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.ui.run_again import ReviewQuestion, RunAgainAction
from stt_studio.ui.service import RetranscribeRefusedError
from stt_studio.ui.views.notices import Tone
from stt_studio.ui.views.transcribe_again_dialog import TranscribeAgainDialog

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

DISCARD_REVIEW = "Discard my review"
DISCARD_REVIEW_QUESTION = ReviewQuestion(
    "Transcribe again",
    "Transcribing again writes new text, so your edits and speaker names are discarded (the reviewed version stays "
    "in the transcript's history).",
    DISCARD_REVIEW,
    QMessageBox.ButtonRole.DestructiveRole,
)


class TranscribeAgain(RunAgainAction):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, "Transcribe again…")
        self.dialog: TranscribeAgainDialog | None = None
        window.review_menu.addAction(self.action)
        window.find_speakers.context_actions.append(self.action)
        self._enable()

    def open(self) -> None:
        if (shown := self.shown()) is None:
            return
        job, result = shown
        asked = job.options.language if job.options is not None else None
        dialog = TranscribeAgainDialog(job.filename or job.job_id, result.model or "", asked, self.window)
        dialog.accepted.connect(lambda: self.window.spawn(self._ask(job.job_id, dialog.change())))
        self.dialog = dialog
        dialog.open()

    async def _ask(self, job_id: str, change: NewTranscription) -> None:
        async def send(discard_review: bool) -> None:
            await self._send(job_id, change, discard_review=discard_review)

        await self.confirm_then(job_id, DISCARD_REVIEW_QUESTION, send)

    async def _send(self, job_id: str, change: NewTranscription, *, discard_review: bool) -> None:
        window = self.window
        try:
            view = await window.service.retranscribe(job_id, change, discard_review=discard_review)
        except RetranscribeRefusedError as exc:
            window.notices.show_notice("The file could not be transcribed again", [str(exc)], Tone.WARNING)
            return
        window.confirmations.show(f"Transcribing {view.filename or job_id} again")
