"""The plain sentences a job ends with after a CUDA fault, with what the person can check or change."""

from __future__ import annotations

import os
from collections.abc import Sequence

from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.pipeline import Engine


def model_name(engine: Engine) -> str:
    loaded = engine.loaded_model
    return public_name(loaded.name if loaded is not None else engine.model_spec)


def free_memory(device: str) -> str:
    """What memory the device has free now, in words: the GPU's (CUDA's own count), else the machine's."""
    if device == "cuda":
        import torch

        free, total = torch.cuda.mem_get_info()
        return f"{free / 2**20:.0f} MB of {total / 2**20:.0f} MB free on the GPU"
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system that knows
        return "free memory unknown"
    return f"{free / 2**20:.0f} MB of memory free"


def device_out_of_memory_message(engine: Engine, batch_sizes: Sequence[int]) -> str:
    tried = " and ".join(str(size) for size in batch_sizes)
    where = "GPU memory" if engine.device == "cuda" else "memory"
    return (
        f"Out of {where} running the Whisper model '{model_name(engine)}' (batch size {tried}): "
        f"{free_memory(engine.device)}. Try a smaller model, a smaller STT_BATCH_SIZE, or fewer workers on this GPU."
    )


def sticky_fault_message(engine: Engine, faults: Sequence[str]) -> str:
    times = "twice, each time in a fresh worker" if len(faults) > 1 else "once, with no retry left"
    return (
        f"A CUDA error that leaves the GPU unusable to its process stopped this job {times} (model "
        f"'{model_name(engine)}'): {faults[-1]}. Check the GPU and its driver (nvidia-smi), then retry the job."
    )
