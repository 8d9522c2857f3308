"""The queue table: one row per job of this session (and those still queued or running from before)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QSortFilterProxyModel

from stt_studio.engine.pace import MIN_LEFT_SECONDS
from stt_studio.engine.progress import Stage
from stt_studio.jobs.models import JobOptions, JobStatus, JobView
from stt_studio.ui.clock import format_clock
from stt_studio.ui.model_in_use import ModelInUse, ModelsInUse
from stt_studio.ui.models.filtering import change_row_filter
from stt_studio.ui.models.job_table import SORT_ROLE, STATUS_LABELS, Index, JobTableModel


class Column(IntEnum):
    FILE = 0
    DURATION = 1
    STATUS = 2
    STAGE = 3
    PROGRESS = 4
    ELAPSED = 5
    REMAINING = 6
    MODEL = 7
    SPEAKERS = 8


HEADERS = ("File", "Duration", "Status", "Stage", "Progress", "Elapsed", "Remaining", "Model", "Speakers")


def _speakers(options: JobOptions | None) -> str:
    if options is None or not options.enable_diarization:
        return "—"
    if options.num_speakers:
        return str(options.num_speakers)
    if options.min_speakers or options.max_speakers:
        return f"{options.min_speakers or 1}–{options.max_speakers or '…'}"
    return "auto"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


REMOTE_MARK = "⇄"
"""Before the name of a job another machine sent over the REST API (the tooltip says so)."""


def stage_text(job: JobView) -> str:
    """The stage's name; while the job waits for its model's download, how far that has got ("Downloading 45 %":
    the column has no room for the whole label and the share)."""
    if job.stage not in Stage._value2member_map_:
        return ""
    if job.stage == Stage.DOWNLOADING_MODEL.value and job.download is not None:
        return _downloading(min(int(job.download.fraction * 100), 99))  # complete: the stage is loading_model
    return Stage(job.stage).label


def _downloading(percent: int) -> str:
    return f"Downloading {percent} %"


STAGE_TEXTS = [*(stage.label for stage in Stage), _downloading(99)]
"""Every text the Stage column shows, at its widest."""


class QueueTableModel(JobTableModel):
    headers = HEADERS
    right_aligned = frozenset({Column.DURATION, Column.ELAPSED, Column.REMAINING})

    def __init__(self, default_model: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.default_model = default_model
        self.models_in_use = ModelsInUse()
        """What runs for the model a job asks for (the window shares its own, fed by the workers' reports)."""
        self.mark_uploads = True
        """Jobs sent over the REST API by another machine show as remote (off while showing a server's queue)."""
        self._jobs: list[JobView] = []
        self._rows: dict[str, int] = {}
        self._speaker_counts: dict[str, int] = {}
        """Speakers of finished jobs as their current transcripts have them (``set_speaker_count``)."""
        self._estimates: dict[str, tuple[int, float]] = {}
        """Per running job: the worker's time left as last received, and when (monotonic): counted down between
        updates."""

    # --- updates ---------------------------------------------------------------------------------------------
    def upsert(self, views: list[JobView]) -> None:
        """Add new jobs at the end, update known ones in place (only their changed row is repainted)."""
        new = [v for v in views if v.job_id not in self._rows]
        for view in views:
            self._note_estimate(view)
            row = self._rows.get(view.job_id)
            if row is not None:
                self._jobs[row] = view
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        if new:
            first = len(self._jobs)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for view in new:
                self._rows[view.job_id] = len(self._jobs)
                self._jobs.append(view)
            self.endInsertRows()

    def remove(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            row = self._rows.get(job_id)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._jobs[row]
            self._estimates.pop(job_id, None)
            self.endRemoveRows()
            self._rows = {job.job_id: i for i, job in enumerate(self._jobs)}

    def models_changed(self) -> None:
        """The workers' reports changed: the model column says what runs."""
        if self._jobs:
            self.dataChanged.emit(self.index(0, Column.MODEL), self.index(len(self._jobs) - 1, Column.MODEL))

    def model_in_use(self, job: JobView) -> ModelInUse:
        """The model that produced a job's result, or that will run for it (and why it is not the one asked)."""
        asked = (job.options.model if job.options and job.options.model else None) or self.default_model
        expected = self.models_in_use.for_model(asked)
        if job.model is None or job.model == expected.name:
            return expected
        return ModelInUse(job.model, None if job.model == asked else f"{asked} was asked for")

    def tick(self) -> None:
        """Elapsed and remaining time of running jobs move with the clock."""
        for row, job in enumerate(self._jobs):
            if job.status == JobStatus.PROCESSING:
                self.dataChanged.emit(self.index(row, Column.ELAPSED), self.index(row, Column.REMAINING))

    def job(self, row: int) -> JobView:
        return self._jobs[row]

    def set_speaker_count(self, job_id: str, count: int | None) -> None:
        """A finished job's transcript has ``count`` speakers now (None: it has none): its Speakers cell says so
        rather than what was asked for ("auto")."""
        if count is None:
            self._speaker_counts.pop(job_id, None)
        else:
            self._speaker_counts[job_id] = count
        row = self._rows.get(job_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, Column.SPEAKERS), self.index(row, Column.SPEAKERS))

    def job_by_id(self, job_id: str) -> JobView | None:
        row = self._rows.get(job_id)
        return self._jobs[row] if row is not None else None

    def jobs(self) -> list[JobView]:
        return list(self._jobs)

    # --- cells ---------------------------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self._jobs)

    def job_id_at(self, row: int) -> str:
        return self._jobs[row].job_id

    def display(self, row: int, column: int) -> Any:
        return self._display(self._jobs[row], Column(column))

    def sort_value(self, row: int, column: int) -> Any:
        return self._sort_value(self._jobs[row], Column(column))

    def tooltip(self, row: int, column: int) -> str | None:
        job = self._jobs[row]
        if column == Column.STATUS and job.error:
            return job.error
        if column == Column.FILE and job.uploaded and self.mark_uploads:
            return f"{job.filename}: sent by another machine over the REST API"
        if column == Column.MODEL:
            return self.model_in_use(job).label
        return job.filename if column == Column.FILE else None

    def _display(self, job: JobView, column: Column) -> str | int:
        if column == Column.FILE:
            name = job.filename or job.job_id
            return f"{REMOTE_MARK} {name}" if job.uploaded and self.mark_uploads else name
        if column == Column.DURATION:
            return format_clock(job.audio_seconds) if job.audio_seconds is not None else "—"
        if column == Column.STATUS:
            return STATUS_LABELS[job.status]
        if column == Column.STAGE:
            return stage_text(job)
        if column == Column.PROGRESS:
            return job.progress
        if column == Column.ELAPSED:
            elapsed = self._elapsed(job)
            return format_clock(elapsed) if elapsed is not None else ""
        if column == Column.REMAINING:
            remaining = self._remaining(job)
            return format_clock(remaining) if remaining is not None else ""
        if column == Column.MODEL:
            return self.model_in_use(job).name
        count = self._speaker_counts.get(job.job_id) if job.status == JobStatus.COMPLETED else None
        return str(count) if count is not None else _speakers(job.options)

    def _sort_value(self, job: JobView, column: Column) -> Any:
        if column == Column.DURATION:
            return job.audio_seconds or 0.0
        if column == Column.STATUS:
            return list(JobStatus).index(job.status)
        if column == Column.PROGRESS:
            return job.progress
        if column == Column.ELAPSED:
            return self._elapsed(job) or 0.0
        if column == Column.REMAINING:
            return self._remaining(job) or 0.0
        return str(self._display(job, column)).casefold()

    @staticmethod
    def _elapsed(job: JobView) -> float | None:
        started = _aware(job.started_at)
        if started is None:
            return None
        end = _aware(job.completed_at) if job.status.is_final else _now()
        return max(0.0, ((end or _now()) - started).total_seconds())

    def _note_estimate(self, view: JobView) -> None:
        if view.remaining_seconds is None or view.status != JobStatus.PROCESSING:
            self._estimates.pop(view.job_id, None)
            return
        known = self._estimates.get(view.job_id)
        if known is None or known[0] != view.remaining_seconds:
            self._estimates[view.job_id] = (view.remaining_seconds, time.monotonic())

    def _remaining(self, job: JobView) -> float | None:
        """The worker's estimate, counted down since it came; from the progress so far when a server gives none.
        Never under a second while the job runs."""
        if job.status != JobStatus.PROCESSING:
            return None
        estimate = self._estimates.get(job.job_id)
        if estimate is not None:
            seconds, received = estimate
            return max(MIN_LEFT_SECONDS, seconds - (time.monotonic() - received))
        if job.progress < 3:
            return None
        elapsed = self._elapsed(job)
        return max(MIN_LEFT_SECONDS, elapsed * (100 - job.progress) / job.progress) if elapsed else None


class QueueFilterProxy(QSortFilterProxyModel):
    """Sorts by raw values and shows the jobs whose status is in the chosen set (all by default)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._statuses: set[JobStatus] | None = None

    def set_statuses(self, statuses: set[JobStatus] | None) -> None:
        def change() -> None:
            self._statuses = statuses

        change_row_filter(self, change)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._statuses is None:
            return True
        model = self.sourceModel()
        assert isinstance(model, QueueTableModel)
        return model.job(source_row).status in self._statuses
