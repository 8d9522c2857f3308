"""Paths people type: ``~`` expanded where it can be."""

from __future__ import annotations

from pathlib import Path


def expand_home(path: str | Path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; as written when that home folder is unknown (pathlib
    raises RuntimeError for a ``~user`` that does not exist, or without HOME): such a path is then simply not a
    folder here, instead of an error out of every check that looks at a name someone sent."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)
