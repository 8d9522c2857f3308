"""Turn what the user dropped or picked (files, folders, pasted paths) into files to queue, each checked the way
the API checks uploads, and the ones that can't be queued with the reason. Runs off the GUI thread."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stt_studio.engine.audio import MEDIA_EXTENSIONS, probe_audio
from stt_studio.engine.errors import AudioError


@dataclass(frozen=True)
class CheckedFile:
    path: Path
    audio_seconds: float | None


@dataclass(frozen=True)
class RejectedFile:
    path: Path
    reason: str


@dataclass
class IntakeReport:
    accepted: list[CheckedFile] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)
    already_added: list[CheckedFile] = field(default_factory=list)
    """Accepted files that are already in the queue or the library: the user is asked before they are added."""


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def expand(paths: Iterable[Path]) -> tuple[list[Path], list[RejectedFile]]:
    """Files named directly, plus audio/video files found in folders (recursively). Other files inside folders
    are reported as not audio (by their name), hidden ones are skipped; names that do not exist are reported."""
    files: list[Path] = []
    rejected: list[RejectedFile] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(_is_hidden(part) for part in child.relative_to(path).parts):
                    continue
                if child.suffix.lower() in MEDIA_EXTENSIONS:
                    files.append(child)
                else:
                    rejected.append(RejectedFile(child, "not an audio or video file"))
        elif path.is_file():
            files.append(path)
        else:
            rejected.append(RejectedFile(path, "file not found"))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, rejected


def check(path: Path, max_seconds: float) -> CheckedFile | RejectedFile:
    """The upload check of the API: opens the file, checks its header and decodes the first second."""
    try:
        return CheckedFile(path, probe_audio(path, max_seconds))
    except AudioError as exc:
        return RejectedFile(path, str(exc))
    except OSError as exc:
        return RejectedFile(path, f"cannot be read ({exc.strerror or exc})")


def take_in(paths: Iterable[Path], max_seconds: float, known_sources: set[Path]) -> IntakeReport:
    files, rejected = expand(paths)
    report = IntakeReport(rejected=rejected)
    for path in files:
        outcome = check(path, max_seconds)
        if isinstance(outcome, RejectedFile):
            report.rejected.append(outcome)
        elif path in known_sources:
            report.already_added.append(outcome)
        else:
            report.accepted.append(outcome)
    return report
