"""Transcribe again in the real window: the Review menu and the transcript's context menu open the dialog, its choice
reaches the window's JobService, a reviewed transcript is discarded only after the user says so, and a refusal is
shown with its reason. (The service's side: tests/test_transcribe_again.py, test_find_speakers_again_service.py.)"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QMessageBox

from stt_studio.jobs.models import JobView
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.ui.service import RetranscribeRefusedError
from stt_studio.ui.transcribe_again import DISCARD_REVIEW
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import wait_until
from tests.test_exports import make_result
from tests.test_find_speakers_again_ui import JOB, _Service, window  # noqa: F401 (the window fixture)


class _RetranscribeService(_Service):
    """The one finished job; it records what it is asked to transcribe again."""

    def __init__(self) -> None:
        super().__init__()
        self.retranscribed: list[tuple[str, NewTranscription, bool]] = []

    async def retranscribe(self, job_id: str, change: NewTranscription, *, discard_review: bool) -> JobView:
        if self.refusal is not None:
            raise RetranscribeRefusedError(self.refusal)
        self.retranscribed.append((job_id, change, discard_review))
        return JOB


def test_the_dialog_reaches_the_service_and_asks_before_discarding_a_review(
    window: MainWindow,  # noqa: F811
    qapp: QApplication,
) -> None:
    service = _RetranscribeService()
    window.use_service(service, "test")
    again = window.transcribe_again
    assert not again.action.isEnabled(), "nothing shown: nothing to transcribe again"
    window.transcript_view.show_transcript(JOB, make_result(), None)
    assert again.action.isEnabled() and again.action in window.review_menu.actions()
    window.transcript_view.segments_view.customContextMenuRequested.emit(QPoint(5, 5))
    menu = window.find_speakers.context_menu
    assert menu is not None and again.action in menu.actions() and window.find_speakers.action in menu.actions()
    menu.close()

    again.action.trigger()
    dialog = again.dialog
    assert dialog is not None and dialog.model_combo.currentText() == "tiny.en"  # what the job ran on
    assert not dialog.ok_button.isEnabled(), "the same model and language would change nothing"
    dialog.model_combo.setCurrentText("base")
    dialog.ok_button.click()
    wait_until(qapp, lambda: bool(service.retranscribed), 10, "the request")
    assert service.retranscribed == [("j1", NewTranscription(model="base", language="auto"), False)]
    wait_until(qapp, lambda: "Transcribing talk.wav again" in window.confirmations.text(), 10, "the confirmation")

    service.reviewed = True  # a reviewed transcript: asked first, canceled, then discarded
    for answer in ("cancel", "discard"):
        again.action.trigger()
        assert again.dialog is not None
        again.dialog.language_combo.setCurrentIndex(again.dialog.language_combo.findData("de"))
        again.dialog.ok_button.click()
        wait_until(qapp, lambda: again.review_box is not None and again.review_box.isVisible(), 10, "the question")
        box = again.review_box
        assert box is not None
        button = (
            next(b for b in box.buttons() if b.text() == DISCARD_REVIEW)
            if answer == "discard"
            else box.button(QMessageBox.StandardButton.Cancel)
        )
        button.click()
        again.review_box = None
    wait_until(qapp, lambda: len(service.retranscribed) == 2, 10, "the request with discard_review")
    assert service.retranscribed[1] == ("j1", NewTranscription(model="tiny.en", language="de"), True)

    service.reviewed, service.refusal = False, "Job j1 is processing; transcribe again once it has finished"
    again.action.trigger()
    assert again.dialog is not None
    again.dialog.model_combo.setCurrentText("small")
    again.dialog.ok_button.click()
    wait_until(qapp, lambda: bool(window.notices.notices), 10, "the refusal")
    notice = window.notices.notices[-1]
    assert notice.title == "The file could not be transcribed again" and service.refusal in notice.details
