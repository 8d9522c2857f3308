"""The GPU decisions (stt_studio/engine/device.py) with real cards' facts given as data.

Sources of the facts: torch 2.8.0+cu128's arch list is the -gencode list embedded in its libtorch_cuda.so
(compute_70 … compute_120, no PTX); CTranslate2 4.8's compute types per capability follow src/cuda/utils.cc and
src/devices.cc (int8 from 6.1, except 12.0 where it is disabled; float16 from 7.0; bfloat16 from 8.0).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stt_studio.engine.device import (
    DeviceFacts,
    GpuFacts,
    MemoryNeeds,
    choose_compute_type,
    compiles_kernels_at_first_use,
    decide_devices,
    model_figures,
    place_workers,
    plan_memory,
    torch_runs_on,
    visible_device_id,
    workers_that_fit,
)
from stt_studio.engine.engine_setup import plan_engine, worker_memory_need_mb
from stt_studio.engine.kernel_cache import configure_kernel_cache
from stt_studio.settings import Settings

TORCH_28_CU128_ARCHS = ("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")
PASCAL_TYPES = frozenset({"float32", "int8", "int8_float32"})
AMPERE_PLUS_TYPES = frozenset({"float32", "int8", "int8_float32", "float16", "int8_float16", "bfloat16",
                               "int8_bfloat16"})  # fmt: skip
BLACKWELL_CONSUMER_TYPES = frozenset({"float32", "float16", "bfloat16"})

GTX_1080 = GpuFacts(0, "NVIDIA GeForce GTX 1080", (6, 1), 7900, 8192, PASCAL_TYPES)
RTX_3060 = GpuFacts(0, "NVIDIA GeForce RTX 3060", (8, 6), 11_600, 12_288, AMPERE_PLUS_TYPES)
RTX_4090 = GpuFacts(0, "NVIDIA GeForce RTX 4090", (8, 9), 23_000, 24_564, AMPERE_PLUS_TYPES)
H100 = GpuFacts(0, "NVIDIA H100 80GB HBM3", (9, 0), 80_000, 81_559, AMPERE_PLUS_TYPES)
RTX_5090 = GpuFacts(0, "NVIDIA GeForce RTX 5090", (12, 0), 31_000, 32_607, BLACKWELL_CONSUMER_TYPES)


def linux_facts(*gpus: GpuFacts) -> DeviceFacts:
    return DeviceFacts(len(gpus), True, "12.8", TORCH_28_CU128_ARCHS, gpus, "570.86")


def test_pascal_asr_on_gpu_in_int8_and_the_torch_parts_on_the_cpu() -> None:
    facts = linux_facts(GTX_1080)
    parts = decide_devices(facts, "cuda")
    assert (parts.asr, parts.vad, parts.align, parts.diarize) == ("cuda", "cpu", "cpu", "cpu")
    assert parts.notice is not None and "compute capability 6.1" in parts.notice and "sm_70" in parts.notice
    assert choose_compute_type(facts, "cuda", None).compute_type == "int8_float32"  # no float16 before 7.0


def test_rtx_3060_and_h100_run_everything_on_the_gpu_in_float16() -> None:
    for gpu in (RTX_3060, RTX_4090, H100, RTX_5090):
        facts = linux_facts(gpu)
        parts = decide_devices(facts, "cuda")
        assert (parts.asr, parts.vad, parts.align, parts.diarize, parts.notice) == ("cuda",) * 4 + (None,), gpu
        assert choose_compute_type(facts, "cuda", None).compute_type == "float16"


def test_an_sm_cubin_runs_on_later_minors_of_its_major_only_and_ptx_on_anything_newer() -> None:
    facts = linux_facts()
    assert torch_runs_on(facts, RTX_4090)  # 8.9 runs sm_86's kernels
    assert not torch_runs_on(facts, GTX_1080)
    assert torch_runs_on(facts, GpuFacts(0, "Jetson", (8, 7), 1, 1))  # sm_86 covers 8.7 too
    ptx_only = DeviceFacts(1, True, "12.8", ("compute_80",), (RTX_3060,))
    assert torch_runs_on(ptx_only, RTX_3060) and not torch_runs_on(ptx_only, GpuFacts(0, "T4", (7, 5), 1, 1))


def test_windows_cpu_torch_with_a_cuda_ctranslate2_keeps_the_torch_parts_on_the_cpu() -> None:
    facts = DeviceFacts(1, False, None, (), (GpuFacts(0, "GPU 0", (0, 0), 0, 0, AMPERE_PLUS_TYPES),))
    parts = decide_devices(facts, "cuda")
    assert (parts.asr, parts.vad, parts.align, parts.diarize) == ("cuda", "cpu", "cpu", "cpu")
    assert parts.notice is not None and "CPU-only build of torch" in parts.notice
    assert choose_compute_type(facts, "cuda", None).compute_type == "float16"


def test_no_gpu_or_cpu_asked_for_runs_everything_on_the_cpu() -> None:
    none = DeviceFacts(probe_error="CUDA driver version is insufficient for CUDA runtime version")
    parts = decide_devices(none, "cuda")
    assert {parts.asr, parts.vad, parts.align, parts.diarize} == {"cpu"}
    assert parts.notice is not None and "insufficient" in parts.notice and "WHISPER_DEVICE=cpu" in parts.notice
    assert decide_devices(linux_facts(H100), "cpu").notice is None
    assert decide_devices(linux_facts(H100), "cpu").asr == "cpu"
    assert choose_compute_type(none, "cpu", None).compute_type == "int8"


def test_a_compute_type_override_is_taken_only_when_the_card_supports_it() -> None:
    pascal = linux_facts(GTX_1080)
    refused = choose_compute_type(pascal, "cuda", "float16")
    assert refused.compute_type == "int8_float32"
    assert refused.notice == ("Compute type float16 is not supported on NVIDIA GeForce GTX 1080 (compute capability "
                              "6.1) (it supports float32, int8, int8_float32); using int8_float32")  # fmt: skip
    taken = choose_compute_type(linux_facts(RTX_3060), "cuda", "int8_float16")
    assert taken.compute_type == "int8_float16" and taken.notice is None
    assert choose_compute_type(linux_facts(RTX_5090), "cuda", "int8_float16").compute_type == "float16"
    cpu = choose_compute_type(DeviceFacts(), "cpu", "float16")
    assert cpu.compute_type == "int8" and cpu.notice is not None and "on the CPU" in cpu.notice


def test_aliases_and_folders_share_their_models_figures() -> None:
    turbo = model_figures("turbo")
    assert turbo == model_figures("large-v3-turbo") == model_figures("/m/faster-whisper-large-v3-turbo")
    assert model_figures("tiny.en") == model_figures("tiny")
    assert model_figures("/somewhere/my-finetune") == model_figures("large-v3")  # unknown: the safe side


def test_large_v3_float16_with_every_part_fits_an_rtx_3060_only_at_a_smaller_batch() -> None:
    needs = MemoryNeeds("large-v3", "float16", vad=True, align=True, diarize=True)
    plan = plan_memory(needs, RTX_3060.free_mb, 16)
    assert plan.fits and plan.batch_size == 8, plan
    assert "batch 16 would need" in plan.reason
    h100 = plan_memory(needs, H100.free_mb, 16)
    assert h100.fits and h100.batch_size == 16 and h100.need_mb < H100.free_mb


def test_a_plan_that_does_not_fit_says_so_plainly() -> None:
    plan = plan_memory(MemoryNeeds("large-v3", "float16", vad=True, align=True, diarize=True), 4000, 16)
    assert not plan.fits and plan.batch_size == 1
    assert plan.reason.startswith("Does not fit: large-v3 (float16) needs about")
    assert "3.9 GiB free" in plan.reason and "smaller model" in plan.reason
    assert plan_memory(MemoryNeeds("large-v3", "int8_float32"), 4000, 16).fits  # int8 weights: half the memory


def test_workers_per_gpu_and_their_placement_across_two_gpus() -> None:
    need = MemoryNeeds("large-v3", "float16", vad=True, align=True).total_mb(16)
    assert workers_that_fit(H100.free_mb, need) == 7
    assert workers_that_fit(RTX_3060.free_mb, need) == 1  # one, even though its own plan shrinks its batch
    two = (GpuFacts(0, "A", (8, 6), 24_000, 24_576, AMPERE_PLUS_TYPES),
           GpuFacts(1, "B", (8, 6), 24_000, 24_576, AMPERE_PLUS_TYPES))  # fmt: skip
    small = MemoryNeeds("small", "float16").total_mb(16)
    assert place_workers(4, two, None, small).gpus == (0, 1, 0, 1)
    assert place_workers(3, two, [1], small).gpus == (1, 1, 1)
    crowded = place_workers(4, two, None, 15_000)
    assert crowded.gpus == (0, 1)
    assert crowded.notice == ("Starting 2 of 4 workers: each needs about 14.6 GiB of GPU memory; GPU 0 (A, 23.4 GiB "
                              "free) fits 1; GPU 1 (B, 23.4 GiB free) fits 1")  # fmt: skip
    wrong = place_workers(2, two, [3], small)
    assert wrong.gpus == () and wrong.notice is not None and "STT_GPUS=3 names no visible GPU" in wrong.notice


@pytest.mark.parametrize(("parent", "index", "child"), [(None, 1, "1"), ("2,3", 1, "3"), ("GPU-ab12", 0, "GPU-ab12")])
def test_a_pinned_worker_gets_its_gpu_in_the_parents_numbering(parent: str | None, index: int, child: str) -> None:
    assert visible_device_id(index, parent) == child


def test_kernels_are_compiled_at_first_use_from_hopper_on() -> None:
    assert compiles_kernels_at_first_use(H100) and compiles_kernels_at_first_use(RTX_5090)
    assert not compiles_kernels_at_first_use(RTX_3060) and not compiles_kernels_at_first_use(RTX_4090)


# --- what an engine runs with (engine_setup.plan_engine) ----------------------------------------------------------
def test_an_engine_on_a_pascal_card_plans_int8_silero_vad_and_says_why() -> None:
    setup = plan_engine(linux_facts(GTX_1080), "cuda", "large-v3", Settings(compute_type="float16"), diarize=True,
                        vad=None)  # fmt: skip
    assert (setup.parts.asr, setup.parts.torch, setup.compute_type, setup.vad_method) == (
        "cuda", "cpu", "int8_float32", "silero")  # fmt: skip
    assert len(setup.notices) == 2 and "compute capability 6.1" in setup.notices[0]
    assert setup.notices[1].startswith("Compute type float16 is not supported")
    assert setup.memory is not None and setup.memory.fits and setup.batch_size == 8  # float32 activations: 16 is 10 GiB


def test_an_engine_on_an_rtx_3060_plans_the_batch_that_fits_and_an_h100_prepares_its_kernels() -> None:
    rtx = plan_engine(linux_facts(RTX_3060), "cuda", "large-v3", Settings(), diarize=True, vad=None)
    assert (rtx.compute_type, rtx.batch_size, rtx.vad_method, rtx.notices) == ("float16", 8, "pyannote", [])
    assert rtx.first_run_notice is None
    h100 = plan_engine(linux_facts(H100), "cuda", "large-v3", Settings(), diarize=True, vad=None)
    assert h100.batch_size == 16 and "prepares its kernels" in (h100.first_run_notice or "")


def test_an_engine_without_a_gpu_says_nothing_in_its_results() -> None:
    setup = plan_engine(DeviceFacts(), "cuda", "large-v3", Settings(), diarize=True, vad=None)
    assert (setup.parts.asr, setup.compute_type, setup.batch_size, setup.notices) == ("cpu", "int8", 4, [])
    assert setup.parts.notice is not None  # logged by the engine; the status bar says "CPU (CUDA asked for)"


def test_a_worker_counts_what_it_needs_at_the_batch_asked_for() -> None:
    facts = linux_facts(H100)
    assert worker_memory_need_mb(facts, "large-v3", Settings()) == pytest.approx(
        MemoryNeeds("large-v3", "float16", vad=True, align=True, diarize=True).total_mb(16))
    assert worker_memory_need_mb(facts, "large-v3", Settings(batch_size=4)) < worker_memory_need_mb(
        facts, "large-v3", Settings())


def test_the_kernel_cache_goes_under_the_apps_cache_unless_the_user_chose_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_CACHE_PATH", raising=False)
    monkeypatch.delenv("CUDA_CACHE_MAXSIZE", raising=False)
    configure_kernel_cache(tmp_path / "cuda")
    assert os.environ["CUDA_CACHE_PATH"] == str(tmp_path / "cuda") and (tmp_path / "cuda").is_dir()
    assert os.environ["CUDA_CACHE_MAXSIZE"] == str(4 * 2**30)
    monkeypatch.setenv("CUDA_CACHE_PATH", "/theirs")
    configure_kernel_cache(tmp_path / "other")
    assert os.environ["CUDA_CACHE_PATH"] == "/theirs"
    assert Settings(data_dir=tmp_path).resolved_cuda_cache_dir.parts[-2:] == ("stt-studio", "cuda")
