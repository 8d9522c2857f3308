"""serve's workers on the GPUs: how many start, and each pinned to its GPU (CUDA_VISIBLE_DEVICES) by the real
supervisor."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from stt_studio.engine.device import DeviceFacts, GpuFacts
from stt_studio.settings import Settings
from stt_studio.supervisor import WorkerSupervisor
from stt_studio.worker_placement import place_worker_processes
from tests.test_device import AMPERE_PLUS_TYPES, GTX_1080, RTX_3060, linux_facts

TWO_24GB = linux_facts(GpuFacts(0, "A", (8, 6), 23_000, 24_576, AMPERE_PLUS_TYPES),
                       GpuFacts(1, "B", (8, 6), 23_000, 24_576, AMPERE_PLUS_TYPES))  # fmt: skip


def test_workers_are_spread_over_the_gpus_and_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    placement = place_worker_processes(Settings(whisper_model_size="small"), 3, TWO_24GB)
    assert placement.count == 3 and placement.notice is None
    assert [e["CUDA_VISIBLE_DEVICES"] for e in placement.slot_envs] == ["0", "1", "0"]
    assert [e["STT_WORKER_GPU"] for e in placement.slot_envs] == ["0", "1", "0"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    monkeypatch.setenv("STT_GPUS", "1")
    only_second = place_worker_processes(Settings(whisper_model_size="small"), 2, TWO_24GB)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in only_second.slot_envs] == ["6", "6"]


def test_only_the_workers_that_fit_start_and_the_reason_is_given() -> None:
    placement = place_worker_processes(Settings(), 3, linux_facts(RTX_3060))  # large-v3 float16 with every part
    assert placement.count == 1
    assert placement.notice is not None and placement.notice.startswith("Starting 1 of 3 workers: each needs about")
    nowhere = place_worker_processes(Settings(gpus=[2]), 1, TWO_24GB)
    assert nowhere.count == 0 and nowhere.notice is not None and "STT_GPUS=2 names no visible GPU" in nowhere.notice


def test_the_cpu_and_a_cpu_only_torch_place_as_asked() -> None:
    assert place_worker_processes(Settings(whisper_device="cpu"), 2, TWO_24GB).slot_envs == ()
    assert place_worker_processes(Settings(), 2, DeviceFacts()).count == 2
    windows = DeviceFacts(1, False, None, (), (GpuFacts(0, "GPU 0", (0, 0), 0, 0, AMPERE_PLUS_TYPES),))
    assert place_worker_processes(Settings(), 2, windows).count == 2  # memory unknown: no limit
    assert place_worker_processes(Settings(), 2, linux_facts(GTX_1080)).count == 1  # int8 large-v3: one per 8 GB


def test_the_supervisor_gives_each_worker_its_own_gpu(tmp_path: Path) -> None:
    supervisor = WorkerSupervisor(2, slot_envs=({"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}))
    script = "import os, sys, time; open(sys.argv[1] + os.environ['CUDA_VISIBLE_DEVICES'], 'w').close(); time.sleep(30)"
    supervisor._args = [sys.executable, "-c", script, str(tmp_path / "gpu-")]  # a stand-in worker: says its GPU
    supervisor.start()
    try:
        deadline = time.monotonic() + 20
        while len(list(tmp_path.glob("gpu-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        supervisor.stop(grace_seconds=1)
    assert sorted(p.name for p in tmp_path.glob("gpu-*")) == ["gpu-0", "gpu-1"]


def test_metrics_show_device_memory_per_gpu_once_however_many_workers_share_it() -> None:
    from stt_studio.jobs.metrics import gpu_memory_families
    from stt_studio.jobs.models import WorkerInfo

    def worker(name: str, gpu: int | None, used: float) -> WorkerInfo:
        return WorkerInfo(name=name, pid=1, model="large-v3", device="cuda", compute_type="float16", gpu_index=gpu,
                          gpu_name="H100", gpu_memory_used_mb=used, gpu_memory_total_mb=81_559)  # fmt: skip

    cpu = WorkerInfo(name="c", pid=1, model="base", device="cpu", compute_type="int8")
    used, total = gpu_memory_families([worker("a", 0, 9000), worker("b", 0, 9000), worker("c", 1, 4500), cpu])
    assert [(s.labels, s.value) for s in used.samples] == [
        ({"gpu": "0", "name": "H100"}, 9000 * 2**20), ({"gpu": "1", "name": "H100"}, 4500 * 2**20)]  # fmt: skip
    assert [s.value for s in total.samples] == [81_559 * 2**20] * 2
