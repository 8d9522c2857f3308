"""The growing transcript on made-up segments (no worker): the view appends batches, never rebuilds, so the user's
selection and scroll position stay; a batch read twice adds nothing; find counts the new rows too. The controller
follows the job selected in the queue while it runs and asks only for the segments it has not shown."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from stt_studio.engine.result import Segment
from stt_studio.jobs.models import JobStatus, JobView, PartialTranscript
from stt_studio.ui.growing.controller import GrowingTranscript
from stt_studio.ui.growing.view import STILL_TRANSCRIBING, GrowingTranscriptView, progress_line
from stt_studio.ui.models.queue_model import QueueTableModel
from stt_studio.ui.service import JobService
from stt_studio.ui.views.queue_view import QueueView
from stt_studio.ui.views.transcript_view import TranscriptView
from tests.desktop import qasync_loop, release_loop, wait_until

pytestmark = pytest.mark.no_qt_log  # the player's media threads log while pytest-qt swaps its handler


def _batch(first: int, count: int) -> list[Segment]:
    return [
        Segment(id=i, start=i * 7.0, end=i * 7.0 + 5, text=f"Sentence number {i} is about the office.")
        for i in range(first, first + count)
    ]


def test_batches_append_below_the_selection_and_scroll_position(qtbot: QtBot) -> None:
    view = GrowingTranscriptView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    view.start("talk.wav", None)
    view.add(_batch(0, 12), 80.0, 300.0)
    assert view.notice.text() == progress_line(80.0, 300.0) == f"{STILL_TRANSCRIBING} · 1:20 of 5:00 so far"
    view.table.setFixedHeight(90)
    qtbot.wait(10)
    view.table.selectRow(3)
    view.table.verticalScrollBar().setValue(view.table.verticalScrollBar().maximum() // 2)
    scrolled = view.table.verticalScrollBar().value()
    assert scrolled > 0

    view.add(_batch(8, 8), 120.0, 300.0)  # overlaps the last read: only ids 12..15 are new
    assert [s.id for s in view.model.segments] == list(range(16))
    assert view.table.currentIndex().row() == 3
    assert view.table.verticalScrollBar().value() == scrolled

    view.find_bar.find_edit.setText("number 14")
    assert view.find_bar.count_label.text() == "1 of 1" and view.table.currentIndex().row() == 14
    view.find_bar.find_edit.setText("number 1")  # 1, 10..15
    assert view.find_bar.count_label.text() == "1 of 7"
    view.add(_batch(16, 1), 130.0, None)  # a match comes with the next batch
    assert view.find_bar.count_label.text() == "1 of 8"
    assert view.notice.text() == f"{STILL_TRANSCRIBING} · 2:10 so far"


class _RunningJobs(JobService):
    """A queue whose one running job has ``segments`` so far; records what each read asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[Segment] = []
        self.asked_after: list[int] = []

    async def partial(self, job_id: str, after: int = 0) -> PartialTranscript | None:
        self.asked_after.append(after)
        kept = [s for s in self.segments if s.id >= after]
        return PartialTranscript(segments=kept, until=len(self.segments) * 7.0) if self.segments else None

    async def media_path(self, job_id: str) -> Path | None:
        return None


def test_the_controller_follows_the_selected_running_job_and_asks_only_for_new_segments(qapp: QApplication) -> None:
    loop = qasync_loop(qapp)
    try:
        service = _RunningJobs()
        queue = QueueTableModel("tiny.en")
        queue_view = QueueView(queue)
        transcript_view = TranscriptView()
        growing = GrowingTranscript(transcript_view, queue_view, lambda: service, asyncio.ensure_future)
        running = JobView(job_id="job-1", status=JobStatus.PROCESSING, filename="talk.wav", audio_seconds=300.0)
        queue.upsert([running])
        growing.check()
        assert not growing.showing  # nothing selected
        queue_view.select_jobs(["job-1"])
        growing.check()
        assert growing.showing and growing.view.title_label.text() == "talk.wav"
        wait_until(qapp, lambda: service.asked_after == [0], 5, "the first read")

        service.segments = _batch(0, 3)
        growing.check()
        wait_until(qapp, lambda: growing.view.model.rowCount() == 3, 5, "the first batch")
        service.segments = _batch(0, 5)
        growing.check()
        wait_until(qapp, lambda: growing.view.model.rowCount() == 5, 5, "the second batch")
        assert service.asked_after == [0, 0, 3]  # only the segments not shown yet
        assert growing.view.notice.text() == progress_line(35.0, 300.0)

        queue.upsert([running.model_copy(update={"status": JobStatus.COMPLETED})])
        growing.check()
        assert not growing.showing and growing.panel.currentWidget() is transcript_view
        assert growing._resume_at == (0.0, None)  # the finished transcript opens where the user was reading
    finally:
        release_loop(loop)
