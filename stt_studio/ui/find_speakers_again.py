"""Find speakers again from the window: the transcript view's context menu and the Review menu open
``FindSpeakersDialog``; a reviewed transcript is touched only after the user says so; the request goes through the
window's ``JobService`` (local queue or remote server alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox

from stt_studio.engine.speakers import speaker_count
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.ui.run_again import ReviewQuestion, RunAgainAction
from stt_studio.ui.service import RediarizeRefusedError
from stt_studio.ui.views.find_speakers_dialog import FindSpeakersDialog
from stt_studio.ui.views.notices import Tone

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

KEEP_REVIEW = "Keep my edits"
KEEP_REVIEW_QUESTION = ReviewQuestion(
    "Find speakers again",
    "Your text edits are kept and the new speakers are put on your words by their times. Names you gave carry over "
    "to the speakers that are clearly the same; the others are dropped.",
    KEEP_REVIEW,
    QMessageBox.ButtonRole.AcceptRole,
)


class FindSpeakersAgain(RunAgainAction):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, "Find speakers again…")
        self.dialog: FindSpeakersDialog | None = None
        self.context_menu: QMenu | None = None
        """The menu open now or last (tests read it)."""
        self.context_actions: list[QAction] = [self.action]
        """The items that run the job again, first in the transcript's context menu (others add theirs)."""
        window.review_menu.addSeparator()
        window.review_menu.addAction(self.action)
        table = window.transcript_view.segments_view
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._show_context_menu)
        self._enable()

    def _show_context_menu(self, position: QPoint) -> None:
        table = self.window.transcript_view.segments_view
        menu = QMenu(table)
        menu.addActions(self.context_actions)
        menu.addSeparator()
        self.window.transcript_view.review_actions.fill_menu(menu)
        self.context_menu = menu
        menu.popup(table.viewport().mapToGlobal(position))

    def open(self) -> None:
        if (shown := self.shown()) is None:
            return
        job, result = shown
        dialog = FindSpeakersDialog(job.filename or job.job_id, speaker_count(result), self.window)
        dialog.accepted.connect(lambda: self.window.spawn(self._ask(job.job_id, dialog.counts())))
        self.dialog = dialog
        dialog.open()

    async def _ask(self, job_id: str, counts: SpeakerCounts) -> None:
        async def send(keep_review: bool) -> None:
            await self._send(job_id, counts, keep_review=keep_review)

        await self.confirm_then(job_id, KEEP_REVIEW_QUESTION, send)

    async def _send(self, job_id: str, counts: SpeakerCounts, *, keep_review: bool) -> None:
        window = self.window
        try:
            view = await window.service.rediarize(job_id, counts, keep_review=keep_review)
        except RediarizeRefusedError as exc:
            window.notices.show_notice("Speakers could not be found again", [str(exc)], Tone.WARNING)
            return
        window.confirmations.show(f"Finding speakers again in {view.filename or job_id}")
