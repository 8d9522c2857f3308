"""Decoding real files of every supported kind, and the specific error for each kind of bad input."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stt_studio.engine import audio as audio_module
from stt_studio.engine.audio import SAMPLE_RATE, decode_audio, probe_audio
from stt_studio.engine.errors import (
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
)
from tests.speech import convert, video_with_audio, video_without_audio

Loader = Callable[..., Any]


@pytest.fixture(params=[decode_audio, probe_audio], ids=["decode", "probe"])
def load(request: pytest.FixtureRequest) -> Loader:
    """Each bad input gets the same error from the upload check (probe) as from the job's full decode."""
    loader: Loader = request.param
    return loader


@pytest.fixture(scope="module")
def wav_seconds(short_wav: Path) -> float:
    out = subprocess.run(["soxi", "-D", str(short_wav)], capture_output=True, text=True, check=True)
    return float(out.stdout)


AUDIO_FORMATS: list[tuple[str, tuple[str, ...]]] = [
    ("flac", ()),
    ("mp3", ("-c:a", "libmp3lame")),
    ("m4a", ("-c:a", "aac")),
    ("ogg", ("-c:a", "libvorbis")),
    ("opus", ("-c:a", "libopus")),
    ("webm", ("-c:a", "libopus")),
    ("wav", ("-ar", "44100", "-ac", "2")),  # stereo 44.1 kHz is downmixed and resampled
]
VIDEO_FORMATS = ["mp4", "mkv", "mov"]


@pytest.mark.parametrize(("suffix", "codec"), AUDIO_FORMATS)
def test_decodes_audio_formats_to_16k_mono(
    short_wav: Path, tmp_path: Path, wav_seconds: float, suffix: str, codec: tuple[str, ...]
) -> None:
    path = convert(short_wav, tmp_path / f"clip.{suffix}", *codec)
    audio = decode_audio(path)
    assert audio.samples.ndim == 1
    assert audio.samples.dtype.name == "float32"
    assert audio.duration == pytest.approx(wav_seconds, abs=0.1)
    assert 0.05 < float(abs(audio.samples).max()) <= 1.0


@pytest.mark.parametrize("suffix", VIDEO_FORMATS)
def test_decodes_audio_track_of_video(short_wav: Path, tmp_path: Path, wav_seconds: float, suffix: str) -> None:
    audio = decode_audio(video_with_audio(short_wav, tmp_path / f"clip.{suffix}"))
    assert audio.duration == pytest.approx(wav_seconds, abs=0.15)


def test_video_without_audio_stream(tmp_path: Path, load: Loader) -> None:
    with pytest.raises(NotAudioError, match="no audio stream"):
        load(video_without_audio(tmp_path / "silent.mp4"))


def test_text_file_is_not_audio(tmp_path: Path, load: Loader) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are meeting notes, not a recording\n" * 20)
    with pytest.raises(NotAudioError, match="not an audio or video file"):
        load(path)


def test_missing_file(tmp_path: Path, load: Loader) -> None:
    with pytest.raises(NotAudioError, match="file not found"):
        load(tmp_path / "nope.wav")


def test_zero_byte_file(tmp_path: Path, load: Loader) -> None:
    path = tmp_path / "empty.mp3"
    path.touch()
    with pytest.raises(EmptyAudioError, match="empty"):
        load(path)


def test_wav_with_no_samples(tmp_path: Path, load: Loader) -> None:
    path = tmp_path / "zero.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(path), "trim", "0", "0"], check=True)
    with pytest.raises(EmptyAudioError, match="0 seconds"):
        load(path)


def test_truncated_wav(short_wav: Path, tmp_path: Path, load: Loader) -> None:
    data = short_wav.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptAudioError, match="truncated"):
        load(path)


def test_truncated_m4a(short_wav: Path, tmp_path: Path, load: Loader) -> None:
    data = convert(short_wav, tmp_path / "full.m4a", "-c:a", "aac").read_bytes()
    path = tmp_path / "cut.m4a"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptAudioError):
        load(path)


def test_garbage_after_media_header(tmp_path: Path, load: Loader) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF" + bytes(range(256)) * 40)
    with pytest.raises(CorruptAudioError, match="damaged"):
        load(path)


def test_longer_than_limit(short_wav: Path, load: Loader) -> None:
    with pytest.raises(AudioTooLongError, match="limit"):
        load(short_wav, max_seconds=1.0)


def test_error_messages_are_plain_sentences(tmp_path: Path, load: Loader) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(NotAudioError) as info:
        load(path)
    assert str(info.value).startswith("Failed to load audio: ")
    assert "Traceback" not in str(info.value)


def test_silence_decodes(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(path), "trim", "0", "3"], check=True)
    audio = decode_audio(path)
    assert len(audio.samples) == 3 * SAMPLE_RATE


@pytest.mark.parametrize(("suffix", "codec"), [*AUDIO_FORMATS, *((video, None) for video in VIDEO_FORMATS)])
def test_probe_accepts_each_format_with_one_quick_open(
    short_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, codec: tuple[str, ...] | None
) -> None:
    """The upload check reads only a few KB of stream info (FFmpeg's default of 5 MB took 7 ms for a WAV);
    the full probe is the fallback that alone may reject a file, and valid uploads never need it."""
    target = tmp_path / f"clip.{suffix}"
    path = video_with_audio(short_wav, target) if codec is None else convert(short_wav, target, *codec)
    full_probe_duration = audio_module._probe(path, float("inf"), 5.0, None)
    opened: list[dict[str, str] | None] = []
    real_open = audio_module._open

    def counting_open(p: Path, options: dict[str, str] | None = None) -> Any:
        opened.append(options)
        return real_open(p, options)

    monkeypatch.setattr(audio_module, "_open", counting_open)
    assert probe_audio(path) == full_probe_duration  # the same declared duration for the length limit
    assert opened == [audio_module._QUICK_PROBE]
