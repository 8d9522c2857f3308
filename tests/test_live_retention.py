"""Which /live recordings the server removes (stt_studio/live/retention.py): only its own, once old, never one being
written; a queued one is moved into its job and goes with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stt_studio.cli import app
from stt_studio.live.recording import Recording, RecordingInfo, recordings_dir
from stt_studio.live.retention import WEBSOCKET_SOURCE, remove_expired

DAY = 86_400.0


def aged(info: RecordingInfo, data_dir: Path, seconds: float) -> None:
    """Make the recording look last written ``seconds`` ago."""
    then = time.time() - seconds
    for path in (info.path, recordings_dir(data_dir) / f"{info.id}.json"):
        os.utime(path, (then, then))


def stopped(data_dir: Path, source: str) -> RecordingInfo:
    recording = Recording(data_dir, source)
    recording.write(np.zeros(1600, np.float32))
    return recording.stop()


def test_only_old_live_recordings_that_are_not_being_written_are_removed(tmp_path: Path) -> None:
    old = stopped(tmp_path, WEBSOCKET_SOURCE)
    recent = stopped(tmp_path, WEBSOCKET_SOURCE)
    own = stopped(tmp_path, "S.monitor")  # stt-studio live's or the window's: the person's own file
    being_written = Recording(tmp_path, WEBSOCKET_SOURCE)
    being_written.write(np.zeros(1600, np.float32))
    for info in (old, own, being_written.info):
        aged(info, tmp_path, 2 * DAY)
    aged(recent, tmp_path, 0.5 * DAY)

    assert remove_expired(tmp_path, DAY) == [old.id]
    assert not old.path.exists() and not (recordings_dir(tmp_path) / f"{old.id}.json").exists()
    assert recent.path.exists() and own.path.exists() and being_written.path.exists()

    being_written.stop()
    aged(being_written.info, tmp_path, 2 * DAY)
    assert remove_expired(tmp_path, DAY) == [being_written.info.id]
    assert own.path.exists() and recent.path.exists()


def test_the_gc_command_removes_expired_live_recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``stt-studio gc`` sweeps what a server left behind while it was not running (it sweeps at each connection)."""
    old = stopped(tmp_path, WEBSOCKET_SOURCE)
    recent = stopped(tmp_path, WEBSOCKET_SOURCE)
    aged(old, tmp_path, 2 * DAY)
    monkeypatch.setenv("STT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STT_LIVE_RECORDING_RETENTION_HOURS", "24")

    done = CliRunner().invoke(app, ["gc"])

    assert done.exit_code == 0, done.output
    assert "Removed 1 /live recording(s) not queued and older than 24 h" in done.output, done.output
    assert not old.path.exists() and recent.path.exists()
