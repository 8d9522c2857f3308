"""What an engine runs with, decided from the settings and the device facts: the device of each part, the compute
type, the batch size that fits the GPU's free memory, the VAD, and the notices that say why."""

from __future__ import annotations

from dataclasses import dataclass, field

from stt_studio.engine.device import (
    FIRST_RUN_NOTICE,
    DeviceFacts,
    GpuFacts,
    MemoryNeeds,
    MemoryPlan,
    PartDevices,
    choose_compute_type,
    compiles_kernels_at_first_use,
    decide_devices,
    plan_memory,
    supported_compute_types,
)
from stt_studio.settings import Settings, VadMethod

GPU_BATCH_SIZE = 16
CPU_BATCH_SIZE = 4


@dataclass
class EngineSetup:
    parts: PartDevices
    compute_type: str
    batch_size: int
    vad_method: VadMethod
    gpu: GpuFacts | None = None
    memory: MemoryPlan | None = None
    first_run_notice: str | None = None
    supported_compute_types: frozenset[str] = frozenset()
    """What the device the transcription runs on supports (the Settings dialog offers only these)."""
    notices: list[str] = field(default_factory=list)
    """For each job's result and the worker's report: a part moved to the CPU, a compute type refused, a plan that
    does not fit. (No GPU at all is said by the requested device beside the one used, as before.)"""


def plan_engine(
    facts: DeviceFacts, requested: str, model: str, settings: Settings, *, diarize: bool, vad: VadMethod | None
) -> EngineSetup:
    parts = decide_devices(facts, requested)
    gpu = facts.gpu(0) if parts.asr == "cuda" else None
    choice = choose_compute_type(facts, parts.asr, settings.compute_type)
    notices = [n for n in (parts.notice if gpu is not None else None, choice.notice) if n]
    vad_method: VadMethod = vad or settings.vad or ("pyannote" if parts.vad == "cuda" else "silero")
    setup = EngineSetup(parts, choice.compute_type, settings.batch_size or CPU_BATCH_SIZE, vad_method, gpu)
    setup.supported_compute_types = supported_compute_types(facts, parts.asr)
    if gpu is None:
        setup.notices = notices
        return setup
    setup.batch_size = settings.batch_size or GPU_BATCH_SIZE
    if gpu.total_mb > 0:  # known (torch tells it): plan the batch to fit
        needs = MemoryNeeds(model, choice.compute_type, vad=parts.vad == "cuda" and vad_method == "pyannote",
                            align=parts.align == "cuda", diarize=diarize and parts.diarize == "cuda")  # fmt: skip
        setup.memory = plan_memory(needs, gpu.free_mb, setup.batch_size)
        setup.batch_size = setup.memory.batch_size
        if not setup.memory.fits:
            notices.append(setup.memory.reason)
    if compiles_kernels_at_first_use(gpu):
        setup.first_run_notice = FIRST_RUN_NOTICE
    setup.notices = notices
    return setup


def worker_memory_need_mb(facts: DeviceFacts, model: str, settings: Settings) -> float:
    """What one worker needs on the GPU at the batch size asked for (the supervisor counts workers with it)."""
    parts = decide_devices(facts, "cuda")
    compute_type = choose_compute_type(facts, parts.asr, settings.compute_type).compute_type
    vad_method = settings.vad or ("pyannote" if parts.vad == "cuda" else "silero")
    needs = MemoryNeeds(model, compute_type, vad=parts.vad == "cuda" and vad_method == "pyannote",
                        align=parts.align == "cuda", diarize=parts.diarize == "cuda")  # fmt: skip
    return needs.total_mb(settings.batch_size or GPU_BATCH_SIZE)
