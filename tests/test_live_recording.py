"""The live recording's file (stt_studio/live/recording.py): readable as it is written, after a kill, after a full
disk; the interrupted ones listed and recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from stt_studio.live.recording import (
    SAMPLE_RATE,
    Recording,
    RecordingError,
    format_duration,
    interrupted_recordings,
    recover,
)


def tone(seconds: float, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_the_file_is_a_readable_wav_while_it_is_written_and_after_stop(tmp_path: Path) -> None:
    recording = Recording(tmp_path, "test")
    for _ in range(10):
        recording.write(tone(0.1))
    assert soundfile.info(str(recording.path)).frames == 16_000  # one flush in: readable as it is
    recording.write(tone(0.25))
    info = recording.stop()
    audio, rate = soundfile.read(str(info.path), dtype="float32")
    assert rate == SAMPLE_RATE and len(audio) == 20_000
    assert np.abs(audio[:1000] - tone(1.25)[:1000]).max() < 1e-3
    assert info.state == "stopped"
    assert interrupted_recordings(tmp_path) == []


def test_samples_written_while_paused_are_not_recorded(tmp_path: Path) -> None:
    recording = Recording(tmp_path, "test", tmp_path / "mine.wav")
    recording.write(tone(1.0))
    recording.pause()
    recording.write(tone(2.0))
    recording.resume()
    recording.write(tone(0.5))
    info = recording.stop()
    assert info.path == tmp_path / "mine.wav"
    assert soundfile.info(str(info.path)).frames == 24_000


def test_a_recording_being_written_is_not_listed_as_interrupted(tmp_path: Path) -> None:
    recording = Recording(tmp_path, "test")
    recording.write(tone(1.0))
    assert interrupted_recordings(tmp_path) == []
    recording.stop()


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from pathlib import Path
    from stt_studio.live.recording import Recording
    recording = Recording(Path(sys.argv[1]), "generated")
    t = 0
    while True:
        chunk = 0.3 * np.sin(2 * np.pi * 440 * (t + np.arange(1600)) / 16000)
        recording.write(chunk.astype(np.float32))
        t += 1600
        if t == 16000 * 3:
            print("3 s", flush=True)
        time.sleep(0.02)
    """
)


def test_a_killed_writer_leaves_a_readable_file_that_the_next_start_lists_and_recovers(tmp_path: Path) -> None:
    """The writer is SIGKILLed mid-recording: the file reads as a WAV up to its last flush, the recording is
    listed as interrupted, and recovering it counts all it holds. (tests/test_live_cli.py does the same to
    ``stt-studio live`` recording from a real PulseAudio source.)"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env)
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"3 s\n"
    time.sleep(0.5)
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    [interrupted] = interrupted_recordings(tmp_path)
    readable = soundfile.info(str(interrupted.info.path)).frames / SAMPLE_RATE
    assert readable >= 3.0  # what the header said at the last flush, before any repair
    assert interrupted.seconds - readable <= 0.5 + 0.1  # at most one flush (and the chunk in hand) behind
    assert interrupted.describe().endswith(interrupted.info.started_at.astimezone().strftime("%H:%M"))
    info = recover(tmp_path, interrupted)
    assert soundfile.info(str(info.path)).frames / SAMPLE_RATE == pytest.approx(interrupted.seconds, abs=1e-3)
    assert interrupted_recordings(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 kB file system (tmpfs): about 8 s of recording fill it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_recording_with_a_message_and_keeps_what_was_recorded(
    tmp_path: Path, small_disk: Path
) -> None:
    recording = Recording(tmp_path, "test", small_disk / "full.wav")
    with pytest.raises(RecordingError) as stopped:
        for _ in range(200):  # 20 s: more than the disk holds
            recording.write(tone(0.1))
    message = str(stopped.value)
    assert message.startswith("The disk is full: recording stopped after ")
    assert str(small_disk / "full.wav") in message
    kept = soundfile.info(str(small_disk / "full.wav")).frames / SAMPLE_RATE
    assert kept > 5.0
    assert not recording.recording
    recording.write(tone(0.1))  # after the stop: nothing, no error
    assert recording.stop().stop_reason == message


def test_durations_read_as_people_say_them() -> None:
    assert format_duration(42.4) == "42 s"
    assert format_duration(12 * 60 + 10) == "12 min"
    assert format_duration(3600 + 5 * 60) == "1 h 05 min"
