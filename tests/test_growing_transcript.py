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

from stt_studio.engine.result import Segment, Word
from stt_studio.jobs.models import JobStatus, JobView, PartialTranscript
from stt_studio.ui.growing.controller import GrowingTranscript
from stt_studio.ui.growing.view import (
    STILL_TRANSCRIBING,
    WORDS_ALIGNED,
    GrowingTranscriptView,
    aligned_line,
    progress_line,
)
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


def _aligned(count: int) -> list[Segment]:
    """What alignment may make of ``_batch(0, count // 2)``: each segment split in two, with word times."""
    return [
        Segment(
            id=i,
            start=i * 3.5,
            end=i * 3.5 + 3,
            text=f"Half {i} of the office.",
            words=[Word(word="Half", start=i * 3.5, end=i * 3.5 + 0.4, score=0.9)],
        )
        for i in range(count)
    ]


def test_the_aligned_segments_replace_the_rows_keeping_the_selection_and_scroll_position_by_time(
    qtbot: QtBot,
) -> None:
    view = GrowingTranscriptView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    view.start("talk.wav", None)
    view.add(_batch(0, 16), 120.0, 300.0)
    view.table.setFixedHeight(90)
    qtbot.wait(10)
    view.find_bar.find_edit.setText("office")  # every row
    view.table.selectRow(5)  # 35.0 s
    bar = view.table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2 + 3)  # mid-row: a few pixels into the top row
    top_time, top_row = view.top_time(), view.table.rowAt(0)
    into_row = -view.table.rowViewportPosition(top_row)
    assert top_time is not None and top_row > 0 and into_row > 0

    view.replace_with_aligned(_aligned(32), aligned_line(speakers=True))
    assert view.words_aligned and view.notice.text() == WORDS_ALIGNED == "Word times are in — speakers come at the end"
    assert [s.id for s in view.model.segments] == list(range(32)) and view.model.segments[0].words
    assert view.table.currentIndex().row() == 10 and view.selected_time() == 35.0  # the same time, a new row
    assert view.top_time() == top_time and view.table.rowAt(0) == 2 * top_row
    assert -view.table.rowViewportPosition(view.table.rowAt(0)) == into_row  # to the pixel
    assert view.find_bar.count_label.text() == "11 of 32"  # find counts the new rows, from the selected one
    assert aligned_line(speakers=False) == "Word times are in — finishing"


class _RunningJobs(JobService):
    """A queue whose one running job has ``segments`` so far; records what each read asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[Segment] = []
        self.words_aligned = False
        self.asked_after: list[int] = []

    async def partial(self, job_id: str, after: int = 0) -> PartialTranscript | None:
        self.asked_after.append(after)
        kept = [s for s in self.segments if s.id >= after]
        if not self.segments:
            return None
        return PartialTranscript(segments=kept, until=len(self.segments) * 7.0, words_aligned=self.words_aligned)

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

        service.segments, service.words_aligned = _aligned(8), True
        growing.check()
        wait_until(qapp, lambda: growing.view.words_aligned, 5, "the aligned segments")
        assert service.asked_after[3:] == [5, 0]  # told that what it shows is replaced, it reads them all
        assert growing.view.model.segments == _aligned(8) and growing.view.notice.text() == aligned_line(False)
        growing.check()
        wait_until(qapp, lambda: len(service.asked_after) == 6, 5, "the next read")
        assert service.asked_after[-1] == 8 and growing.view.model.rowCount() == 8

        queue.upsert([running.model_copy(update={"status": JobStatus.COMPLETED})])
        growing.check()
        assert not growing.showing and growing.panel.currentWidget() is transcript_view
        assert growing._resume_at == (0.0, None)  # the finished transcript opens where the user was reading
    finally:
        release_loop(loop)
