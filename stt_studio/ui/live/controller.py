"""The window's Record action (toolbar, Jobs menu, Ctrl+Shift+R): opens the recording panel, lists the sound
sources off the GUI thread, runs the session (``runner.LiveRunner``), shows its level and live text, and on Stop
hands the recording to the window's queue with the batch options of the New files bar, like a dropped file.

Local mode only: in remote mode the action is disabled (the audio would have to stream to the server's ``/live``,
not built in the window yet)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle

from stt_studio.live.capture import CaptureError, Source, choose_source, list_sources
from stt_studio.live.session import SessionOutcome
from stt_studio.ui.live.panel import RecordingPanel
from stt_studio.ui.live.runner import LiveRunner, LiveStart
from stt_studio.ui.service import LocalJobService
from stt_studio.ui.views.notices import Tone

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

RECORD_SHORTCUT = "Ctrl+Shift+R"
REMOTE_TOOLTIP = "Recording works with this computer's queue only: not in remote mode yet"
LOCAL_TOOLTIP = f"Record a microphone or this computer's sound, with live text ({RECORD_SHORTCUT})"


class LiveRecording(QObject):
    def __init__(self, window: MainWindow, service: LocalJobService) -> None:
        super().__init__(window)
        self.window = window
        self.service = service
        self.panel: RecordingPanel | None = None
        self.runner: LiveRunner | None = None
        self.sources: list[Source] = []
        self.queued_job_ids: list[str] = []
        """The jobs made of this window's recordings (tests read them)."""
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
        self.action.setEnabled(local)
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
        runner = LiveRunner(self.service.settings, self)
        runner.started.connect(self._on_started)
        runner.final.connect(panel.live_text.add_final)
        runner.partial.connect(panel.live_text.set_provisional)
        runner.level.connect(panel.show_level)
        runner.notice.connect(lambda text: panel.status.setText(text))
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_finished)
        self.runner = runner
        panel.show_recording()
        panel.status.setText("Starting…")
        runner.start(LiveStart(sources, options.language, options.prompt))

    def _on_started(self, path: str) -> None:
        self._clock.start()
        if self.panel is not None:
            self.panel.status.setText(f"Recording to {path}")

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
        if self.panel is not None:
            self.panel.show_idle()
            self.panel.status.setText(sentence)

    def _on_finished(self, outcome: SessionOutcome | None) -> None:
        self._clock.stop()
        self.runner = None
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
        if panel is not None:
            panel.status.setText(f"Saved {path}; it is queued as a job with the New files options.")
        self.window.spawn(self._queue(outcome))

    async def _queue(self, outcome: SessionOutcome) -> None:
        job_ids = await queue_recordings(self.window, [outcome.recording.path])
        self.queued_job_ids.extend(job_ids)

    def shut_down(self) -> None:
        """The app quits: stop a recording (its file is kept and stopped; the job is not made: a recording that
        could not be stopped in time is offered at the next start)."""
        if self.runner is not None:
            self.runner.stop()
            self.runner.wait(5)


async def queue_recordings(window: MainWindow, paths: list[Path]) -> list[str]:
    """Queue recordings the way the window queues added files (checked by the service, the batch options of the New
    files bar); the ids of the jobs made of them."""
    await window.add_paths(paths)
    names = {path.name for path in paths}
    return [job.job_id for job in window.queue_model.jobs() if job.filename in names]
