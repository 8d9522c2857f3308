"""Doctor checks of the GPU plan: where each part runs, the compute type, the memory plan, the driver.

Each is the engine's own decision (engine/device.py, engine/engine_setup.py) on this machine's facts, so what
doctor says is what a worker will do.
"""

from __future__ import annotations

from stt_studio.doctor.findings import DoctorContext, Finding
from stt_studio.engine.device import (
    FIRST_RUN_NOTICE,
    MIN_DRIVER,
    choose_compute_type,
    compiles_kernels_at_first_use,
    decide_devices,
    workers_that_fit,
)
from stt_studio.engine.engine_setup import plan_engine, worker_memory_need_mb

CU126_TORCH = ("pip install torch==2.8.0 torchaudio==2.8.0 --index-url https://download.pytorch.org/whl/cu126 "
               "(its kernels cover capability 5.0-9.0)")  # fmt: skip


def check_parts(ctx: DoctorContext) -> Finding:
    facts, settings = ctx.device_facts, ctx.settings
    parts = decide_devices(facts, settings.whisper_device)
    if parts.asr == "cpu":
        return Finding("info", "every part on the CPU" + ("" if settings.whisper_device == "cpu" else
                       " (no CUDA GPU: see Device)"))  # fmt: skip
    gpu = facts.gpu(0)
    assert gpu is not None
    card = f"{gpu.name}, compute capability {gpu.capability[0]}.{gpu.capability[1]}"
    if parts.torch == "cuda":
        return Finding("ok", f"transcription, VAD, alignment and diarization on GPU 0 ({card})")
    fix = ("Reinstall with scripts/setup.sh: PyPI's Linux torch wheels are CUDA builds (on Windows: "
           "pip install torch==2.8.0 torchaudio==2.8.0 --index-url https://download.pytorch.org/whl/cu128)."
           if not facts.torch_cuda_build else f"To run them on this GPU: {CU126_TORCH}.")  # fmt: skip
    return Finding("warn", parts.notice or "VAD, alignment and diarization on the CPU", fix)


def check_compute_type(ctx: DoctorContext) -> Finding:
    facts, settings = ctx.device_facts, ctx.settings
    parts = decide_devices(facts, settings.whisper_device)
    choice = choose_compute_type(facts, parts.asr, settings.compute_type)
    gpu = facts.gpu(0) if parts.asr == "cuda" else None
    supported = sorted(gpu.compute_types if gpu is not None else facts.cpu_compute_types)
    where = "GPU 0" if gpu is not None else "the CPU"
    if choice.notice:
        return Finding("warn", choice.notice, f"Unset STT_COMPUTE_TYPE, or set one of: {', '.join(supported)}.")
    return Finding("ok", f"{choice.compute_type} on {where} (it supports {', '.join(supported)})")


def check_memory_plan(ctx: DoctorContext) -> Finding:
    facts, settings = ctx.device_facts, ctx.settings
    setup = plan_engine(facts, settings.whisper_device, settings.whisper_model_size, settings, diarize=True, vad=None)
    if setup.gpu is None:
        return Finding("info", "no GPU memory to plan (the CPU runs the jobs)")
    if setup.memory is None:
        return Finding("info", f"batch {setup.batch_size}: the GPU's free memory is unknown (torch can't see the GPU)")
    plan = setup.memory
    parts = ", ".join(f"{name} {mb / 1024:.1f}" for name, mb in plan.parts_mb.items() if mb)
    need = worker_memory_need_mb(facts, settings.whisper_model_size, settings)
    workers = workers_that_fit(setup.gpu.free_mb, need) if plan.fits else 0
    detail = f"{plan.reason} (GiB: {parts}, +10 % margin); {workers} worker(s) fit on GPU 0"
    if not plan.fits:
        return Finding("warn", plan.reason, "Choose a smaller model or STT_COMPUTE_TYPE=int8_float16; free the GPU.")
    if plan.batch_size < (settings.batch_size or 16):
        return Finding("warn", detail, "A smaller batch is slower; a smaller model or int8_float16 keeps batch 16.")
    return Finding("ok", detail)


def check_driver(ctx: DoctorContext) -> Finding:
    facts = ctx.device_facts
    if not facts.gpus:
        return Finding("info", f"no NVIDIA GPU in use (a GPU needs driver {MIN_DRIVER} or newer: CUDA 12.8)")
    version = facts.driver_version
    first = [g for g in facts.gpus if compiles_kernels_at_first_use(g)]
    extra = f"; {FIRST_RUN_NOTICE.lower()} (kept in {ctx.settings.resolved_cuda_cache_dir})" if first else ""
    if version is None:
        return Finding("info", f"driver version unknown; CUDA 12.8 needs {MIN_DRIVER} or newer{extra}")
    if _older(version, MIN_DRIVER):
        return Finding("fail", f"NVIDIA driver {version} is older than {MIN_DRIVER}, which CUDA 12.8 needs",
                       f"Install NVIDIA driver {MIN_DRIVER} or newer (nvidia-smi shows the version).")  # fmt: skip
    return Finding("ok", f"NVIDIA driver {version} (CUDA 12.8 needs {MIN_DRIVER} or newer){extra}")


def _older(version: str, minimum: str) -> bool:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split(".") if p.isdigit())

    return key(version) < key(minimum)
