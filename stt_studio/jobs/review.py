"""The reviewed transcript beside the engine's original: files, versions and the checks an edit must pass.

In a job's directory ``result.json`` is the engine's output and is never written here; ``reviewed.json`` is the
current reviewed transcript (absent until the first save, removed by a revert). The replaced versions are kept
in ``review-history/`` (the last ``KEEP_VERSIONS``).

A version is named by its ETag, a hash of the stored bytes, so every process (API, desktop, workers, compose
containers sharing the data volume) computes the same tag without any shared counter. Writers take ``review.lock``
(an OS file lock) so that comparing the tag and replacing the file happen as one step; readers take no lock, as a
file is only ever replaced by a rename.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import orjson
from filelock import FileLock, Timeout

from stt_studio.engine.result import TranscriptionResult, Word

ORIGINAL_FILE = "result.json"
REVIEWED_FILE = "reviewed.json"
LOCK_FILE = "review.lock"
HISTORY_DIR = "review-history"
KEEP_VERSIONS = 10
"""Replaced reviewed versions kept on disk: a safety net for an unlucky save, not an API."""
LOCK_TIMEOUT_SECONDS = 30.0
TIME_TOLERANCE = 0.001
"""Times are stored in milliseconds; a word may end this far past the rounded duration."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TranscriptVersionError(Exception):
    """The transcript changed since the caller read it: ``current_etag`` names the version now stored."""

    def __init__(self, current_etag: str) -> None:
        super().__init__(f"The transcript has changed since it was read (now {current_etag})")
        self.current_etag = current_etag


class TranscriptInvalidError(ValueError):
    """A transcript that cannot be stored: the message says which field and why."""


class NoTranscriptError(FileNotFoundError):
    """The job has no transcript (yet, or any more)."""


class TranscriptBusyError(RuntimeError):
    """Another writer held the transcript's lock for longer than ``LOCK_TIMEOUT_SECONDS`` (a hung process)."""


def etag_of(data: bytes) -> str:
    """A strong, quoted entity tag for these exact bytes (128 bits of SHA-256)."""
    return f'"{hashlib.sha256(data).hexdigest()[:32]}"'


def etag_matches(if_match: str, etag: str) -> bool:
    """Whether an If-Match value (``*``, one tag or a comma-separated list) names ``etag``. The comparison is
    strong, as RFC 9110 requires for If-Match, so a weak ``W/"…"`` tag never matches; an unquoted tag is read as
    if it were quoted, a common client slip."""
    value = if_match.strip()
    if value == "*":
        return True
    tags = (tag.strip() for tag in value.split(","))
    return any((tag if tag.startswith('"') else f'"{tag}"') == etag for tag in tags if tag)


@dataclass(frozen=True)
class TranscriptSnapshot:
    """One version as stored: its bytes, whether it is the reviewed one, and when that was saved."""

    data: bytes
    reviewed: bool
    reviewed_at: datetime | None

    @cached_property
    def etag(self) -> str:
        return etag_of(self.data)

    def parsed(self) -> StoredTranscript:
        result = TranscriptionResult.model_validate_json(self.data)
        return StoredTranscript(result=result, etag=self.etag, reviewed=self.reviewed, reviewed_at=self.reviewed_at)


@dataclass(frozen=True)
class StoredTranscript:
    """The current transcript of a job and the version it is (pass ``etag`` back when saving)."""

    result: TranscriptionResult
    etag: str
    reviewed: bool
    reviewed_at: datetime | None


def read_original(job_dir: Path) -> TranscriptSnapshot | None:
    try:
        return TranscriptSnapshot((job_dir / ORIGINAL_FILE).read_bytes(), reviewed=False, reviewed_at=None)
    except FileNotFoundError:
        return None


def read_current(job_dir: Path) -> TranscriptSnapshot | None:
    """The reviewed transcript if there is one, else the original; None when the job has neither."""
    try:
        with (job_dir / REVIEWED_FILE).open("rb") as file:
            saved = os.fstat(file.fileno()).st_mtime  # of this very file, even if it is replaced meanwhile
            data = file.read()
    except FileNotFoundError:
        return read_original(job_dir)
    return TranscriptSnapshot(data, reviewed=True, reviewed_at=datetime.fromtimestamp(saved, timezone.utc))


def reviewed_at(job_dir: Path) -> datetime | None:
    """When the reviewed transcript was last saved; None when there is none (a stat, no read)."""
    try:
        saved = (job_dir / REVIEWED_FILE).stat().st_mtime
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(saved, timezone.utc)


@contextmanager
def _locked(job_dir: Path) -> Iterator[None]:
    if not job_dir.is_dir():
        raise NoTranscriptError(job_dir / ORIGINAL_FILE)
    # A new lock object per call: each holds its own descriptor, so threads of one process exclude each other too.
    lock = FileLock(job_dir / LOCK_FILE, timeout=LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise TranscriptBusyError(f"The transcript is locked by another writer ({LOCK_TIMEOUT_SECONDS:g} s)") from None
    try:
        yield
    finally:
        lock.release()


def _current_under_lock(job_dir: Path, if_match: str | None) -> TranscriptSnapshot:
    current = read_current(job_dir)
    if current is None:
        raise NoTranscriptError(job_dir / ORIGINAL_FILE)
    if if_match is not None and not etag_matches(if_match, current.etag):
        raise TranscriptVersionError(current.etag)
    return current


def _write_durably(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``: readers see the
    old bytes or the new ones, and a crash never leaves a half-written review behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _retire_reviewed(job_dir: Path, *, move: bool) -> None:
    """Keep the reviewed version about to be replaced (``move``: removed) in the history, then prune it."""
    reviewed = job_dir / REVIEWED_FILE
    if not reviewed.exists():
        return
    history = job_dir / HISTORY_DIR
    history.mkdir(exist_ok=True)
    kept = history / f"{time.time_ns():020d}.json"
    if move:
        reviewed.replace(kept)
    else:
        os.link(reviewed, kept)  # the rename that replaces it comes next; the link keeps the old bytes
    for old in sorted(history.glob("*.json"))[:-KEEP_VERSIONS]:
        old.unlink(missing_ok=True)


Listener = Callable[[TranscriptionResult], None]
"""Told the transcript that has just become current, while the lock is still held (the store updates the job's
record with it, so that record and transcript change in the same order)."""


def save(job_dir: Path, result: TranscriptionResult, if_match: str | None, on_change: Listener | None = None) -> str:
    """Store ``result`` (checked against the original, its ``text`` rebuilt from the segments) as the reviewed
    transcript if ``if_match`` names the current version (None: whatever it is). Returns the new ETag."""
    with _locked(job_dir):
        _current_under_lock(job_dir, if_match)
        original = read_original(job_dir)
        if original is None:
            raise NoTranscriptError(job_dir / ORIGINAL_FILE)
        reviewed = normalized(result)
        check(reviewed, audio_seconds=float(orjson.loads(original.data)["duration"]))
        data = stored_bytes(reviewed)
        _retire_reviewed(job_dir, move=False)
        _write_durably(job_dir / REVIEWED_FILE, data)
        if on_change is not None:
            on_change(reviewed)
        return etag_of(data)


def revert(job_dir: Path, if_match: str | None, on_change: Listener | None = None) -> str:
    """Make the original current again (the reviewed version goes to the history). Returns the original's ETag."""
    with _locked(job_dir):
        _current_under_lock(job_dir, if_match)
        original = read_original(job_dir)
        if original is None:
            raise NoTranscriptError(job_dir / ORIGINAL_FILE)
        _retire_reviewed(job_dir, move=True)
        if on_change is not None:
            on_change(original.parsed().result)
        return original.etag


def history(job_dir: Path) -> list[Path]:
    """The kept earlier reviewed versions, oldest first."""
    return sorted((job_dir / HISTORY_DIR).glob("*.json"))


# --- what a stored transcript must satisfy ------------------------------------------------------------------


def stored_bytes(result: TranscriptionResult) -> bytes:
    """How a transcript is stored (and sent): the bytes its ETag is computed from."""
    return result.model_dump_json().encode()


def normalized(result: TranscriptionResult) -> TranscriptionResult:
    """The whole text is derived from the segments exactly as the engine derives it."""
    return result.model_copy(update={"text": " ".join(segment.text for segment in result.segments)})


def _check_span(where: str, start: float, end: float, audio_seconds: float | None) -> None:
    if not (math.isfinite(start) and math.isfinite(end)):
        raise TranscriptInvalidError(f"{where}: times must be finite numbers")
    if start < 0:
        raise TranscriptInvalidError(f"{where}: start {start} is before the audio begins")
    if start > end:
        raise TranscriptInvalidError(f"{where}: start {start} is after end {end}")
    if audio_seconds is not None and end > audio_seconds + TIME_TOLERANCE:
        raise TranscriptInvalidError(f"{where}: end {end} is past the end of the audio ({audio_seconds} s)")


def _check_text(where: str, text: str) -> None:
    if _CONTROL.search(text):
        raise TranscriptInvalidError(f"{where}: contains a line break or another control character")


def _check_words(where: str, words: Iterable[Word], audio_seconds: float) -> None:
    previous_start = 0.0
    for index, word in enumerate(words):
        at = f"{where}.words[{index}]"
        _check_span(at, word.start, word.end, audio_seconds)
        _check_text(f"{at}.word", word.word)
        if word.start < previous_start:
            raise TranscriptInvalidError(f"{at}: starts at {word.start}, before the word ahead of it")
        if word.score is not None and not 0.0 <= word.score <= 1.0:
            raise TranscriptInvalidError(f"{at}.score: must be between 0 and 1 (or null for an edited word)")
        previous_start = word.start


def check(result: TranscriptionResult, *, audio_seconds: float) -> None:
    """Raise TranscriptInvalidError naming the first thing that makes ``result`` unfit as this audio's transcript:
    what the engine's own output always satisfies (times inside the audio, in order, start ≤ end)."""
    if not abs(result.duration - audio_seconds) <= TIME_TOLERANCE:  # NaN included
        raise TranscriptInvalidError(f"duration: is the audio's length, {audio_seconds} s, and cannot change")
    # JSON has no NaN or infinity: stored, they would come back as null and the transcript would not load again.
    if not math.isfinite(result.processing_time):
        raise TranscriptInvalidError("processing_time: must be a finite number")
    for index, summary in enumerate(result.speakers or []):
        if not (math.isfinite(summary.speaking_time) and summary.speaking_time >= 0):
            raise TranscriptInvalidError(f"speakers[{index}].speaking_time: must be a finite number of seconds")
    previous_start = 0.0
    for index, segment in enumerate(result.segments):
        where = f"segments[{index}]"
        _check_span(where, segment.start, segment.end, audio_seconds)
        if segment.start < previous_start:
            raise TranscriptInvalidError(f"{where}: starts at {segment.start}, before the segment ahead of it")
        _check_text(f"{where}.text", segment.text)
        _check_words(where, segment.words, audio_seconds)
        previous_start = segment.start
    for index, turn in enumerate(result.speaker_turns or []):
        # Diarization's frames may reach a little past the last sample: turns are not held to the duration.
        _check_span(f"speaker_turns[{index}]", turn.start, turn.end, None)
    for label, name in result.speaker_names.items():
        if not name.strip():
            raise TranscriptInvalidError(f"speaker_names.{label}: a name must not be empty")
        _check_text(f"speaker_names.{label}", name)
