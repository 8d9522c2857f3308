"""The window's Record action (toolbar, Jobs menu, Ctrl+Shift+R): opens the recording panel, lists the sound
sources off the GUI thread, runs the session (``runner.LiveRunner``), shows its level and live text (in the panel
and, as the live draft, in the transcript's place), and on Stop makes the recording a job with the batch options of
the New files bar, like a dropped file; when that job is done its transcript replaces the draft.

The audio is always captured and written here. Its live text comes from the window's ``JobService``
(``open_live_stream``): this computer's live worker, or in remote mode the server's ``/live``, which also makes the
recording's job; a stream that dropped leaves the recording to be uploaded as a job when it stops. Quitting while
recording stops the recording, keeps it and queues it (``keep_for_quit``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.live.capture import CaptureError, Source, choose_source, list_sources
from stt_studio.live.session import SessionOutcome
from stt_studio.ui.live.draft import LiveDraft
from stt_studio.ui.live.panel import RecordingPanel
from stt_studio.ui.live.runner import LiveRunner, LiveStart
from stt_studio.ui.service import JobService, LocalJobService
from stt_studio.ui.views.notices import Tone

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

log = logging.getLogger(__name__)

RECORD_SHORTCUT = "Ctrl+Shift+R"
REMOTE_TOOLTIP = (
    f"Record a microphone or this computer's sound: kept on this computer, streamed to the server for the live text "
    f"and its job ({RECORD_SHORTCUT})"
)
LOCAL_TOOLTIP = f"Record a microphone or this computer's sound, with live text ({RECORD_SHORTCUT})"
QUIT_WAIT_SECONDS = 30.0
"""At quit, how long the live text's tail (and the server's job) may take before the recording is queued without."""


class LiveRecording(QObject):
    def __init__(self, window: MainWindow, service: LocalJobService) -> None:
        super().__init__(window)
        self.window = window
        self.service = service
        """This computer's queue: its settings say where recordings are written, in remote mode too."""
        self.panel: RecordingPanel | None = None
        self.draft: LiveDraft | None = None
        self.runner: LiveRunner | None = None
        self.sources: list[Source] = []
        self.queued_job_ids: list[str] = []
        """The jobs made of this window's recordings (tests read them)."""
        self.draft_job_id: str | None = None
        """The job whose transcript replaces the live draft when it is done."""
        self._stream_service: JobService | None = None
        self._stopped = asyncio.Event()
        self._stopped.set()
        self._queueing: asyncio.Future[object] | None = None
        self._kept_at_quit = False
        self._following: set[JobService] = set()
        icon = window.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self.action = QAction(icon, "&Record…", window)
        self.action.setShortcut(QKeySequence(RECORD_SHORTCUT))
        self.action.setToolTip(LOCAL_TOOLTIP)
        self.action.triggered.connect(self.open)
        self._clock = QTimer(self)
        self._clock.setInterval(250)
        self._clock.timeout.connect(self._tick)
        window.quit_finished.connect(self.shut_down)

    def follow_service(self, local: bool) -> None:
        """The window moved to this computer's queue (``local``) or to a server's."""
        self.action.setToolTip(LOCAL_TOOLTIP if local else REMOTE_TOOLTIP)

    # --- the panel -------------------------------------------------------------------------------------------
    def open(self) -> None:
        if self.panel is None:
            panel = RecordingPanel(self.window)
            panel.record_requested.connect(self.record)
            panel.pause_toggled.connect(self._pause)
            panel.stop_requested.connect(self.stop)
            self.panel = panel
        self.panel.show()
        self.panel.raise_()
        if self.runner is None:
            self.window.spawn(self._list_sources())

    async def _list_sources(self) -> None:
        panel = self.panel
        assert panel is not None
        panel.status.setText("Looking for sound sources…")
        try:
            sources = await asyncio.get_running_loop().run_in_executor(None, list_sources)
            choose_source(sources, None)  # none at all: its sentence
        except CaptureError as exc:
            panel.show_problem(str(exc))
            panel.status.setText("")
            return
        self.sources = sources
        panel.show_sources(sources)
        panel.status.setText("Choose a source and press Record.")

    # --- one recording ---------------------------------------------------------------------------------------
    def record(self, source_name: str) -> None:
        panel = self.panel
        if panel is None or self.runner is not None:
            return
        try:
            sources = choose_source(self.sources, source_name)
        except CaptureError as exc:
            panel.show_problem(str(exc))
            return
        options = self.window.batch_options.options()
        service = self.window.service
        runner = LiveRunner(self.service.settings, service.open_live_stream, self)
        draft = self._show_draft()
        runner.started.connect(self._on_started)
        runner.final.connect(panel.live_text.add_final)
        runner.partial.connect(panel.live_text.set_provisional)
        runner.final.connect(draft.text.add_final)
        runner.partial.connect(draft.text.set_provisional)
        runner.level.connect(panel.show_level)
        runner.notice.connect(self._on_notice)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_finished)
        self.runner = runner
        self._stream_service = service
        self._stopped.clear()
        self._kept_at_quit = False
        self.draft_job_id = None
        panel.show_recording()
        panel.status.setText("Starting…")
        runner.start(LiveStart(sources, options.language, options.prompt))

    def _show_draft(self) -> LiveDraft:
        """The live draft takes the transcript's place (a transcript the user opens takes it back)."""
        place = self.window.growing.panel
        if self.draft is None:
            self.draft = LiveDraft()
            place.addWidget(self.draft)
        self.draft.show_recording()
        place.setCurrentWidget(self.draft)
        return self.draft

    def _on_started(self, path: str) -> None:
        self._clock.start()
        if self.panel is not None:
            remote = self._stream_service is not self.service
            self.panel.status.setText(f"Recording to {path}" + (" (live text from the server)" if remote else ""))

    def _on_notice(self, text: str) -> None:
        if self.panel is not None:
            self.panel.status.setText(text)

    def _tick(self) -> None:
        if self.panel is not None and self.runner is not None:
            self.panel.show_elapsed(self.runner.seconds())

    def _pause(self, paused: bool) -> None:
        if self.runner is not None:
            self.runner.pause(paused)

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            if self.panel is not None:
                self.panel.show_finishing()

    def _on_failed(self, sentence: str) -> None:
        self.runner = None
        self._stopped.set()
        if self.panel is not None:
            self.panel.show_idle()
            self.panel.status.setText(sentence)

    def _on_finished(self, outcome: SessionOutcome | None) -> None:
        self._clock.stop()
        self.runner = None
        self._stopped.set()
        if self._kept_at_quit:
            return  # queued already (``keep_for_quit`` waited no longer for it)
        panel = self.panel
        if panel is not None:
            panel.show_idle()
        if outcome is None:
            self.window.notices.show_notice("The recording stopped with an error", [], Tone.ERROR)
            return
        path = outcome.recording.path
        lines = [str(path)]
        if outcome.stop_reason:
            lines.insert(0, outcome.stop_reason)
            self.window.notices.show_notice("The recording stopped by itself", lines, Tone.WARNING)
        service = self._stream_service
        job_id = outcome.worker_stats.get("job_id")
        if panel is not None:
            if job_id:
                panel.status.setText(f"Saved {path}; the server transcribes it as a job with its live text's options.")
            elif service is not self.service:
                panel.status.setText(f"Saved {path}; the server's live stream ended early ({outcome.worker_error}), "
                                     "so the recording is uploaded as a job with the New files options.")  # fmt: skip
            else:
                panel.status.setText(f"Saved {path}; it is queued as a job with the New files options.")
        self._queueing = self.window.spawn(self._queue(path, str(job_id) if job_id else None, service))

    async def _queue(self, path: Path, stream_job_id: str | None, service: JobService | None) -> None:
        if stream_job_id is not None:
            if service is not self.window.service or service is None:
                return  # the window moved to another queue meanwhile: the job is the server's, the file kept here
            job_ids = [(await service.follow_recording_job(stream_job_id, path)).job_id]
        else:
            job_ids = await queue_recordings(self.window, [path])
        self.queued_job_ids.extend(job_ids)
        if job_ids:
            self._follow_draft_job(job_ids[0])

    # --- the job's transcript replaces the draft -------------------------------------------------------------
    def _follow_draft_job(self, job_id: str) -> None:
        self.draft_job_id = job_id
        if self.draft is not None:
            self.draft.show_queued()
        service = self.window.service
        if service not in self._following:
            self._following.add(service)
            service.job_finished.connect(self._on_job_finished)
        job = self.window.queue_model.job_by_id(job_id)
        if job is not None and job.status.is_final:  # it finished before we heard its id
            self._on_job_finished(job)

    def _on_job_finished(self, view: JobView) -> None:
        if view.job_id != self.draft_job_id or self.draft is None:
            return
        self.draft_job_id = None
        if view.status != JobStatus.COMPLETED:
            self.draft.show_failed(view.error or view.status.value)
            return
        if self.window.growing.panel.currentWidget() is not self.draft:
            return  # the user opened another transcript meanwhile: theirs stays
        queue_view = self.window.queue_view
        queue_view.select_jobs([view.job_id])  # selecting a completed job opens it
        if queue_view.selected_job_ids() != [view.job_id]:
            self.window.open_job(view.job_id)

    # --- quitting ----------------------------------------------------------------------------------------------
    async def keep_for_quit(self) -> None:
        """The app quits while recording: the recording stops, is kept, and becomes a job as if Stop had been pressed
        (this computer's queue runs it at the next start; a server runs it now). The live text's tail (and the
        server's job) is waited for up to ``QUIT_WAIT_SECONDS``; after that the file is queued without them."""
        runner = self.runner
        if runner is not None:
            self.stop()
            try:
                await asyncio.wait_for(self._stopped.wait(), QUIT_WAIT_SECONDS)
            except TimeoutError:
                recording = runner.recording
                if recording is not None:
                    self._kept_at_quit = True
                    self._queueing = self.window.spawn(self._queue(recording.path, None, self._stream_service))
        if self._queueing is not None and not self._queueing.done():
            try:
                await self._queueing
            except Exception:  # already a notice (spawn); the quit goes on, the file is kept
                log.exception("The recording could not be queued at quit")

    def shut_down(self) -> None:
        """The app has quit: a recording still running (``keep_for_quit`` could not wait for it) is stopped; its file
        is kept."""
        if self.runner is not None:
            self.runner.stop()
            self.runner.wait(5)


async def queue_recordings(window: MainWindow, paths: list[Path]) -> list[str]:
    """Queue recordings the way the window queues added files (checked by the service, the batch options of the New
    files bar); the ids of the jobs made of them."""
    await window.add_paths(paths)
    names = {path.name for path in paths}
    return [job.job_id for job in window.queue_model.jobs() if job.filename in names]
