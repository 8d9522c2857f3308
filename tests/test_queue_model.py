"""The queue table's model: rows update in place, time columns, sorting and the status filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from pytestqt.qtbot import QtBot

from stt_studio.jobs.models import JobOptions, JobStatus, JobView
from stt_studio.ui.models.job_table import SORT_ROLE
from stt_studio.ui.models.queue_model import Column, QueueFilterProxy, QueueTableModel


def _job(job_id: str, status: JobStatus, progress: int = 0, **extra: object) -> JobView:
    return JobView(job_id=job_id, status=status, progress=progress, filename=f"{job_id}.wav", **extra)  # type: ignore[arg-type]


def test_rows_update_in_place_and_show_live_times(qtbot: QtBot) -> None:
    model = QueueTableModel("large-v3")
    started = datetime.now(timezone.utc) - timedelta(seconds=30)
    model.upsert([_job("a", JobStatus.QUEUED, audio_seconds=125.0), _job("b", JobStatus.QUEUED)])
    with qtbot.waitSignal(model.dataChanged):
        model.upsert([_job("a", JobStatus.PROCESSING, 25, started_at=started, stage="transcribing",
                           audio_seconds=125.0, options=JobOptions(model="base", enable_diarization=True,
                                                                   min_speakers=2, max_speakers=3))])  # fmt: skip
    assert model.rowCount() == 2

    def cell(column: Column) -> object:
        return model.data(model.index(0, column))

    assert cell(Column.DURATION) == "2:05"
    assert cell(Column.STATUS) == "Running" and cell(Column.STAGE) == "Transcribing"
    assert cell(Column.PROGRESS) == 25
    assert cell(Column.ELAPSED) in {"0:30", "0:31"}
    assert cell(Column.REMAINING) in {"1:30", "1:33"}  # 30 s for 25 %: 90 s to go
    assert cell(Column.MODEL) == "base" and model.data(model.index(1, Column.MODEL)) == "large-v3"
    assert cell(Column.SPEAKERS) == "2–3"
    model.remove(["a"])
    assert model.rowCount() == 1 and model.job(0).job_id == "b"


def test_filter_and_sort(qtbot: QtBot) -> None:
    model = QueueTableModel("tiny")
    model.upsert([_job("q", JobStatus.QUEUED), _job("r", JobStatus.PROCESSING, 50), _job("f", JobStatus.FAILED),
                  _job("d", JobStatus.COMPLETED, 100)])  # fmt: skip
    proxy = QueueFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_statuses({JobStatus.FAILED, JobStatus.CANCELED})
    assert proxy.rowCount() == 1 and proxy.index(0, 0).data() == "f.wav"
    proxy.set_statuses(None)
    proxy.sort(Column.PROGRESS)
    assert [proxy.index(r, Column.PROGRESS).data(SORT_ROLE) for r in range(4)] == [0, 0, 50, 100]


def test_stage_names_read_whole_at_the_default_window_width(qtbot: QtBot) -> None:
    """At 1280 px the Stage column clipped "Finding speakers" to "Findin…eakers": every stage's name and every
    status fit their cells, measured with the font the table draws them in."""
    from PySide6.QtCore import Qt

    from stt_studio.engine.progress import Stage
    from stt_studio.ui.models.job_table import STATUS_LABELS
    from stt_studio.ui.views.queue_view import QueueView

    model = QueueTableModel("tiny")
    model.upsert([_job(stage.value, JobStatus.PROCESSING, 50, stage=stage.value) for stage in Stage])
    view = QueueView(model)
    qtbot.addWidget(view)
    view.resize(1280, 600)
    view.show()
    qtbot.waitExposed(view)
    metrics = view.table.fontMetrics()
    stage_texts = [*(s.label for s in Stage), "Downloading 99 %"]
    for column, texts in ((Column.STAGE, stage_texts), (Column.STATUS, list(STATUS_LABELS.values()))):
        room = view.cell_text_room(column)
        for text in texts:
            assert metrics.horizontalAdvance(text) <= room, (text, room)
            assert metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, room) == text
    shown = {view.proxy.index(row, Column.STAGE).data() for row in range(view.proxy.rowCount())}
    assert shown == {stage.label for stage in Stage}


def test_a_job_waiting_for_its_model_shows_the_downloads_percentage(qtbot: QtBot) -> None:
    from stt_studio.jobs.models import ModelDownload

    model = QueueTableModel("tiny")
    download = ModelDownload(model="large-v3", fraction=0.4512, done_bytes=1393, total_bytes=3087)
    model.upsert([_job("a", JobStatus.PROCESSING, 20, stage="downloading_model", download=download)])
    assert model.data(model.index(0, Column.STAGE)) == "Downloading 45 %"
    model.upsert([_job("a", JobStatus.PROCESSING, 80, stage="loading_model")])
    assert model.data(model.index(0, Column.STAGE)) == "Loading model"


def test_time_left_is_the_workers_estimate_counted_down_and_never_zero(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stt_studio.ui.models.queue_model as queue_model

    now = [1000.0]
    monkeypatch.setattr(queue_model, "time", SimpleNamespace(monotonic=lambda: now[0]), raising=False)
    model = QueueTableModel("tiny")
    started = datetime.now(timezone.utc) - timedelta(seconds=90)
    running = _job("a", JobStatus.PROCESSING, 99, started_at=started, stage="diarizing", remaining_seconds=40)
    model.upsert([running])

    def left() -> object:
        return model.data(model.index(0, Column.REMAINING))

    assert left() == "0:40"  # the worker's estimate, not 90 s × 1 % ÷ 99 % = 0:00
    now[0] += 15
    model.upsert([running])  # the same estimate polled again: still counting from when it came
    assert left() == "0:25"
    now[0] += 60
    assert left() == "0:01"  # overdue: never 0:00 while the job runs
    model.upsert([running.model_copy(update={"remaining_seconds": 12})])
    assert left() == "0:12"
    model.upsert([running.model_copy(update={"remaining_seconds": None, "progress": 99})])
    assert left() == "0:01"  # a server without estimates: from the progress so far, still never 0:00
    model.upsert([running.model_copy(update={"status": JobStatus.COMPLETED, "remaining_seconds": None})])
    assert left() == ""


def test_the_count_says_one_job(qtbot: QtBot) -> None:
    from stt_studio.ui.views.queue_view import QueueView

    model = QueueTableModel("tiny")
    view = QueueView(model)
    qtbot.addWidget(view)
    model.upsert([_job("a", JobStatus.QUEUED, 0)])
    assert view.count_label.text() == "1 job, 1 waiting or running"  # was "1 jobs"
    model.upsert([_job("b", JobStatus.COMPLETED, 100)])
    assert view.count_label.text() == "2 jobs, 1 waiting or running"
