"""One speaker count per finished job, its current transcript's (``engine.speakers.speaker_count``): the library's
Speakers column and the queue's, once the job has finished, say what the transcript's header says, also right after a
review added, merged or reassigned speakers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.speakers import speaker_count
from stt_studio.jobs.models import JobStatus, LibraryEntry
from stt_studio.ui.service import JobService

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

log = logging.getLogger(__name__)


class SpeakerCounts(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._known: dict[str, int | None] = {}
        """Counts read here from transcripts: those shown (as last shown or edited) and those counted for the
        queue."""
        self._asked: set[str] = set()
        document = window.transcript_view.document
        document.loaded.connect(self._on_shown)
        document.changed.connect(lambda _before, after: self._on_shown(after))

    def _on_shown(self, result: TranscriptionResult | None) -> None:
        job = self.window.transcript_view.job()
        if job is not None and result is not None:
            self._set(job.job_id, speaker_count(result))

    def _set(self, job_id: str, count: int | None) -> None:
        window = self.window
        self._known[job_id] = count
        window.queue_model.set_speaker_count(job_id, count)
        entry = window._library_entries.get(job_id)
        if entry is not None and entry.speakers != count:
            window._library_entries[job_id] = entry.model_copy(update={"speakers": count})
            window.library_view.set_entries(list(window._library_entries.values()))

    def library_loaded(self, entries: list[LibraryEntry]) -> list[LibraryEntry]:
        """``entries`` as the library shows them: the transcript shown here counts as it is now (its last edit may
        not be saved yet), and a server's library, which has no counts, takes those known here. The queue's finished
        rows take their counts from them; a finished job with speakers whose count is still unknown is counted from
        its transcript."""
        window = self.window
        shown = window.transcript_view.job()
        counted: list[LibraryEntry] = []
        for entry in entries:
            known = self._known.get(entry.job_id, entry.speakers)
            if entry.job_id in self._known and (entry.speakers is None or (shown and shown.job_id == entry.job_id)):
                entry = entry.model_copy(update={"speakers": known})
            counted.append(entry)
            if entry.status == JobStatus.COMPLETED and entry.speakers is not None:
                window.queue_model.set_speaker_count(entry.job_id, entry.speakers)
        listed = {entry.job_id: entry for entry in counted}
        unknown = [
            job.job_id
            for job in window.queue_model.jobs()
            if job.status == JobStatus.COMPLETED
            and job.options is not None
            and job.options.enable_diarization
            and job.job_id not in self._asked
            and job.job_id not in self._known
            and (listed[job.job_id].speakers if job.job_id in listed else None) is None
        ]
        if unknown:
            self._asked.update(unknown)
            window.spawn(self._count(unknown, window.service))
        return counted

    async def _count(self, job_ids: list[str], service: JobService) -> None:
        for job_id in job_ids:
            try:
                stored = await service.transcript(job_id)
            except Exception as exc:  # removed meanwhile, a server out of reach: the cell keeps what was asked
                log.info("No speaker count for %s: %s", job_id, exc)
                continue
            if service is not self.window.service or job_id in self._known:
                continue
            self._set(job_id, speaker_count(stored.result))
