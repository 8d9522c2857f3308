"""Decode anything FFmpeg reads (audio or video with an audio track) to 16 kHz mono float32.

PyAV is used rather than an ``ffmpeg`` subprocess: it ships its own FFmpeg, needs no binary on PATH (Windows,
slim containers), and reports errors as exceptions we can turn into specific messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from stt_studio.engine.errors import (
    AudioError,
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
)

SAMPLE_RATE = 16_000

MEDIA_EXTENSIONS = frozenset(
    {
        # audio
        ".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aiff", ".aif", ".amr", ".ac3",
        ".w64", ".caf", ".mka", ".spx",
        # video (their audio track is transcribed)
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".3gp",
    }
)  # fmt: skip
"""File name endings taken as audio or video when a folder is added or watched (a file added by name is checked
whatever its ending)."""

# Containers whose header states the exact length, so a shorter decode means the file was cut.
_EXACT_LENGTH_FORMATS = {"wav", "w64", "flac", "aiff", "mov,mp4,m4a,3gp,3g2,mj2"}

# Leading bytes of common media containers: a file that starts like one but can't be opened is damaged,
# not "not audio".
_MEDIA_MAGIC = (b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3", b"FORM", b"\xff\xfb", b"\xff\xf3")


@dataclass(frozen=True)
class DecodedAudio:
    samples: npt.NDArray[np.float32]
    """Mono, 16 kHz, float32 in [-1, 1]."""

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    return head.startswith(_MEDIA_MAGIC) or head[4:8] == b"ftyp"


_QUICK_PROBE = {"probesize": "4096"}
"""FFmpeg reads up to 5 MB to fill in stream details; the header and a few frames are enough to validate."""


def _open(path: Path, options: dict[str, str] | None = None) -> av.container.InputContainer:
    if not path.is_file():
        raise NotAudioError(f"file not found: {path.name}")
    if path.stat().st_size == 0:
        raise EmptyAudioError("the file is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore", options=options or {})
    except av.error.FFmpegError as exc:
        if _looks_like_media(path):
            raise CorruptAudioError(f"the file is damaged or truncated ({exc.strerror})") from exc
        raise NotAudioError("not an audio or video file that FFmpeg can read") from exc


def _wav_missing_bytes(path: Path) -> int:
    """Bytes a RIFF/WAVE file's ``data`` chunk claims beyond the end of the file (FFmpeg clamps silently)."""
    with path.open("rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return 0
        while header := f.read(8):
            if len(header) < 8:
                return 0
            size = int.from_bytes(header[4:8], "little")
            if header[:4] == b"data":
                remaining = path.stat().st_size - f.tell()
                return max(0, size - remaining) if size != 0xFFFFFFFF else 0  # 0xFFFFFFFF: streamed, unknown
            f.seek(size + (size & 1), 1)
    return 0


def _declared_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _checked_stream(
    container: av.container.InputContainer, path: Path, max_seconds: float
) -> tuple[av.audio.stream.AudioStream, float | None]:
    """The first audio stream and its declared length, after the checks the header alone allows."""
    if not container.streams.audio:
        raise NotAudioError("the file has no audio stream")
    stream = container.streams.audio[0]
    declared = _declared_seconds(container, stream)
    if declared is not None and declared > max_seconds:
        raise AudioTooLongError(
            f"the audio is {declared:.0f} s long; the limit is {max_seconds:.0f} s (STT_MAX_AUDIO_SECONDS)"
        )
    if container.format.name == "wav" and (missing := _wav_missing_bytes(path)) > 0:
        raise CorruptAudioError(f"the file is truncated: {missing} bytes of its audio data are missing")
    return stream, declared


def probe_audio(path: str | Path, max_seconds: float = float("inf"), probe_seconds: float = 1.0) -> float | None:
    """Check quickly that ``path`` is decodable audio within the limit: opens it, checks the header and decodes
    the first ``probe_seconds``. Returns the declared duration (None when the container does not say).
    Raises the same errors as decode_audio; damage later in the file is found when the job decodes it."""
    path = Path(path)
    try:
        return _probe(path, max_seconds, probe_seconds, _QUICK_PROBE)
    except AudioError:
        return _probe(path, max_seconds, probe_seconds, None)  # only FFmpeg's full probe may reject a file


def _probe(path: Path, max_seconds: float, probe_seconds: float, options: dict[str, str] | None) -> float | None:
    with _open(path, options) as container:
        stream, declared = _checked_stream(container, path, max_seconds)
        decoded = 0.0
        try:
            for frame in container.decode(stream):
                decoded += frame.samples / (frame.sample_rate or SAMPLE_RATE)
                if decoded >= probe_seconds:
                    break
        except av.error.FFmpegError as exc:
            raise CorruptAudioError(f"the audio data is damaged ({exc.strerror})") from exc
        if decoded == 0.0:
            raise EmptyAudioError("the audio stream is empty (0 seconds)")
        return declared


def decode_audio(path: str | Path, max_seconds: float = float("inf")) -> DecodedAudio:
    """Decode the first audio stream of ``path``; raises a subclass of ``AudioError`` with a plain message."""
    path = Path(path)
    with _open(path) as container:
        stream, declared = _checked_stream(container, path, max_seconds)
        stream.codec_context.thread_type = "AUTO"
        max_samples = int(max_seconds * SAMPLE_RATE) if max_seconds != float("inf") else None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[npt.NDArray[np.float32]] = []
        decoded = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(chunk)
                    decoded += len(chunk)
                if max_samples is not None and decoded > max_samples:
                    raise AudioTooLongError(
                        f"the audio is longer than the limit of {max_seconds:.0f} s (STT_MAX_AUDIO_SECONDS)"
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        except av.error.FFmpegError as exc:
            raise CorruptAudioError(f"the audio data is damaged ({exc.strerror})") from exc
        samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
        audio = DecodedAudio(samples)
        if audio.duration == 0.0:
            raise EmptyAudioError("the audio stream is empty (0 seconds)")
        fmt = container.format.name
        if declared is not None and fmt in _EXACT_LENGTH_FORMATS and audio.duration < declared * 0.98 - 0.2:
            raise CorruptAudioError(
                f"the file is truncated: its header says {declared:.1f} s but only {audio.duration:.1f} s "
                "of audio could be read"
            )
        return audio
