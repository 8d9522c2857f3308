"""Where the NVIDIA driver keeps the GPU kernels it compiles (CUDA_CACHE_PATH).

CTranslate2's wheel has no kernels built for compute capability 9.0 and newer, only PTX: the driver compiles it at
the first model load (minutes), and keeps the result in this cache. The default (~/.nv/ComputeCache, 256 MiB) is
lost with a container and too small for it; ours is in the app's cache dir, or the models volume in containers.
"""

from __future__ import annotations

import os
from pathlib import Path

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
