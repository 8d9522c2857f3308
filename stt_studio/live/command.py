"""``stt-studio live``: record a source, print the final text as it is decided, keep the recording, queue it."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from stt_studio.jobs.models import JobOptions
from stt_studio.live.capture import Capture, CaptureError, NoInputDeviceError, choose_source, list_sources
from stt_studio.live.jobs import submit_recording
from stt_studio.live.recording import (
    InterruptedRecording,
    Recording,
    RecordingInfo,
    interrupted_recordings,
    recover,
)
from stt_studio.live.session import LiveSession, LiveWorkerProcess, worker_config
from stt_studio.live.streaming import Word, sentences, text_of
from stt_studio.settings import Settings

EXIT_USAGE = 2
EXIT_NO_DEVICE = 3
EXIT_STOPPED = 1
PAUSE_SIGNAL = signal.SIGUSR1
"""Pauses a recording (``kill -USR1 PID``): the audio until ``RESUME_SIGNAL`` is neither kept nor transcribed."""
RESUME_SIGNAL = signal.SIGUSR2


@dataclass(frozen=True)
class LiveRequest:
    source: str | None
    model: str | None
    language: str | None
    prompt: str | None
    save: Path | None
    duration: float | None
    queue: bool
    transcribe: bool = True


Say = Callable[[str], None]


def print_sources(say_out: Say) -> None:
    for source in list_sources():
        mark = "*" if source.is_default else " "
        say_out(f"{mark} {source.name}\t{source.label}")


def offer_interrupted(settings: Settings, say: Say) -> list[InterruptedRecording]:
    found = interrupted_recordings(settings.data_dir)
    for recording in found:
        say(
            f"An interrupted recording: {recording.describe()} ({recording.info.path}); "
            "stt-studio live --recover keeps it (with --queue: and transcribes it)"
        )
    return found


def recover_all(settings: Settings, queue: bool, say: Say, say_out: Say) -> int:
    found = interrupted_recordings(settings.data_dir)
    if not found:
        say("No interrupted recording")
    for recording in found:
        info = recover(settings.data_dir, recording)
        say(f"Recovered {recording.describe()}: {info.path}")
        if queue:
            say_out(f"job {queue_recording(settings, info, None, None)}")
    return 0


def queue_recording(settings: Settings, info: RecordingInfo, language: str | None, prompt: str | None) -> str:
    """Submit the recording as an ordinary job (the path the desktop's own files take); its id."""
    from stt_studio.jobs.connection import connect
    from stt_studio.jobs.store import JobStore

    store = JobStore(connect(settings), settings.data_dir)
    return submit_recording(store, info, JobOptions(language=language, prompt=prompt), settings.max_audio_seconds)


class _LinePrinter:
    """Final words → whole sentences on stdout (what is left at the end, too)."""

    def __init__(self, say_out: Say) -> None:
        self._say_out = say_out
        self._pending: list[Word] = []

    def add(self, words: list[Word]) -> None:
        lines, self._pending = sentences([*self._pending, *words])
        for line in lines:
            self._say_out(line)

    def flush(self) -> None:
        if self._pending:
            self._say_out(text_of(self._pending))
            self._pending = []


def run_live(settings: Settings, request: LiveRequest, say: Say, say_out: Say) -> int:
    try:
        sources = choose_source(list_sources(), request.source)
    except NoInputDeviceError as exc:
        say(str(exc))
        return EXIT_NO_DEVICE
    except CaptureError as exc:
        say(str(exc))
        return EXIT_USAGE
    offer_interrupted(settings, say)
    stop_asked = False
    pause_asked = False

    def ask_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop_asked
        stop_asked = True

    def ask_pause(signum: int, _frame: FrameType | None) -> None:
        nonlocal pause_asked
        pause_asked = signum == PAUSE_SIGNAL

    previous = {sig: signal.signal(sig, handler) for sig, handler in
                ((signal.SIGINT, ask_stop), (PAUSE_SIGNAL, ask_pause), (RESUME_SIGNAL, ask_pause))}  # fmt: skip
    worker = None
    try:
        capture = Capture(sources)
        try:
            recording = Recording(settings.data_dir, capture.name, request.save)
        except OSError as exc:
            capture.close()
            say(f"Cannot write the recording to {request.save or settings.data_dir}: {exc.strerror or exc}")
            return EXIT_USAGE
        if request.transcribe:
            config = worker_config(settings, model=request.model, language=request.language, prompt=request.prompt)
            worker = LiveWorkerProcess(config)
        printer = _LinePrinter(say_out)
        session = LiveSession(capture, recording, worker, on_final=printer.add, on_notice=say)
        say(
            f"Recording {', '.join(s.label for s in sources)} to {recording.path} "
            f"(Ctrl+C stops; kill -USR1 {os.getpid()} pauses, kill -USR2 {os.getpid()} resumes)"
        )
        outcome = session.run(lambda: stop_asked, request.duration, lambda: pause_asked)
        printer.flush()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    info = outcome.recording
    say(f"Saved {info.path} ({recording.seconds:.1f} s)")
    if outcome.stop_reason:
        say(outcome.stop_reason)
    if request.queue:
        job_id = queue_recording(settings, info, request.language, request.prompt)
        say(f"Queued the recording as job {job_id} (stt-studio export {job_id} once it has finished)")
        say_out(f"job {job_id}")
    return EXIT_STOPPED if outcome.stop_reason else 0


def say_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def say_to_stdout(message: str) -> None:
    print(message, flush=True)
