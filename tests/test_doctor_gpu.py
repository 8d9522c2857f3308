"""doctor's GPU plan findings (device per part, compute type, memory plan, driver) on real cards' facts."""

from __future__ import annotations

from stt_studio.doctor import run_checks
from stt_studio.doctor.findings import DoctorContext
from stt_studio.doctor.gpu import check_compute_type, check_driver, check_memory_plan, check_parts
from stt_studio.engine.device import DeviceFacts, GpuFacts
from stt_studio.settings import Settings
from tests.test_device import AMPERE_PLUS_TYPES, GTX_1080, H100, RTX_3060, linux_facts

GPU_CHECKS = (("parts", check_parts), ("compute", check_compute_type), ("memory", check_memory_plan),
              ("driver", check_driver))  # fmt: skip


def findings(facts: DeviceFacts, **settings: object) -> dict[str, tuple[str, str, str]]:
    ctx = DoctorContext(Settings(**settings), facts=facts)  # type: ignore[arg-type]
    return {r.name: (r.status, r.detail, r.fix) for r in run_checks(ctx, GPU_CHECKS)}


def test_a_pascal_card_is_told_where_each_part_runs_and_why() -> None:
    found = findings(linux_facts(GTX_1080), compute_type="float16")
    status, detail, fix = found["parts"]
    assert status == "warn" and "compute capability 6.1" in detail and "whl/cu126" in fix
    status, detail, fix = found["compute"]
    assert status == "warn" and detail.endswith("using int8_float32") and "int8_float32" in fix
    assert found["memory"][0] == "warn" and "at batch 8" in found["memory"][1]  # 16 would not fit 8 GB
    assert found["driver"] == ("ok", "NVIDIA driver 570.86 (CUDA 12.8 needs 570 or newer)", "")


def test_an_h100_runs_everything_at_batch_16_and_prepares_its_kernels_once() -> None:
    found = findings(linux_facts(H100))
    assert found["parts"][0] == "ok" and "on GPU 0 (NVIDIA H100 80GB HBM3, compute capability 9.0)" in found["parts"][1]
    assert found["compute"][:2] == ("ok", "float16 on GPU 0 (it supports bfloat16, float16, float32, int8, "
                                          "int8_bfloat16, int8_float16, int8_float32)")  # fmt: skip
    status, detail, _ = found["memory"]
    assert status == "ok" and "at batch 16" in detail and "6 worker(s) fit" in detail
    assert found["driver"][0] == "ok" and "first run on this gpu prepares its kernels" in found["driver"][1]


def test_a_large_model_that_does_not_fit_and_an_old_driver_are_named() -> None:
    small = linux_facts(GpuFacts(0, "GTX 1650", (7, 5), 3800, 4096, AMPERE_PLUS_TYPES))
    found = findings(small)
    assert found["memory"][0] == "warn" and found["memory"][1].startswith("Does not fit: large-v3 (float16)")
    old = DeviceFacts(1, True, "12.8", ("sm_86",), (RTX_3060,), "550.54.14")
    status, detail, _ = findings(old)["driver"]
    assert status == "fail" and detail == "NVIDIA driver 550.54.14 is older than 570, which CUDA 12.8 needs"


def test_a_cpu_only_torch_beside_a_cuda_ctranslate2() -> None:
    windows = DeviceFacts(1, False, None, (), (GpuFacts(0, "GPU 0", (0, 0), 0, 0, AMPERE_PLUS_TYPES),), None)
    found = findings(windows)
    assert found["parts"][0] == "warn" and "CPU-only build of torch" in found["parts"][1]
    assert "download.pytorch.org/whl/cu128" in found["parts"][2]
    assert found["memory"][0] == "info" and found["compute"][1].startswith("float16 on GPU 0")

