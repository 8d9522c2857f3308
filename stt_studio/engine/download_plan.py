"""Before a model download starts, and while it runs: whether it may start (offline, the free disk), what a
previous, interrupted download left to resume, and how the running one is told to people (bytes, speed, time left).

Plain logic, no Qt and no network: the window's downloads (``ui/model_downloads``) and the welcome step use it.
The download itself is ``model_catalog.download`` in a child process (``engine.download_child``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.engine.model_catalog import (
    ModelCatalogError,
    free_space,
    hub_cache_dir,
    human_size,
    model_status,
)

DiskFree = Callable[[Path], int]
"""Free bytes on the disk that holds a folder (``model_catalog.free_space``; tests pass their own)."""
DISK_MARGIN = 1.05
"""A download needs its size and a little more (the same margin as ``stt-studio models download``)."""


def repo_folder(repo_id: str, models_dir: Path) -> Path:
    """The hub cache's folder of one repository (``models--org--name``)."""
    return hub_cache_dir(models_dir) / ("models--" + repo_id.replace("/", "--"))


def partial_bytes(repo_id: str, models_dir: Path) -> int:
    """Bytes an interrupted download left in ``.incomplete`` blobs: huggingface_hub resumes from there."""
    blobs = repo_folder(repo_id, models_dir) / "blobs"
    try:
        return sum(p.stat().st_size for p in blobs.glob("*.incomplete") if p.is_file())
    except OSError:
        return 0


def discard_partial(repo_id: str, models_dir: Path) -> int:
    """Delete what an unfinished download of a model that is not usable left behind; returns the bytes freed."""
    folder = repo_folder(repo_id, models_dir)
    if not folder.is_dir():
        return 0
    freed = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    shutil.rmtree(folder)
    return freed


@dataclass(frozen=True)
class DownloadPlan:
    name: str
    repo_id: str
    download_bytes: int
    """The model's whole download (the catalog's size)."""
    resumed_bytes: int
    """Already on disk from an interrupted download."""

    @property
    def needed_bytes(self) -> int:
        return max(int(self.download_bytes * DISK_MARGIN) - self.resumed_bytes, 0)


def plan_download(spec: str, models_dir: Path, *, offline: bool, disk_free: DiskFree = free_space) -> DownloadPlan:
    """What a download of ``spec`` into ``models_dir`` will do; raises ``ModelCatalogError`` with one plain sentence
    when it can't start (offline, nothing to download, too little disk)."""
    status = model_status(spec, models_dir)
    if status.local_folder:
        raise ModelCatalogError(f"'{spec}' is a local folder: there is nothing to download.")
    if status.repo_id is None or status.download_mb is None:
        raise ModelCatalogError(status.problem or f"Unknown model '{spec}'.")
    if status.bundled:
        raise ModelCatalogError(f"{status.name} ships with STT Studio (bundled): there is nothing to download.")
    if status.available:
        raise ModelCatalogError(f"{status.name} is downloaded already.")
    if offline:
        raise ModelCatalogError(
            f"Offline mode is on (HF_HUB_OFFLINE or STT_OFFLINE): {status.name} can't be downloaded. Unset it and "
            "start STT Studio again to download models."
        )
    plan = DownloadPlan(status.name, status.repo_id, status.download_mb * 1_000_000,
                        partial_bytes(status.repo_id, models_dir))  # fmt: skip
    cache = hub_cache_dir(models_dir)
    free = disk_free(cache)
    if free < plan.needed_bytes:
        raise ModelCatalogError(
            f"Not enough free disk space for {status.name}: it needs {human_size(plan.needed_bytes)} and the disk "
            f"that holds {cache} has {human_size(free)} free. Free some space, or move the models folder "
            "(STT_MODELS_DIR)."
        )
    return plan


def seconds_left(progress: DownloadProgress) -> float | None:
    """None while the speed is not known yet."""
    if progress.bytes_per_second <= 0:
        return None
    return max(progress.total_bytes - progress.done_bytes, 0) / progress.bytes_per_second


def duration_text(seconds: float) -> str:
    """'about 40 s', 'about 3 min', 'about 1 h 20 min'."""
    if seconds < 60:
        return f"about {max(round(seconds), 1)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


def progress_text(progress: DownloadProgress) -> str:
    """One line beside the progress bar: '31 MB of 75 MB · 2.4 MB/s · about 18 s left'."""
    parts = [f"{human_size(progress.done_bytes)} of {human_size(progress.total_bytes)}"]
    if progress.bytes_per_second > 0:
        parts.append(f"{human_size(int(progress.bytes_per_second))}/s")
    left = seconds_left(progress)
    parts.append(f"{duration_text(left)} left" if left is not None else "measuring the speed…")
    return " · ".join(parts)
