"""How far a Whisper model's download from the Hugging Face hub has got, in bytes and as a fraction.

huggingface_hub (0.36) offers no byte-level hook: ``snapshot_download``'s ``tqdm_class`` counts files only, and
faster-whisper's ``download_model`` replaces it with a silent one. What it does do is write each file into
``<cache>/models--org--name/blobs/<etag>.incomplete`` and rename it to ``<etag>`` once complete (the plain HTTP,
hf_transfer and Xet paths alike). So the watcher asks the hub, once, for each file's size and etag, and then reads
the sizes of those blob files while the download runs: no patching of the hub library, and a resumed or partly
cached download counts what is already there.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

WHISPER_FILE_PATTERNS = ("config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*")
"""The files faster-whisper's ``download_model`` fetches (its ``allow_patterns``)."""

POLL_SECONDS = 0.5
LOG_SECONDS = 5.0
"""At most one log line per download this often (serve's and the worker's log)."""


@dataclass(frozen=True)
class DownloadProgress:
    model: str
    """The model as asked for (a name such as ``large-v3``, or a hub id)."""
    done_bytes: int
    total_bytes: int
    bytes_per_second: float = 0.0

    @property
    def fraction(self) -> float:
        return min(self.done_bytes / self.total_bytes, 1.0) if self.total_bytes > 0 else 0.0

    def describe(self) -> str:
        """One line for a log: 'large-v3: 45 % (1390 of 3087 MB, 52.1 MB/s)'."""
        mb = 1_000_000
        return (
            f"{self.model}: {self.fraction * 100:.0f} % ({self.done_bytes / mb:.0f} of {self.total_bytes / mb:.0f} MB, "
            f"{self.bytes_per_second / mb:.1f} MB/s)"
        )


DownloadCallback = Callable[[DownloadProgress], None]


def whisper_repo_id(spec: str) -> str | None:
    """The hub repository faster-whisper downloads for a model name or id (as its ``download_model`` decides)."""
    if re.match(r".*/.*", spec):
        return spec
    from faster_whisper.utils import _MODELS  # the name → repository table download_model itself reads

    repo_id: str | None = _MODELS.get(spec)
    return repo_id


def is_whisper_file(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in WHISPER_FILE_PATTERNS)


@dataclass(frozen=True)
class PlannedFile:
    blob: Path
    size: int


def planned_files(repo_id: str, cache_dir: Path, token: str | None) -> list[PlannedFile]:
    """The blobs a download of ``repo_id``'s Whisper files writes, with their sizes, as the hub tells them."""
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_url

    info = HfApi().model_info(repo_id, token=token or None)
    names = [
        s.rfilename for s in info.siblings or [] if any(fnmatch.fnmatch(s.rfilename, p) for p in WHISPER_FILE_PATTERNS)
    ]
    blobs = cache_dir / ("models--" + repo_id.replace("/", "--")) / "blobs"
    planned = []
    for name in names:
        meta = get_hf_file_metadata(hf_hub_url(repo_id, name, revision=info.sha), token=token or None)
        if meta.etag is not None and meta.size is not None:
            planned.append(PlannedFile(blobs / meta.etag, meta.size))
    return planned


def bytes_on_disk(files: list[PlannedFile]) -> int:
    """Bytes of ``files`` written so far: complete blobs and the ``.incomplete`` ones being written."""
    done = 0
    for file in files:
        for candidate in (file.blob, file.blob.with_name(file.blob.name + ".incomplete")):
            try:
                done += min(candidate.stat().st_size, file.size)
                break
            except OSError:
                continue
    return done


class _Speed:
    """Bytes per second over the last few seconds."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: list[tuple[float, int]] = []

    def add(self, now: float, done: int) -> float:
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.pop(0)
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0


@contextmanager
def watching_download(
    model: str, cache_dir: Path, token: str | None, on_progress: DownloadCallback, poll_seconds: float = POLL_SECONDS
) -> Iterator[None]:
    """Tell ``on_progress`` how far the download of ``model`` into ``cache_dir`` has got while the body runs it.
    Nothing is told when everything is on disk already (a cached model) or the hub can't be asked (the body's own
    download then fails or falls back, as it would without the watcher)."""
    stop = threading.Event()

    def watch() -> None:
        repo_id = whisper_repo_id(model)
        if repo_id is None:
            return
        try:
            files = planned_files(repo_id, cache_dir, token)
        except Exception as exc:  # the hub's errors come as many types; the download reports its own
            log.debug("Could not learn the size of %s: %s", repo_id, exc)
            return
        total = sum(f.size for f in files)
        if total == 0 or bytes_on_disk(files) >= total:
            return
        speed = _Speed()
        last: int | None = None
        while True:
            stopping = stop.wait(poll_seconds)
            done = bytes_on_disk(files)
            if done != last:
                last = done
                on_progress(DownloadProgress(model, done, total, speed.add(time.monotonic(), done)))
            if stopping or done >= total:
                return

    thread = threading.Thread(target=watch, name="stt-download-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def throttled_log(every: float = LOG_SECONDS, clock: Callable[[], float] = time.monotonic) -> DownloadCallback:
    """A callback that logs a download's progress at most once every ``every`` seconds, and when it completes."""
    last = -float("inf")

    def log_progress(progress: DownloadProgress) -> None:
        nonlocal last
        now = clock()
        if now - last >= every or progress.done_bytes >= progress.total_bytes:
            last = now
            log.info("Downloading the Whisper model %s", progress.describe())

    return log_progress
