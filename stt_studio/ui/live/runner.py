"""A live session off the GUI thread: a Python thread runs ``LiveSession`` (capture, recording, and the live text
from ``open_stream``: this computer's live worker, or a server's ``/live``) and hands its events to the window
through Qt signals, which Qt queues to the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from stt_studio.live.capture import Capture, CaptureError, Level, Source
from stt_studio.live.recording import Recording
from stt_studio.live.session import LiveSession, LiveTranscriber, SessionOutcome
from stt_studio.live.streaming import Word
from stt_studio.settings import Settings


@dataclass(frozen=True)
class LiveStart:
    sources: list[Source]
    language: str | None
    prompt: str | None


class LiveRunner(QObject):
    """One recording. ``start`` → ``started`` (the file) → ``final``/``partial``/``level``/``notice`` → ``stop`` →
    ``finished`` (the outcome), or ``failed`` (a sentence) when it cannot start."""

    started = Signal(str)
    final = Signal(list)
    partial = Signal(list)
    level = Signal(float)
    notice = Signal(str)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        open_stream: Callable[[str | None, str | None], LiveTranscriber],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._open_stream = open_stream
        """(language, prompt) → where the audio goes for its live text (``JobService.open_live_stream``)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.recording: Recording | None = None
        self.outcome: SessionOutcome | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request: LiveStart) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(request,), name="live recording", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def pause(self, paused: bool) -> None:
        """Audio while paused is neither kept nor transcribed (the level meter goes on)."""
        if self.recording is not None:
            if paused:
                self.recording.pause()
            else:
                self.recording.resume()

    def seconds(self) -> float:
        return self.recording.seconds if self.recording is not None else 0.0

    def wait(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, request: LiveStart) -> None:
        try:
            capture = Capture(request.sources)
        except CaptureError as exc:
            self.failed.emit(str(exc))
            return
        try:
            self.recording = Recording(self._settings.data_dir, capture.name)
        except OSError as exc:
            capture.close()
            self.failed.emit(f"The recording cannot be written to {self._settings.data_dir}: {exc.strerror or exc}")
            return
        worker: LiveTranscriber | None = None
        worker_problem = None
        try:
            worker = self._open_stream(request.language, request.prompt)
        except (OSError, ValueError) as exc:  # the recording matters more than its live text: it goes on without
            worker_problem = f"The live text could not start ({exc}): the recording goes on without it"
        session = LiveSession(
            capture,
            self.recording,
            worker,
            on_final=self._emit_final,
            on_partial=self._emit_partial,
            on_level=self._emit_level,
            on_notice=self.notice.emit,
        )
        self.started.emit(str(self.recording.path))
        if worker_problem is not None:
            self.notice.emit(worker_problem)
        try:
            self.outcome = session.run(self._stop.is_set)
        finally:
            self.finished.emit(self.outcome)

    def _emit_final(self, words: list[Word]) -> None:
        self.final.emit(words)

    def _emit_partial(self, words: list[Word]) -> None:
        self.partial.emit(words)

    def _emit_level(self, value: Level) -> None:
        self.level.emit(value.rms_db)
