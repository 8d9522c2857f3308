"""What the window's "run this job again" actions share (Find speakers again, Transcribe again): a Review-menu
action enabled while a finished job's transcript is shown, and a reviewed transcript touched only after the user
answers a question box."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.models import JobStatus, JobView

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


@dataclass(frozen=True)
class ReviewQuestion:
    """What the box asks before a reviewed transcript is run again: its title, what happens to the review, and the
    button that goes ahead (with its role: accept, or destructive)."""

    title: str
    consequence: str
    go_ahead: str
    role: QMessageBox.ButtonRole


class RunAgainAction(QObject):
    def __init__(self, window: MainWindow, label: str) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction(label, window)
        self.action.triggered.connect(self.open)
        self.review_box: QMessageBox | None = None
        """The question open now or last (tests answer it)."""
        window.transcript_view.document.loaded.connect(lambda _result: self._enable())

    def _enable(self) -> None:
        self.action.setEnabled(self.shown() is not None)

    def shown(self) -> tuple[JobView, TranscriptionResult] | None:
        """The finished job whose transcript the window shows, if one is."""
        view = self.window.transcript_view
        job, result = view.job(), view.result()
        if job is None or result is None or job.status != JobStatus.COMPLETED:
            return None
        return job, result

    def open(self) -> None:
        raise NotImplementedError

    async def confirm_then(
        self, job_id: str, question: ReviewQuestion, send: Callable[[bool], Coroutine[Any, Any, None]]
    ) -> None:
        """``send(False)`` at once, or — the transcript was reviewed — ``send(True)`` once the user goes ahead."""
        window = self.window
        await window.transcript_view.review.flush()  # edits not saved yet count as review too
        stored = await window.service.transcript(job_id)
        if not stored.reviewed:
            await send(False)
            return
        box = QMessageBox(window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(question.title)
        box.setText("This transcript was reviewed.")
        box.setInformativeText(question.consequence)
        go_ahead = box.addButton(question.go_ahead, question.role)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: button is go_ahead and window.spawn(send(True)))
        self.review_box = box
        box.open()
