"""What the server keeps of the recordings made through WebSocket ``/live``.

A recording that was queued is moved into its job's folder (``hand_to_job``): the job owns it like an upload and
deleting the job deletes it. One that was not queued stays in the recordings folder for
``live_recording_retention_hours`` after it was last written, then goes (``remove_expired``). Recordings of
``stt-studio live`` and of the window are the person's own files and are never touched here; nor is one still
being written (its lock is held).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from stt_studio.live.recording import RecordingInfo, being_recorded, recordings_dir

WEBSOCKET_SOURCE = "websocket"
"""The source name of the recordings made through ``/live`` (what tells them from the person's own)."""


def remove_expired(data_dir: Path, max_age_seconds: float, now: float | None = None) -> list[str]:
    """Delete the ``/live`` recordings not written for ``max_age_seconds`` and not being written; their ids."""
    folder = recordings_dir(data_dir)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for info_file in sorted(folder.glob("*.json")):
        try:
            info = RecordingInfo.from_json(info_file.read_text(encoding="utf-8"))
            last_written = max(info_file.stat().st_mtime, info.path.stat().st_mtime if info.path.exists() else 0.0)
        except (OSError, ValueError, KeyError):
            continue
        if info.source != WEBSOCKET_SOURCE or now - last_written < max_age_seconds or being_recorded(folder, info.id):
            continue
        forget(data_dir, info)
        removed.append(info.id)
    return removed


def forget(data_dir: Path, info: RecordingInfo) -> None:
    """Remove a recording's bookkeeping and, if it is still in the recordings folder, its audio."""
    folder = recordings_dir(data_dir)
    if info.path.parent == folder:
        info.path.unlink(missing_ok=True)
    for name in (f"{info.id}.json", f"{info.id}.lock"):
        with contextlib.suppress(OSError):
            (folder / name).unlink(missing_ok=True)
