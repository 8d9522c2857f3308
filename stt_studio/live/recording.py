"""A recording written to the data folder as it comes, readable whatever happens to the process.

The format is a 16-bit 16 kHz mono WAV whose header is rewritten with the sizes so far at every flush (twice a
second): samples go to the file first and the header after, so a process killed at any moment leaves a file any
player or decoder reads up to the last flush, and the recovery (``repair``) counts what came after it too. WAV
rather than FLAC: appending raw samples and patching 8 bytes needs no encoder state, a half-written FLAC frame
or an unfinished Ogg page is what a kill leaves mid-encode, and a live recording at 32 kB/s (115 MB an hour)
is small beside the disk; the job made of it decodes it like any upload (its kept copy is FLAC).

Beside each recording, ``<id>.json`` says where its audio is, when it started and from which source, and whether it
was stopped; ``<id>.lock`` is held while it records. A recording not stopped whose lock is free was interrupted
(the process died, the machine went down): ``interrupted_recordings`` lists them for the next start to offer.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import struct
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from filelock import FileLock, Timeout

from stt_studio.atomic_files import write_text_atomically

SAMPLE_RATE = 16_000
SAMPLE_BYTES = 2
HEADER_BYTES = 44
FLUSH_SECONDS = 0.5
"""Audio kept only in memory at most this long: a kill loses at most this much (plus what the capture holds)."""
SYNC_SECONDS = 5.0
"""How often the file is also forced to the disk (fsync): a power cut loses at most this much."""

State = Literal["recording", "stopped"]


class RecordingError(Exception):
    """The recording stopped by itself (the disk is full, the file cannot be written); the message says what
    happened and where what was recorded is kept."""


def wav_header(data_bytes: int) -> bytes:
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, SAMPLE_RATE,
        SAMPLE_RATE * SAMPLE_BYTES, SAMPLE_BYTES, 8 * SAMPLE_BYTES, b"data", data_bytes,
    )  # fmt: skip


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] (or int16 as they are) as little-endian 16-bit PCM."""
    if samples.dtype == np.int16:
        return bytes(samples.astype("<i2", copy=False).tobytes())
    clipped = np.clip(samples, -1.0, 1.0)
    return bytes((clipped * 32767.0).round().astype("<i2").tobytes())


@dataclass(frozen=True)
class RecordingInfo:
    id: str
    path: Path
    started_at: datetime
    """When its first sample was captured (timezone-aware)."""
    source: str
    state: State = "recording"
    stop_reason: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "path": str(self.path),
                "started_at": self.started_at.isoformat(),
                "source": self.source,
                "state": self.state,
                "stop_reason": self.stop_reason,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RecordingInfo:
        data = json.loads(text)
        return cls(
            id=str(data["id"]),
            path=Path(data["path"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            source=str(data["source"]),
            state="stopped" if data.get("state") == "stopped" else "recording",
            stop_reason=data.get("stop_reason"),
        )


def recordings_dir(data_dir: Path) -> Path:
    return data_dir / "recordings"


class Recording:
    """One recording being written: ``write`` samples as they come, ``pause``/``resume``, ``stop``.

    Not thread-safe: one capture loop writes to it.
    """

    def __init__(self, data_dir: Path, source: str, path: Path | None = None, *, started_at: datetime | None = None):
        self.id = uuid.uuid4().hex[:12]
        self._dir = recordings_dir(data_dir)
        self._dir.mkdir(parents=True, exist_ok=True)
        self.path = path or self._dir / f"{self.id}.wav"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(self._dir / f"{self.id}.lock", is_singleton=False)
        self._lock.acquire(timeout=0)
        self.info = RecordingInfo(self.id, self.path, started_at or datetime.now(timezone.utc), source)
        self._file: BinaryIO | None = self.path.open("wb")
        self._file.write(wav_header(0))
        self._written = 0
        """Bytes of samples in the file (what the header says after the next flush)."""
        self._flushed_at = 0
        self._synced_at = 0
        self.paused = False
        self._save_info()

    @property
    def seconds(self) -> float:
        return self._written / (SAMPLE_RATE * SAMPLE_BYTES)

    @property
    def recording(self) -> bool:
        return self._file is not None

    def pause(self) -> None:
        """Samples written while paused are dropped (the capture may go on, for the level meter)."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def write(self, samples: np.ndarray) -> None:
        """Append 16 kHz mono samples. Raises RecordingError (after stopping) when the file cannot take them."""
        if self._file is None or self.paused:
            return
        data = to_pcm16(samples)
        try:
            self._file.write(data)
            self._written += len(data)
            if self._written - self._flushed_at >= FLUSH_SECONDS * SAMPLE_RATE * SAMPLE_BYTES:
                self._flush()
        except OSError as exc:
            self._fail(exc)

    def stop(self, reason: str | None = None) -> RecordingInfo:
        """Finish the file and mark the recording stopped (its info then no longer lists it as interrupted)."""
        if self._file is not None:
            try:
                self._flush(sync=True)
            finally:
                self._file.close()
                self._file = None
            self.info = RecordingInfo(self.id, self.path, self.info.started_at, self.info.source, "stopped", reason)
            self._save_info()
            self._lock.release()
            (self._dir / f"{self.id}.lock").unlink(missing_ok=True)
        return self.info

    def _flush(self, *, sync: bool = False) -> None:
        assert self._file is not None
        self._file.flush()  # the samples first: the header never counts bytes that are not in the file
        self._file.seek(0)
        self._file.write(wav_header(self._written))
        self._file.seek(0, os.SEEK_END)
        self._file.flush()
        self._flushed_at = self._written
        if sync or self._written - self._synced_at >= SYNC_SECONDS * SAMPLE_RATE * SAMPLE_BYTES:
            os.fsync(self._file.fileno())
            self._synced_at = self._written

    def _fail(self, exc: OSError) -> None:
        """Keep what the file holds: cut a partly written block, fix the header (both need no new space), stop."""
        assert self._file is not None
        with contextlib.suppress(OSError):
            self._file.close()  # may try to write what the buffer holds, and fail again
        self._file = None
        kept = _repair_file(self.path)
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        what = "The disk is full" if full else f"The recording could not be written ({exc.strerror or exc})"
        message = f"{what}: recording stopped after {format_duration(kept)}; what was recorded is kept in {self.path}"
        self.info = RecordingInfo(self.id, self.path, self.info.started_at, self.info.source, "stopped", message)
        with contextlib.suppress(OSError):  # on a full disk the info may not be written: then it is "interrupted"
            self._save_info()
        self._lock.release()
        raise RecordingError(message) from exc

    def _save_info(self) -> None:
        write_text_atomically(self._dir / f"{self.id}.json", self.info.to_json())


def _repair_file(path: Path) -> float:
    """Make the header of a WAV written by ``Recording`` count every whole sample in the file; its seconds."""
    size = path.stat().st_size
    data = max(0, size - HEADER_BYTES) // SAMPLE_BYTES * SAMPLE_BYTES
    with path.open("r+b") as f:
        f.truncate(HEADER_BYTES + data)
        f.seek(0)
        f.write(wav_header(data))
    return data / (SAMPLE_RATE * SAMPLE_BYTES)


@dataclass(frozen=True)
class InterruptedRecording:
    info: RecordingInfo
    seconds: float
    """The audio the file holds (all of it, counted from its size)."""

    def describe(self) -> str:
        """ "12 min from 14:02" (local time; the date too when it is not today)."""
        local = self.info.started_at.astimezone()
        when = local.strftime("%H:%M") if local.date() == datetime.now().date() else local.strftime("%Y-%m-%d %H:%M")
        return f"{format_duration(self.seconds)} from {when}"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def interrupted_recordings(data_dir: Path) -> list[InterruptedRecording]:
    """Recordings that were never stopped and that no process is writing (oldest first)."""
    folder = recordings_dir(data_dir)
    found: list[InterruptedRecording] = []
    for info_file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            info = RecordingInfo.from_json(info_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError):
            continue
        if info.state == "stopped" or being_recorded(folder, info.id) or not info.path.is_file():
            continue
        size = info.path.stat().st_size
        found.append(InterruptedRecording(info, max(0, size - HEADER_BYTES) / (SAMPLE_RATE * SAMPLE_BYTES)))
    return sorted(found, key=lambda r: r.info.started_at)


def being_recorded(folder: Path, recording_id: str) -> bool:
    lock = FileLock(folder / f"{recording_id}.lock", is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def recover(data_dir: Path, recording: InterruptedRecording) -> RecordingInfo:
    """Fix an interrupted recording's file (its header counts all it holds) and mark it stopped."""
    _repair_file(recording.info.path)
    old = recording.info
    info = RecordingInfo(old.id, old.path, old.started_at, old.source, "stopped", "recovered after an interruption")
    folder = recordings_dir(data_dir)
    write_text_atomically(folder / f"{old.id}.json", info.to_json())
    (folder / f"{old.id}.lock").unlink(missing_ok=True)
    return info
