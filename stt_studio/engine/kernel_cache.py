"""Where the NVIDIA driver keeps the GPU kernels it compiles (CUDA_CACHE_PATH).

CTranslate2's wheel has no kernels built for compute capability 9.0 and newer, only PTX: the driver compiles it at
the first model load (minutes), and keeps the result in this cache. The default (~/.nv/ComputeCache, 256 MiB) is
lost with a container and too small for it; ours is in the app's cache dir, or the models volume in containers.
"""

from __future__ import annotations

import os
from pathlib import Path

from stt_studio.engine.device import FIRST_RUN_NOTICE

MAX_CACHE_BYTES = 4 * 2**30
"""The largest CUDA_CACHE_MAXSIZE the driver accepts."""


def configure_kernel_cache(directory: Path) -> None:
    """Set CUDA_CACHE_PATH (unless the user set it) before CUDA starts in this process."""
    if "CUDA_CACHE_PATH" not in os.environ:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # the driver's default cache works too
        os.environ["CUDA_CACHE_PATH"] = str(directory)
    os.environ.setdefault("CUDA_CACHE_MAXSIZE", str(MAX_CACHE_BYTES))


def kernel_cache_dir() -> Path:
    """Where the driver keeps compiled kernels in this process: CUDA_CACHE_PATH, else its default."""
    configured = os.environ.get("CUDA_CACHE_PATH")
    return Path(configured) if configured else Path.home() / ".nv" / "ComputeCache"


def cache_has_kernels(directory: Path) -> bool:
    """The driver has kept something there (it writes an index and one file per compiled module)."""
    try:
        return any(path.is_file() for path in directory.rglob("*"))
    except OSError:
        return False


def first_load_notice(*, compiles_at_first_use: bool, cache_has_kernels: bool, loaded_before: bool) -> str | None:
    """Say that kernels are being prepared only when they really are: a card whose kernels the driver compiles
    (``compiles_kernels_at_first_use``), an empty kernel cache, and no model loaded on the GPU in this process yet
    (its kernels are compiled then, whichever model comes next)."""
    if compiles_at_first_use and not cache_has_kernels and not loaded_before:
        return FIRST_RUN_NOTICE
    return None
