"""How many transcription workers ``serve`` starts on the GPUs, and which GPU each gets (CUDA_VISIBLE_DEVICES).

The GPUs are probed in a short-lived process (``device.probe_in_subprocess``): the API process itself never holds
a CUDA context. Each worker needs its own context and models, so a GPU takes only as many as fit its free memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from stt_studio.engine.device import (
    DeviceFacts,
    place_workers,
    probe_device_facts,
    probe_in_subprocess,
    visible_device_id,
)
from stt_studio.engine.engine_setup import worker_memory_need_mb
from stt_studio.settings import Settings

GPU_ENV = "STT_WORKER_GPU"
"""Settings.worker_gpu: the GPU a worker was pinned to, in the numbering of STT_GPUS, for its report."""


@dataclass(frozen=True)
class WorkerPlacement:
    count: int
    slot_envs: tuple[dict[str, str], ...] = ()
    """Worker i's CUDA_VISIBLE_DEVICES and STT_WORKER_GPU; empty on the CPU."""
    notice: str | None = None
    """Why fewer workers start than were asked for, or why none can be placed (STT_GPUS names no visible GPU)."""


def place_worker_processes(settings: Settings, requested: int, facts: DeviceFacts | None = None) -> WorkerPlacement:
    if requested == 0 or settings.whisper_device != "cuda":
        return WorkerPlacement(requested)
    if facts is None:
        # CTranslate2's device count first (no CUDA context): a CPU machine is not probed further
        seen = probe_device_facts(with_torch=False).ctranslate2_cuda_devices
        facts = probe_in_subprocess() if seen else DeviceFacts()
    if facts.ctranslate2_cuda_devices == 0 or not facts.gpus:
        return WorkerPlacement(requested)  # the workers run on the CPU and say why
    need = worker_memory_need_mb(facts, settings.whisper_model_size, settings)
    if any(g.total_mb == 0 for g in facts.gpus):
        need = 0.0  # a CPU-only torch can't tell the memory: no limit but the one worker a GPU always gets
    placement = place_workers(requested, facts.gpus, settings.gpus, need)
    parent = os.environ.get("CUDA_VISIBLE_DEVICES")
    envs = tuple({"CUDA_VISIBLE_DEVICES": visible_device_id(index, parent), GPU_ENV: str(index)}
                 for index in placement.gpus)  # fmt: skip
    return WorkerPlacement(len(envs), envs, placement.notice)
