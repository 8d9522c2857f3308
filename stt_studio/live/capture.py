"""Sound sources and their capture at 16 kHz mono, through the PulseAudio client tools (``pactl``, ``parec``).

Why PulseAudio's client rather than Qt Multimedia or PortAudio: "this computer's sound" on Linux is the monitor of
an output, and only the sound server's own clients see monitors. Qt Multimedia 6 (QMediaDevices, PySide6 6.11)
lists the microphones but leaves every monitor source out (measured: a null sink's ``S.monitor`` is absent, a null
source is listed); PortAudio (``sounddevice``) sees them only through ALSA's ``pulse`` plugin and needs
``libportaudio2`` installed. ``pactl``/``parec`` talk to PulseAudio and to PipeWire's pulse server alike (the
desktop Linux of today), name every source as the server does, and resample to 16 kHz mono in the server. The
capture runs as a child process that writes raw samples to a pipe: no audio thread in our process, and a capture
that dies says why on its stderr. Linux only for now (macOS and Windows would take Qt's QAudioSource).

A source named ``A+B`` mixes two sources (a call: your microphone plus the monitor of what you hear).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 0.1
MIX_SEPARATOR = "+"
PAREC_FORMAT = ("--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1", "--latency-msec=50")

SourceKind = Literal["microphone", "monitor"]


class CaptureError(Exception):
    """Recording cannot start or go on; the message says why, in words for the person recording."""


class NoInputDeviceError(CaptureError):
    pass


class UnknownSourceError(CaptureError):
    pass


@dataclass(frozen=True)
class Source:
    name: str
    """The sound server's name for it (what ``--source`` takes)."""
    description: str
    kind: SourceKind
    is_default: bool = False

    @property
    def label(self) -> str:
        what = "this computer's sound" if self.kind == "monitor" else "microphone"
        return f"{self.description} ({what})"


@dataclass(frozen=True)
class Level:
    """For a level meter: in dB below full scale (-inf for digital silence)."""

    rms_db: float
    peak_db: float


def level(samples: np.ndarray) -> Level:
    if samples.size == 0:
        return Level(float("-inf"), float("-inf"))
    x = samples.astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x)))
    peak = float(np.max(np.abs(x)))
    return Level(_db(rms), _db(peak))


def _db(value: float) -> float:
    return 20.0 * float(np.log10(value)) if value > 0 else float("-inf")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise NoInputDeviceError(
            f"Live recording needs the PulseAudio client tools ({name} was not found): install pulseaudio-utils "
            "(it works with PulseAudio and with PipeWire's pulse server)"
        )
    return path


def _pactl(*args: str) -> str:
    done = subprocess.run([_tool("pactl"), *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no answer"])[0]
        raise NoInputDeviceError(f"No sound server answers (PulseAudio or PipeWire: {reason}): no input device")
    return done.stdout


def list_sources() -> list[Source]:
    """The server's sources, microphones first then monitors, the default one marked."""
    default = _pactl("get-default-source").strip()
    try:
        entries = json.loads(_pactl("--format=json", "list", "sources"))
    except ValueError as exc:
        raise NoInputDeviceError(f"The sound server's list of sources could not be read ({exc})") from exc
    sources = []
    for entry in entries:
        name = str(entry.get("name", ""))
        if not name:
            continue
        monitor = bool(entry.get("monitor_source")) or (entry.get("properties") or {}).get("device.class") == "monitor"
        description = str(entry.get("description") or name)
        sources.append(Source(name, description, "monitor" if monitor else "microphone", name == default))
    return sorted(sources, key=lambda s: (s.kind != "microphone", not s.is_default, s.name))


def choose_source(sources: Sequence[Source], name: str | None) -> list[Source]:
    """The sources to record: the one named (``A+B``: both, mixed), or the default input."""
    if not sources:
        raise NoInputDeviceError("No audio input device: the sound server has no microphone and no output to monitor")
    if name is None:
        default = next((s for s in sources if s.is_default), sources[0])
        return [default]
    by_name = {s.name: s for s in sources}
    wanted = [part.strip() for part in name.split(MIX_SEPARATOR)] if name not in by_name else [name]
    unknown = [part for part in wanted if part not in by_name]
    if unknown or not wanted:
        known = ", ".join(s.name for s in sources)
        raise UnknownSourceError(f"No source named '{unknown[0] if unknown else name}' (the sources: {known})")
    return [by_name[part] for part in wanted]


class Capture:
    """16 kHz mono float32 samples from one or more sources (mixed), a chunk at a time, in step with the clock.

    A source that sends nothing for a while (PulseAudio stops a monitor whose output is idle: nothing plays) is
    heard as silence: the recording keeps the time of the day, and ``--duration`` means seconds of the clock.
    Each chunk is taken ``LAG_SECONDS`` after its end, so the samples a source has already sent are there.
    """

    LAG_SECONDS = 0.3

    def __init__(self, sources: Sequence[Source], chunk_seconds: float = CHUNK_SECONDS) -> None:
        self.sources = list(sources)
        self._chunk = int(chunk_seconds * SAMPLE_RATE)
        parec = _tool("parec")
        self._readers = [_SourceReader(parec, source.name) for source in self.sources]
        self._started = time.monotonic()
        self._emitted = 0

    @property
    def name(self) -> str:
        return MIX_SEPARATOR.join(s.name for s in self.sources)

    def read(self) -> np.ndarray | None:
        """The next chunk (waits until its time has come); None once a source's capture has ended."""
        due = self._started + (self._emitted + self._chunk) / SAMPLE_RATE + self.LAG_SECONDS
        time.sleep(max(0.0, due - time.monotonic()))
        for reader in self._readers:
            reader.raise_if_failed()
            if reader.ended:
                return None
        backlog = max(r.available for r in self._readers) - self._chunk
        size = self._chunk + (min(backlog, self._chunk) if backlog > self.LAG_SECONDS * SAMPLE_RATE else 0)
        parts = [reader.take(size) for reader in self._readers]
        self._emitted += size
        if len(parts) == 1:
            return parts[0]
        mixed: np.ndarray = np.clip(np.sum(parts, axis=0), -1.0, 1.0).astype(np.float32)
        return mixed

    def close(self) -> None:
        for reader in self._readers:
            reader.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _SourceReader:
    """One ``parec`` child and a thread that keeps what it sends until the capture takes it."""

    def __init__(self, parec: str, source: str) -> None:
        self.process = subprocess.Popen(
            [parec, "--raw", *PAREC_FORMAT, f"--device={source}", "--client-name=STT Studio"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl+C goes to us, not to it: we stop it after the last chunk
        )
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self.ended = False
        self._thread = threading.Thread(target=self._pump, name=f"capture {source}", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while data := os.read(fd, 8192):
            with self._lock:
                self._buffer += data
        self.ended = True

    @property
    def available(self) -> int:
        return len(self._buffer) // 2

    def take(self, samples: int) -> np.ndarray:
        """``samples`` samples: what the source sent, then silence for what it did not."""
        with self._lock:
            taken = bytes(self._buffer[: samples * 2])
            del self._buffer[: len(taken)]
        out = np.zeros(samples, dtype=np.float32)
        got = np.frombuffer(taken[: len(taken) // 2 * 2], dtype="<i2")
        out[: len(got)] = got.astype(np.float32) / 32768.0
        return out

    def raise_if_failed(self) -> None:
        code = self.process.poll()
        if code is None or code in (0, -signal.SIGTERM):
            return
        self._thread.join(timeout=2)
        assert self.process.stderr is not None
        reason = self.process.stderr.read().decode(errors="replace").strip() or f"exit status {code}"
        raise CaptureError(f"The capture stopped: {reason.splitlines()[-1]}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._thread.join(timeout=2)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
