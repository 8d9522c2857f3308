"""Find speakers again in the real window: the Review menu and the transcript's context menu open the dialog, its
choice reaches the window's JobService, a reviewed transcript is touched only after the user says so, and a
refusal is shown with its reason. (The service's side, local queue and server: tests/test_find_speakers_again*.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QMessageBox

from stt_studio.jobs.models import JobStatus, JobView, LibraryEntry
from stt_studio.jobs.review import StoredTranscript
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.find_speakers_again import KEEP_REVIEW
from stt_studio.ui.service import JobService, RediarizeRefusedError, ServiceStatus
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import desktop_app, desktop_env, qasync_loop, release_loop, wait_until
from tests.test_exports import make_result

JOB = JobView(job_id="j1", status=JobStatus.COMPLETED, filename="talk.wav")


class _Service(JobService):
    """A queue with one finished, diarized job; it records what it is asked to find again."""

    def __init__(self) -> None:
        super().__init__()
        self.status = ServiceStatus(True, "test", 1, 0, 0)
        self.reviewed = False
        self.refusal: str | None = None
        self.asked: list[tuple[str, SpeakerCounts, bool]] = []

    async def library(self) -> list[LibraryEntry]:
        return []

    async def transcript(self, job_id: str) -> StoredTranscript:
        when = datetime.now(timezone.utc) if self.reviewed else None
        return StoredTranscript(make_result(), "etag", self.reviewed, when)

    async def rediarize(self, job_id: str, counts: SpeakerCounts, *, keep_review: bool) -> JobView:
        if self.refusal is not None:
            raise RediarizeRefusedError(self.refusal)
        self.asked.append((job_id, counts, keep_review))
        return JOB.model_copy(update={"status": JobStatus.QUEUED})


@pytest.fixture
def window(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[MainWindow]:
    desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir)
    loop = qasync_loop(desktop_app(qapp))
    window = build_window(Settings())
    yield window
    window.deleteLater()
    release_loop(loop)


def test_the_dialog_reaches_the_service_and_asks_before_a_review(window: MainWindow, qapp: QApplication) -> None:
    service = _Service()
    window.use_service(service, "test")
    finder = window.find_speakers
    assert not finder.action.isEnabled(), "nothing shown: nothing to find again"
    window.transcript_view.show_transcript(JOB, make_result(), None)
    assert finder.action.isEnabled() and finder.action in window.review_menu.actions()
    window.transcript_view.segments_view.customContextMenuRequested.emit(QPoint(5, 5))
    assert finder.context_menu is not None and finder.action in finder.context_menu.actions()
    finder.context_menu.close()

    finder.action.trigger()  # a range
    dialog = finder.dialog
    assert dialog is not None and dialog.exact_spin.value() == 2  # the transcript's count
    dialog.range_button.setChecked(True)
    dialog.min_spin.setValue(2)
    dialog.max_spin.setValue(3)
    dialog.ok_button.click()
    wait_until(qapp, lambda: bool(service.asked), 10, "the request")
    assert service.asked == [("j1", SpeakerCounts(min_speakers=2, max_speakers=3), False)]
    wait_until(
        qapp, lambda: "Finding speakers again in talk.wav" in window.confirmations.text(), 10, "the confirmation"
    )

    service.reviewed = True  # exactly 3 on a reviewed transcript: asked first, canceled, then kept
    for answer in ("cancel", "keep"):
        finder.action.trigger()
        assert finder.dialog is not None
        finder.dialog.exact_spin.setValue(3)
        finder.dialog.ok_button.click()
        wait_until(qapp, lambda: finder.review_box is not None and finder.review_box.isVisible(), 10, "the question")
        box = finder.review_box
        assert box is not None
        button = (
            next(b for b in box.buttons() if b.text() == KEEP_REVIEW)
            if answer == "keep"
            else box.button(QMessageBox.StandardButton.Cancel)
        )
        button.click()
        finder.review_box = None
    wait_until(qapp, lambda: len(service.asked) == 2, 10, "the request with keep_review")
    assert service.asked[1] == ("j1", SpeakerCounts(num_speakers=3), True)

    service.reviewed, service.refusal = False, "Job j1 is processing; find speakers again once it has finished"
    finder.action.trigger()
    assert finder.dialog is not None
    finder.dialog.ok_button.click()
    wait_until(qapp, lambda: bool(window.notices.notices), 10, "the refusal")
    notice = window.notices.notices[-1]
    assert notice.title == "Speakers could not be found again" and service.refusal in notice.details
