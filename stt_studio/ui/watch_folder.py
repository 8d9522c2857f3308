"""The watched folder: media files dropped into it (or any folder below it) are queued once each.

Plain Python and blocking (it walks the folder): the app calls ``scan()`` off the GUI thread, from one thread.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from stt_studio.atomic_files import write_text_atomically
from stt_studio.user_paths import expand_home

log = logging.getLogger(__name__)

_TEMP_SUFFIXES = (".part", ".crdownload", ".partial", ".download", ".tmp", "~")
"""Files that browsers, downloaders and editors write before renaming them to their real name."""

Signature = tuple[int, int]
"""(size, mtime in ns): a file whose signature did not change between two scans is taken as complete."""


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(_TEMP_SUFFIXES)


class FolderWatch:
    def __init__(self, folder: Path, state_file: Path, extensions: Iterable[str]) -> None:
        self.folder = expand_home(folder)
        self.state_file = state_file
        self.extensions = frozenset(ext.lower() for ext in extensions)
        self._key = str(self._resolved_folder())
        self._seen: set[str] = set(self._load_state().get(self._key, []))
        self._pending: dict[str, Signature] = {}
        """Files seen on the previous scan but not returned yet, with their signature then."""

    def scan(self) -> list[Path]:
        """Complete media files that were never returned before, in a stable (path) order."""
        current = dict(self._media_files())
        ready: list[str] = []
        pending: dict[str, Signature] = {}
        for path, signature in current.items():
            # A file returned once is never returned again, even when it is replaced by a new version: re-encoding
            # or trimming a file that is already queued should not silently transcribe it a second time. To
            # transcribe it again the user drops it on the window.
            if path in self._seen:
                continue
            if self._pending.get(path) == signature:
                ready.append(path)
            else:
                pending[path] = signature  # new, or still growing: look again next scan
        self._pending = pending
        if ready:
            self._seen.update(ready)
            self._save_state()
        return [Path(path) for path in sorted(ready)]

    # --- the folder ----------------------------------------------------------------------------------------
    def _resolved_folder(self) -> Path:
        try:
            return self.folder.resolve()
        except OSError:
            return self.folder.absolute()

    def _media_files(self) -> Iterator[tuple[str, Signature]]:
        root = self._resolved_folder()
        if not root.is_dir():
            return
        # Not following links to folders: a link to a parent would loop, one to elsewhere would watch elsewhere.
        for dirpath, dirnames, filenames in os.walk(root, onerror=self._walk_error):
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            for name in filenames:
                if _ignored(name) or os.path.splitext(name)[1].lower() not in self.extensions:
                    continue
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue  # deleted or renamed since the listing
                if stat.st_size > 0:  # created but nothing written yet
                    yield path, (stat.st_size, stat.st_mtime_ns)

    @staticmethod
    def _walk_error(error: OSError) -> None:
        log.debug("Skipping part of the watched folder: %s", error)

    # --- the state file: {"<resolved folder>": ["<resolved file>", ...], ...} -------------------------------
    def _load_state(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("Could not read %s (%s); files in the watched folder may be queued again", self.state_file, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(key): [str(p) for p in value] for key, value in data.items() if isinstance(value, list)}

    def _save_state(self) -> None:
        state = self._load_state()  # keep the other folders' sets
        state[self._key] = sorted(self._seen)
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(self.state_file, json.dumps(state, indent=1))
        except OSError as exc:  # this session still remembers them; only a restart could queue them again
            log.warning("Could not save %s: %s", self.state_file, exc)
