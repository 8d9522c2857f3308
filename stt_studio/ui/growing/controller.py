"""While the job selected in the queue transcribes, the transcript's place in the window shows its transcript so far,
growing a batch at a time; once it has finished, its transcript takes the place back, at the part the user was
reading.

Only the ``JobService`` interface is used (local and remote queues alike), from the event loop: the reads run off
the GUI thread, one at a time, and each adds only the segments not shown yet, until the aligned segments (word times)
replace them all once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QStackedWidget

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.ui.growing.view import GrowingTranscriptView, aligned_line
from stt_studio.ui.service import JobService
from stt_studio.ui.views.queue_view import QueueView
from stt_studio.ui.views.transcript_view import TranscriptView

log = logging.getLogger(__name__)

PLACE_DELAY_MS = 200
"""After the finished transcript has loaded: the view fits its rows a turn of the event loop after it loads."""
READ_EVERY_MS = 1000
"""How often the transcript so far is read while it is shown (a batch takes seconds even on a GPU)."""

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class GrowingTranscript(QObject):
    def __init__(
        self,
        transcript_view: TranscriptView,
        queue_view: QueueView,
        service: Callable[[], JobService],
        spawn: Spawn,
    ) -> None:
        super().__init__(transcript_view)
        self.transcript_view = transcript_view
        self._view: GrowingTranscriptView | None = None
        self.panel = QStackedWidget()
        """Where the transcript view sat: it, or the growing transcript in its place."""
        self.panel.addWidget(transcript_view)
        self._service = service
        self._queue_view = queue_view
        self._spawn = spawn
        self._job: JobView | None = None
        self._reading = False
        self._resume_at: tuple[float | None, float | None] | None = None
        """Where the user was when the job finished (the audio times of the top row and the selected one): the
        finished transcript opens there."""
        self._timer = QTimer(self)
        self._timer.setInterval(READ_EVERY_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        transcript_view.document.loaded.connect(self._on_transcript_loaded)

    @property
    def view(self) -> GrowingTranscriptView:
        """Made when first needed: its player is a second media player, which most sessions never use."""
        if self._view is None:
            self._view = GrowingTranscriptView()
            self.panel.addWidget(self._view)
        return self._view

    @property
    def showing(self) -> bool:
        return self._view is not None and self.panel.currentWidget() is self._view

    def check(self) -> None:
        """Follow the selected job: show it growing while it transcribes, read what it has added (every second)."""
        job = self._selected()
        if job is None or job.status != JobStatus.PROCESSING:
            if self._job is not None:
                self._stop(ended=job is not None and job.job_id == self._job.job_id)
            return
        if self._job is None or job.job_id != self._job.job_id:
            self._begin(job)
        self._job = job
        if not self._reading:
            self._reading = True
            self._spawn(self._read(job.job_id, self._service()))

    def _selected(self) -> JobView | None:
        """The one job selected in the queue, if one is."""
        ids = self._queue_view.selected_job_ids()
        return self._queue_view.model.job_by_id(ids[0]) if len(ids) == 1 else None

    def _begin(self, job: JobView) -> None:
        self.view.start(job.filename or job.job_id, None)
        self.panel.setCurrentWidget(self.view)
        self._resume_at = None
        self._spawn(self._load_media(job.job_id, self._service()))

    def _stop(self, *, ended: bool) -> None:
        """No longer follow the job: it ``ended`` (its transcript opens where the user was), or another is chosen."""
        self._job = None
        if self.showing:
            self._resume_at = (self.view.top_time(), self.view.selected_time()) if ended else None
            self.view.player.pause()
            self.panel.setCurrentWidget(self.transcript_view)

    async def _load_media(self, job_id: str, service: JobService) -> None:
        media = await service.media_path(job_id)
        if self._job is not None and self._job.job_id == job_id:
            self.view.player.load(media)

    async def _read(self, job_id: str, service: JobService) -> None:
        view = self.view
        after = view.model.segments[-1].id + 1 if view.model.segments else 0
        try:
            found = await service.partial(job_id, after)
            if found is not None and found.words_aligned and not view.words_aligned and after > 0:
                found = await service.partial(job_id, 0)  # they replace what is shown: all of them, from id 0
        except Exception as exc:  # a queue restarting, a server away: the next second tries again
            log.debug("Could not read the transcript so far of %s: %s", job_id, exc)
            return
        finally:
            self._reading = False
        job = self._job
        if found is None or job is None or job.job_id != job_id or service is not self._service():
            return
        if found.words_aligned and not view.words_aligned:
            speakers = bool(job.options and job.options.enable_diarization)
            view.replace_with_aligned(found.segments, aligned_line(speakers))
        elif not view.words_aligned:
            # (shown aligned, read decoded: an attempt begun again after its worker died, which reads the same
            # aligned segments back from its checkpoint)
            view.add(found.segments, found.until, job.audio_seconds)

    def _on_transcript_loaded(self, result: TranscriptionResult | None) -> None:
        """A transcript opened (the finished one, or another the user chose): it has the place now."""
        place, self._resume_at = self._resume_at, None
        opened, followed = self.transcript_view.job(), self._job
        if self.showing and opened is not None and followed is not None and opened.job_id == followed.job_id:
            place = (self.view.top_time(), self.view.selected_time())  # it has finished: opened before our next check
        self.panel.setCurrentWidget(self.transcript_view)
        if result is not None and place is not None:
            # once the view has laid the transcript out and fitted its rows (it scrolls to the top as it loads)
            QTimer.singleShot(PLACE_DELAY_MS, self, lambda: self._go_back_to(*place))

    def _go_back_to(self, top: float | None, selected: float | None) -> None:
        view = self.transcript_view
        model = view.segments_model
        if selected is not None and (segment := model.segment_at_time(selected)) is not None:
            view.select_segment(segment)
        if top is not None and (segment := model.segment_at_time(top)) is not None:
            view.scroll_segment_to_top(segment)
