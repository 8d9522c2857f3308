"""A job's stage checkpoints: one JSON file per stage output (per batch of chunks for the transcription) in the
job's folder, written whole or not at all, read back only under the fingerprint it was written with.

The stages and their fingerprints are ``stt_studio.engine.stages``; this is only the storage.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Any

from stt_studio.atomic_files import write_text_atomically

log = logging.getLogger(__name__)

FOLDER = "checkpoints"


class JobCheckpoints:
    """The checkpoints in ``folder`` (``<job dir>/checkpoints``); implements the engine's ``CheckpointStore``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of_job(cls, job_dir: Path) -> JobCheckpoints:
        return cls(job_dir / FOLDER)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"Not a checkpoint name: {key!r}")
        return self.folder / f"{key}.json"

    def save(self, key: str, fingerprint: str, data: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self._path(key), json.dumps({"fingerprint": fingerprint, "data": data}))

    def load(self, key: str, fingerprint: str) -> Any | None:
        """The data kept under ``key`` if it was written with ``fingerprint``; None when there is none, it was
        written for other inputs, or the file is damaged (then with a warning: the stage runs again)."""
        path = self._path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("Checkpoint %s could not be read (%s); running that stage again", path, exc)
            return None
        try:
            stored = json.loads(text)
            kept, data = stored["fingerprint"], stored["data"]
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("Checkpoint %s is damaged (%s); running that stage again", path, exc)
            return None
        if kept != fingerprint:
            log.info("Checkpoint %s was written for other inputs; not used", path.name)
            return None
        return data

    def has(self, key: str) -> bool:
        """A checkpoint is kept under ``key`` (whatever its fingerprint)."""
        return self._path(key).is_file()

    def keep_only(self, prefixes: Collection[str]) -> None:
        """Remove every checkpoint whose name starts with none of ``prefixes`` (what a finished job needs no more)."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if not any(path.name.startswith(f"{p}.") or path.name.startswith(f"{p}-") for p in prefixes):
                path.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir()) if self.folder.is_dir() else 0
