"""One live recording: capture → the recording on disk and the live worker; the worker's words → the caller.

The recording comes first: every chunk is written before it is sent to the worker, a worker that fails leaves a
recording without live text (said once), and a recording that fails (the disk full) stops the session.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from stt_studio.live.capture import Capture, CaptureError, Level, level
from stt_studio.live.recording import Recording, RecordingError, RecordingInfo, to_pcm16
from stt_studio.live.streaming import Word
from stt_studio.live.worker import LiveWorkerConfig, run_live_worker, words_from_wire

log = logging.getLogger(__name__)

WordsCallback = Callable[[list[Word]], None]
FINISH_TIMEOUT_SECONDS = 120.0
"""How long the worker may take for the audio still in its buffer after the recording stops."""


@dataclass
class SessionOutcome:
    recording: RecordingInfo
    final_words: list[Word] = field(default_factory=list)
    stop_reason: str | None = None
    """Set when the session stopped by itself (the disk full, the capture ended)."""
    worker_error: str | None = None
    model: str | None = None
    device: str | None = None
    worker_stats: dict[str, Any] = field(default_factory=dict)


class _Alive(Protocol):
    def is_alive(self) -> bool: ...


class LiveTranscriber(Protocol):
    """What a session sends its audio to and reads its events from: ``LiveWorkerProcess`` here, or a server's
    ``/live`` (``stt_studio.live_client.RemoteLiveStream``)."""

    @property
    def process(self) -> _Alive: ...

    def send(self, samples: np.ndarray) -> None: ...

    def events(self, timeout: float = 0.0) -> list[tuple[str, Any]]: ...

    def end_of_audio(self) -> None: ...

    def close(self) -> None: ...


class LiveWorkerProcess:
    """The caller's handle on the live worker process (spawned: no state of ours leaks into it)."""

    def __init__(self, config: LiveWorkerConfig) -> None:
        context = multiprocessing.get_context("spawn")
        audio_in, self._audio = context.Pipe(duplex=False)  # (receiving end, sending end)
        self._events, events_out = context.Pipe(duplex=False)
        self.process = context.Process(
            target=run_live_worker, args=(audio_in, events_out, config), name="stt-studio live worker", daemon=True
        )
        self.process.start()
        audio_in.close()
        events_out.close()
        self._open = True

    def send(self, samples: np.ndarray) -> None:
        if self._open:
            try:
                self._audio.send(to_pcm16(samples))
            except (BrokenPipeError, OSError):
                self._open = False

    def events(self, timeout: float = 0.0) -> list[tuple[str, Any]]:
        got: list[tuple[str, Any]] = []
        try:
            while self._events.poll(timeout if not got else 0.0):
                got.append(self._events.recv())
        except (EOFError, OSError):
            got.append(("done", {}))
        return got

    def end_of_audio(self) -> None:
        if self._open:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._audio.send(None)
            self._open = False

    def close(self) -> None:
        self.end_of_audio()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._audio.close()
        self._events.close()


class LiveSession:
    def __init__(
        self,
        capture: Capture,
        recording: Recording,
        worker: LiveTranscriber | None,
        *,
        on_final: WordsCallback,
        on_partial: WordsCallback | None = None,
        on_level: Callable[[Level], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.capture = capture
        self.recording = recording
        self.worker = worker
        self._on_final = on_final
        self._on_partial = on_partial
        self._on_level = on_level
        self._on_notice = on_notice or (lambda message: log.warning("%s", message))
        self.outcome = SessionOutcome(recording.info)
        self._done = worker is None

    def run(
        self,
        should_stop: Callable[[], bool],
        max_seconds: float | None = None,
        should_pause: Callable[[], bool] | None = None,
    ) -> SessionOutcome:
        """Record until ``should_stop()`` or ``max_seconds`` of audio; then let the worker finish, and stop.
        While ``should_pause()`` the audio is neither recorded nor transcribed."""
        try:
            while not should_stop() and (max_seconds is None or self.recording.seconds < max_seconds):
                if should_pause is not None:
                    self._follow_pause(should_pause())
                chunk = self.capture.read()
                if chunk is None:
                    self.outcome.stop_reason = "The capture ended (the source went away)"
                    break
                if max_seconds is not None:
                    chunk = chunk[: max(0, round((max_seconds - self.recording.seconds) * 16_000))]
                self.recording.write(chunk)
                if self._on_level is not None:
                    self._on_level(level(chunk))
                if self.worker is not None and not self.recording.paused:
                    self.worker.send(chunk)
                    self._handle(self.worker.events())
        except (RecordingError, CaptureError) as exc:
            self.outcome.stop_reason = str(exc)
        finally:
            self.capture.close()
            self.outcome.recording = self.recording.stop(self.outcome.stop_reason)
        self._finish_worker()
        return self.outcome

    def _follow_pause(self, paused: bool) -> None:
        if paused and not self.recording.paused:
            self.recording.pause()
            self._on_notice(f"Paused at {self.recording.seconds:.1f} s")
        elif not paused and self.recording.paused:
            self.recording.resume()
            self._on_notice(f"Resumed at {self.recording.seconds:.1f} s")

    def _finish_worker(self) -> None:
        if self.worker is None:
            return
        self.worker.end_of_audio()
        waited = 0.0
        while not self._done and waited < FINISH_TIMEOUT_SECONDS and self.worker.process.is_alive():
            self._handle(self.worker.events(timeout=0.5))
            waited += 0.5
        self._handle(self.worker.events())
        self.worker.close()

    def _handle(self, events: list[tuple[str, Any]]) -> None:
        for kind, payload in events:
            if kind == "final":
                words = words_from_wire(payload)
                self.outcome.final_words.extend(words)
                self._on_final(words)
            elif kind == "partial" and self._on_partial is not None:
                self._on_partial(words_from_wire(payload))
            elif kind == "ready":
                self.outcome.model, self.outcome.device = payload["model"], payload["device"]
            elif kind == "error":
                self.outcome.worker_error = str(payload)
                self._on_notice(f"{payload}: the recording goes on without live text")
            elif kind == "done":
                self.outcome.worker_stats = dict(payload)
                self._done = True


def worker_config(settings: Any, *, model: str | None, language: str | None, prompt: str | None) -> LiveWorkerConfig:
    """The live worker's configuration from the settings (``live_model`` unless a model is asked for)."""
    return LiveWorkerConfig(
        model=model or settings.live_model,
        main_model=settings.whisper_model_size,
        device=settings.whisper_device,
        language=language,
        prompt=prompt,
        models_dir=settings.resolved_models_dir,
        offline=settings.offline,
        hf_token=settings.hf_token,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
    )
