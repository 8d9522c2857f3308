"""GPU decisions from device facts: where each part runs, the compute type, the memory plan, worker placement.

Everything here but ``probe_device_facts`` is pure: it takes ``DeviceFacts`` as data, so every card (a Pascal
GTX 1080, an RTX 3060, an H100, a CPU-only torch beside a CUDA CTranslate2, two GPUs) is tested on a CPU.
The memory figures and their sources are in docs/gpu.md.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Device = str  # "cuda" or "cpu"

COMPUTE_TYPE_PREFERENCE = ("float16", "int8_float32", "float32")
"""The automatic choice on a GPU, best first: float16 needs tensor cores (capability 7.0+, CTranslate2's
``gpu_has_fp16_tensor_cores``); int8 needs 6.1+ (``gpu_supports_int8``); float32 runs everywhere."""
CPU_COMPUTE_TYPE = "int8"

MIN_DRIVER = "570"
"""Linux driver for CUDA 12.8 (torch 2.8 cu128 wheels, CTranslate2 4.6+ built with CUDA 12.8); Windows: 570.65."""
FIRST_COMPILED_CAPABILITY = (9, 0)
"""CTranslate2's wheel carries kernels for capability 5.3-8.6 (which 8.7 and 8.9 run) plus PTX: from 9.0 on the
driver compiles the PTX at first use."""


@dataclass(frozen=True)
class GpuFacts:
    index: int
    """As CUDA numbers it in this process (after CUDA_VISIBLE_DEVICES)."""
    name: str
    capability: tuple[int, int]
    free_mb: float
    total_mb: float
    compute_types: frozenset[str] = frozenset()
    """CTranslate2's ``get_supported_compute_types("cuda", index)``."""


@dataclass(frozen=True)
class DeviceFacts:
    ctranslate2_cuda_devices: int = 0
    torch_cuda_available: bool = False
    torch_cuda_build: str | None = None
    """torch.version.cuda: None for a CPU-only build (PyPI's Windows wheels)."""
    torch_arch_list: tuple[str, ...] = ()
    """torch.cuda.get_arch_list(): the ``sm_XY`` kernels (and ``compute_XY`` PTX) its wheel carries."""
    gpus: tuple[GpuFacts, ...] = ()
    driver_version: str | None = None
    cpu_compute_types: frozenset[str] = frozenset({"int8", "int8_float32", "float32"})
    probe_error: str | None = None
    """Why probing failed (a broken CUDA install): then the facts say "no GPU"."""

    def gpu(self, index: int = 0) -> GpuFacts | None:
        return next((g for g in self.gpus if g.index == index), None)


# --- device per part ---------------------------------------------------------------------------------------------
def torch_runs_on(facts: DeviceFacts, gpu: GpuFacts) -> bool:
    """torch has kernels for this card: an ``sm_XY`` cubin runs on capability X.Y' for Y' >= Y (same major); a
    ``compute_XY`` PTX on any capability >= X.Y. torch 2.8's cu128 wheels carry sm_70-sm_120, so Pascal (6.1) and
    older have none."""
    major, minor = gpu.capability
    for arch in facts.torch_arch_list:
        match = re.fullmatch(r"(sm|compute)_(\d+)(\d)a?", arch)
        if match is None:
            continue
        kind, arch_major, arch_minor = match.group(1), int(match.group(2)), int(match.group(3))
        if kind == "sm" and arch_major == major and arch_minor <= minor:
            return True
        if kind == "compute" and (arch_major, arch_minor) <= (major, minor):
            return True
    return False


@dataclass(frozen=True)
class PartDevices:
    asr: Device
    vad: Device
    align: Device
    diarize: Device
    notice: str | None = None
    """One plain sentence when a part runs elsewhere than asked (or None)."""

    @property
    def torch(self) -> Device:
        return self.vad


def decide_devices(facts: DeviceFacts, requested: Device, gpu_index: int = 0) -> PartDevices:
    """ASR on CUDA when CTranslate2 sees a GPU; the torch parts (VAD, alignment, diarization) on CUDA only when
    torch's CUDA works and its wheel has kernels for the card, else on the CPU with one notice."""
    if requested != "cuda":
        return PartDevices("cpu", "cpu", "cpu", "cpu")
    gpu = facts.gpu(gpu_index)
    if facts.ctranslate2_cuda_devices == 0 or gpu is None:
        reason = f" ({facts.probe_error})" if facts.probe_error else ""
        return PartDevices("cpu", "cpu", "cpu", "cpu",
                           f"CUDA was asked for, but CTranslate2 sees no CUDA GPU{reason}: everything runs on the CPU "
                           "(set WHISPER_DEVICE=cpu to mean it)")  # fmt: skip
    if not facts.torch_cuda_available or not facts.torch_cuda_build:
        build = "a CPU-only build of torch" if not facts.torch_cuda_build else "torch cannot use the GPU"
        notice = (f"Transcription runs on {gpu.name}; VAD, alignment and diarization run on the CPU ({build}). "
                  "Install torch's CUDA build (scripts/setup.sh) to run them on the GPU.")  # fmt: skip
        return PartDevices("cuda", "cpu", "cpu", "cpu", notice)
    if not torch_runs_on(facts, gpu):
        major, minor = gpu.capability
        notice = (f"Transcription runs on {gpu.name}; VAD, alignment and diarization run on the CPU: this torch "
                  f"has no kernels for compute capability {major}.{minor} (it has {' '.join(facts.torch_arch_list)}).")
        return PartDevices("cuda", "cpu", "cpu", "cpu", notice)
    return PartDevices("cuda", "cuda", "cuda", "cuda")


# --- compute type ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComputeChoice:
    compute_type: str
    notice: str | None = None


def supported_compute_types(facts: DeviceFacts, device: Device, gpu_index: int = 0) -> frozenset[str]:
    """What CTranslate2 can run on ``device``: the card's types on a GPU, the CPU's otherwise."""
    if device == "cuda":
        gpu = facts.gpu(gpu_index)
        return gpu.compute_types if gpu is not None else frozenset()
    return facts.cpu_compute_types


def choose_compute_type(facts: DeviceFacts, device: Device, override: str | None, gpu_index: int = 0) -> ComputeChoice:
    """float16 on a card with it, else int8_float32, else float32; int8 on the CPU. An override (STT_COMPUTE_TYPE)
    is taken only if the device supports it: otherwise the automatic choice, and a notice that says why."""
    supported = supported_compute_types(facts, device, gpu_index)
    if device == "cuda":
        gpu = facts.gpu(gpu_index)
        automatic = next((t for t in COMPUTE_TYPE_PREFERENCE if t in supported), "float32")
        where = f"{gpu.name} (compute capability {gpu.capability[0]}.{gpu.capability[1]})" if gpu else "this GPU"
    else:
        automatic = CPU_COMPUTE_TYPE if CPU_COMPUTE_TYPE in supported else "float32"
        where = "the CPU"
    if override is None or override == automatic:
        return ComputeChoice(automatic)
    if override in supported:
        return ComputeChoice(override)
    return ComputeChoice(
        automatic,
        f"Compute type {override} is not supported on {where} (it supports {', '.join(sorted(supported))}); "
        f"using {automatic}",
    )


# --- memory plan -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFigures:
    params_millions: float
    overhead_mb: float
    """Beyond the weights at batch 1: CUDA context, cuBLAS workspace, the beam's decoder state."""
    per_item_mb: float
    """Each further chunk in a batch (half precision activations)."""


MODEL_FIGURES = {
    "tiny": ModelFigures(39, 450, 15),
    "base": ModelFigures(74, 500, 25),
    "small": ModelFigures(244, 650, 60),
    "medium": ModelFigures(769, 1000, 120),
    "large": ModelFigures(1550, 1420, 225),
    "large-v3-turbo": ModelFigures(809, 920, 60),
    "distil-large-v3": ModelFigures(756, 900, 60),
}
"""See docs/gpu.md: large-v3 and turbo at batch 1 are faster-whisper's published measurements (RTX 2080 Ti);
large at batch 8 is faster-whisper's README (RTX 3070 Ti); the rest scale those by parameter count."""
TORCH_CONTEXT_MB = 300.0
"""torch's own cuDNN/cuBLAS handles and allocator pools in the process, when a torch part is on the GPU."""
VAD_MB = 100.0
ALIGNER_MB = 1300.0
"""A large wav2vec2 (315 M parameters, float32) plus a 30 s window; English's base model needs about 600."""
DIARIZER_MB = 1000.0
MARGIN_FRACTION = 0.1
BATCH_SIZES = (32, 16, 8, 4, 2, 1)


def model_figures(model: str) -> ModelFigures:
    """The figures for a model name or folder; an unknown model counts as large (the safe side)."""
    name = model.rstrip("/").rsplit("/", 1)[-1].lower().removeprefix("faster-whisper-").removesuffix(".en")
    if name in ("turbo", "large-v3-turbo") or "turbo" in name:
        return MODEL_FIGURES["large-v3-turbo"]
    if name.startswith("distil"):
        return MODEL_FIGURES["distil-large-v3"] if "large" in name else MODEL_FIGURES["small"]
    for key in ("tiny", "base", "small", "medium"):
        if name == key:
            return MODEL_FIGURES[key]
    return MODEL_FIGURES["large"]


def _bytes_per_weight(compute_type: str) -> float:
    if compute_type.startswith("int8"):
        return 1.0
    return 4.0 if compute_type == "float32" else 2.0


def _activation_factor(compute_type: str) -> float:
    return 2.0 if compute_type in ("float32", "int8_float32") else 1.0


@dataclass(frozen=True)
class MemoryNeeds:
    model: str
    compute_type: str
    vad: bool = False
    align: bool = False
    diarize: bool = False
    """Which torch parts are on the GPU."""

    def at_batch(self, batch_size: int) -> dict[str, float]:
        figures = model_figures(self.model)
        parts = {
            "whisper": figures.params_millions * _bytes_per_weight(self.compute_type) + figures.overhead_mb,
            "batch": (batch_size - 1) * figures.per_item_mb * _activation_factor(self.compute_type),
        }
        if self.vad or self.align or self.diarize:
            parts["torch"] = TORCH_CONTEXT_MB
        if self.vad:
            parts["vad"] = VAD_MB
        if self.align:
            parts["aligner"] = ALIGNER_MB
        if self.diarize:
            parts["diarizer"] = DIARIZER_MB
        return parts

    def total_mb(self, batch_size: int) -> float:
        return sum(self.at_batch(batch_size).values()) * (1 + MARGIN_FRACTION)


@dataclass(frozen=True)
class MemoryPlan:
    batch_size: int
    need_mb: float
    free_mb: float
    fits: bool
    reason: str
    parts_mb: dict[str, float] = field(default_factory=dict)


def plan_memory(needs: MemoryNeeds, free_mb: float, wanted_batch: int) -> MemoryPlan:
    """The largest batch size up to ``wanted_batch`` whose estimate fits ``free_mb``; batch 1 and a plain "does not
    fit" reason when none does (the run still tries: the estimate is on the safe side)."""
    for batch in [wanted_batch, *(b for b in BATCH_SIZES if b < wanted_batch)]:
        need = needs.total_mb(batch)
        if need <= free_mb:
            reason = (f"{needs.model} ({needs.compute_type}) at batch {batch} needs about {need / 1024:.1f} GiB; "
                      f"{free_mb / 1024:.1f} GiB free")  # fmt: skip
            if batch < wanted_batch:
                reason += f" (batch {wanted_batch} would need {needs.total_mb(wanted_batch) / 1024:.1f} GiB)"
            return MemoryPlan(batch, need, free_mb, True, reason, needs.at_batch(batch))
    need = needs.total_mb(1)
    reason = (f"Does not fit: {needs.model} ({needs.compute_type}) needs about {need / 1024:.1f} GiB even at batch 1 "
              f"({_parts_text(needs.at_batch(1))}), and the GPU has {free_mb / 1024:.1f} GiB free. Use a smaller "
              "model, STT_COMPUTE_TYPE=int8_float16, or fewer workers on this GPU.")  # fmt: skip
    return MemoryPlan(1, need, free_mb, False, reason, needs.at_batch(1))


def _parts_text(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {mb / 1024:.1f}" for name, mb in parts.items() if mb)


# --- workers across GPUs -----------------------------------------------------------------------------------------
def workers_that_fit(free_mb: float, need_mb: float) -> int:
    """How many workers, each needing ``need_mb``, fit in ``free_mb`` (each worker has its own CUDA context and
    models); at least one, whose own plan then says it does not fit."""
    return max(1, math.floor(free_mb / need_mb)) if need_mb > 0 else 1


@dataclass(frozen=True)
class Placement:
    gpus: tuple[int, ...]
    """The GPU (CUDA's index in this process) of each worker to start, in start order."""
    notice: str | None = None


def place_workers(
    requested: int, gpus: Sequence[GpuFacts], selected: Sequence[int] | None, need_mb: float
) -> Placement:
    """Spread ``requested`` workers over the ``selected`` GPUs (STT_GPUS; default all) round-robin, each GPU taking
    only as many as fit (``need_mb`` 0: unknown, no limit); fewer workers than asked, with a notice saying why,
    when they do not all fit."""
    chosen = [g for g in gpus if selected is None or g.index in selected]
    if not chosen:
        return Placement((), f"STT_GPUS={','.join(map(str, selected or []))} names no visible GPU "
                             f"(visible: {', '.join(str(g.index) for g in gpus) or 'none'})")  # fmt: skip
    room = {g.index: workers_that_fit(g.free_mb, need_mb) if need_mb > 0 else requested for g in chosen}
    order: list[int] = []
    while len(order) < requested and any(room.values()):
        for gpu in chosen:
            if len(order) < requested and room[gpu.index] > 0:
                order.append(gpu.index)
                room[gpu.index] -= 1
    notice = None
    if len(order) < requested:
        each = "; ".join(f"GPU {g.index} ({g.name}, {g.free_mb / 1024:.1f} GiB free) fits "
                         f"{workers_that_fit(g.free_mb, need_mb)}" for g in chosen)  # fmt: skip
        notice = (f"Starting {len(order)} of {requested} workers: each needs about {need_mb / 1024:.1f} GiB of GPU "
                  f"memory; {each}")
    return Placement(tuple(order), notice)


def visible_device_id(index: int, cuda_visible_devices: str | None) -> str:
    """What CUDA_VISIBLE_DEVICES a worker pinned to GPU ``index`` gets, given the parent's own setting (whose
    entries may be ids or UUIDs that this process numbers 0, 1, …)."""
    if cuda_visible_devices:
        entries = [e.strip() for e in cuda_visible_devices.split(",") if e.strip()]
        if index < len(entries):
            return entries[index]
    return str(index)


# --- first use on new cards --------------------------------------------------------------------------------------
def compiles_kernels_at_first_use(gpu: GpuFacts) -> bool:
    """CTranslate2's wheel has no kernels built for this card: the driver compiles its PTX the first time (minutes),
    then keeps them in CUDA_CACHE_PATH."""
    return gpu.capability >= FIRST_COMPILED_CAPABILITY


FIRST_RUN_NOTICE = "First run on this GPU prepares its kernels: this can take a few minutes, once"


# --- probing -----------------------------------------------------------------------------------------------------
def probe_device_facts(*, cuda: bool = True, with_torch: bool = True) -> DeviceFacts:
    """Ask CTranslate2 (and torch, when ``with_torch``) what this process can use; ``cuda=False``: the CPU's compute
    types only, without touching the driver. torch is imported first, as the engine does (whisper_loader.py): its
    wheels bring the cuBLAS 12 that CTranslate2 loads. Never raises: a broken CUDA install is in ``probe_error``."""
    torch: Any = None
    error = None
    if cuda and with_torch:
        try:
            import torch
        except Exception as exc:  # a broken torch: the torch parts stay on the CPU
            error = _first_line(exc)
    try:
        import ctranslate2

        cpu_types = frozenset(ctranslate2.get_supported_compute_types("cpu"))
        count = int(ctranslate2.get_cuda_device_count()) if cuda else 0
    except Exception as exc:  # a broken CUDA install must not stop a CPU run
        return DeviceFacts(probe_error=_first_line(exc))
    if count == 0:
        return DeviceFacts(cpu_compute_types=cpu_types, probe_error=error)
    gpus: list[GpuFacts] = []
    torch_ok, build, archs = False, None, ()
    try:
        if torch is not None:
            build = torch.version.cuda
            torch_ok = bool(torch.cuda.is_available())
            archs = tuple(torch.cuda.get_arch_list()) if torch_ok else ()
        for index in range(count):
            types = frozenset(ctranslate2.get_supported_compute_types("cuda", index))
            if torch_ok:
                free, total = torch.cuda.mem_get_info(index)
                major, minor = torch.cuda.get_device_capability(index)
                name = torch.cuda.get_device_name(index)
                gpus.append(GpuFacts(index, name, (major, minor), free / 2**20, total / 2**20, types))
            else:  # name, capability and memory are torch's to tell; CTranslate2 tells the compute types
                gpus.append(GpuFacts(index, f"GPU {index}", (0, 0), 0.0, 0.0, types))
    except Exception as exc:  # report it; the decisions keep the torch parts on the CPU
        error = _first_line(exc)
        torch_ok = False
    return DeviceFacts(count, torch_ok, build, archs, tuple(gpus), _driver_version(), cpu_types, error)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _driver_version() -> str | None:
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8") as f:
            match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", f.read())
            return match.group(1) if match else None
    except OSError:
        return None


def facts_to_json(facts: DeviceFacts) -> dict[str, Any]:
    data = asdict(facts)
    data["cpu_compute_types"] = sorted(facts.cpu_compute_types)
    for gpu in data["gpus"]:
        gpu["compute_types"] = sorted(gpu["compute_types"])
    return data


def facts_from_json(data: dict[str, Any]) -> DeviceFacts:
    gpus = tuple(
        GpuFacts(g["index"], g["name"], (g["capability"][0], g["capability"][1]), g["free_mb"], g["total_mb"],
                 frozenset(g["compute_types"]))
        for g in data.get("gpus", [])
    )  # fmt: skip
    return DeviceFacts(
        data.get("ctranslate2_cuda_devices", 0), data.get("torch_cuda_available", False),
        data.get("torch_cuda_build"), tuple(data.get("torch_arch_list", ())), gpus, data.get("driver_version"),
        frozenset(data.get("cpu_compute_types", ())), data.get("probe_error"),
    )  # fmt: skip


def probe_in_subprocess(timeout_seconds: float = 120.0) -> DeviceFacts:
    """``probe_device_facts`` in a short-lived process: the caller (the supervisor, doctor) gets the facts without
    holding a CUDA context of its own on every GPU for as long as it runs."""
    import subprocess
    import sys

    try:
        out = subprocess.run([sys.executable, "-m", "stt_studio.engine.device"], capture_output=True, text=True,
                             timeout=timeout_seconds, check=True).stdout  # fmt: skip
        return facts_from_json(json.loads(out))
    except (subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
        return DeviceFacts(probe_error=f"probing the GPU failed: {type(exc).__name__}")


if __name__ == "__main__":
    print(json.dumps(facts_to_json(probe_device_facts())))
