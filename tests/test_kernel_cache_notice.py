""""First run on this GPU prepares its kernels" reaches the window (the worker's report, then the next job's
warnings) only on the first load with a cold kernel cache, on a card whose kernels the driver compiles; never on
every load. The decision takes its facts as data; the engine's part runs a real tiny.en on the CPU standing in for
an H100's load."""

from __future__ import annotations

from pathlib import Path

import pytest

from stt_studio.engine import pipeline, whisper_loader
from stt_studio.engine.device import FIRST_RUN_NOTICE, DeviceFacts, GpuFacts
from stt_studio.engine.kernel_cache import cache_has_kernels, first_load_notice
from stt_studio.engine.pipeline import Engine
from stt_studio.settings import Settings
from tests.speech import SENTENCES, speech_clip

H100 = GpuFacts(0, "NVIDIA H100 80GB HBM3", (9, 0), 80_000, 81_559, frozenset({"float16", "int8_float32", "float32"}))
RTX_3060 = GpuFacts(0, "NVIDIA GeForce RTX 3060", (8, 6), 11_000, 12_288, H100.compute_types)


@pytest.mark.parametrize(
    ("compiles", "cached", "loaded_before", "said"),
    [
        (True, False, False, True),  # an H100, an empty cache, the process's first load: minutes of compiling
        (True, True, False, False),  # compiled by an earlier run: the cache has them
        (True, False, True, False),  # a second model in the same process: its kernels are there already
        (False, False, False, False),  # an RTX 3060: the wheel has its kernels, nothing is compiled
    ],
)
def test_the_notice_only_when_kernels_are_really_compiled(
    compiles: bool, cached: bool, loaded_before: bool, said: bool
) -> None:
    notice = first_load_notice(compiles_at_first_use=compiles, cache_has_kernels=cached, loaded_before=loaded_before)
    assert notice == (FIRST_RUN_NOTICE if said else None)


def test_a_cache_has_kernels_once_the_driver_wrote_a_file(tmp_path: Path) -> None:
    assert not cache_has_kernels(tmp_path / "missing") and not cache_has_kernels(tmp_path)
    (tmp_path / "ComputeCache" / "a").mkdir(parents=True)
    assert not cache_has_kernels(tmp_path)  # the folders the driver makes before it writes
    (tmp_path / "ComputeCache" / "a" / "0123").write_bytes(b"kernel")
    assert cache_has_kernels(tmp_path)


@pytest.fixture
def as_if_on_a_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Loads "on the GPU" run the real tiny.en on the CPU; an empty kernel cache; no load in this process yet."""
    real = whisper_loader.load_whisper
    on_cpu = lambda path, _device, _type, threads: real(path, "cpu", "int8", threads)  # noqa: E731
    monkeypatch.setattr(whisper_loader, "load_whisper", on_cpu)
    monkeypatch.setattr(pipeline, "_GPU_LOADS_IN_THIS_PROCESS", set())
    cache = tmp_path / "kernels"
    cache.mkdir()
    monkeypatch.setenv("CUDA_CACHE_PATH", str(cache))
    return cache


def _engine(settings: Settings, gpu: GpuFacts) -> Engine:
    facts = DeviceFacts(1, False, None, (), (gpu,))  # a CPU-only torch: VAD and the rest stay on the CPU
    return Engine(settings, model="tiny.en", device="cuda", facts=facts)


def test_the_first_load_on_an_h100_tells_the_report_then_the_next_job_once(
    settings: Settings, as_if_on_a_gpu: Path, tmp_path: Path
) -> None:
    clip = speech_clip(tmp_path / "clip", SENTENCES[:1], "clip")
    engine = _engine(settings, H100)
    assert FIRST_RUN_NOTICE not in engine.notices  # nothing is compiled before a load
    engine.load()
    assert FIRST_RUN_NOTICE in engine.notices  # the worker's report (status bar) says it from now
    assert FIRST_RUN_NOTICE in engine.transcribe(clip).warnings
    assert FIRST_RUN_NOTICE not in engine.notices
    assert FIRST_RUN_NOTICE not in engine.transcribe(clip).warnings  # once, not every job

    another = _engine(settings, H100)  # another model in the same process (the holder's swap): kernels ready
    another.load()
    assert FIRST_RUN_NOTICE not in another.notices


def test_no_notice_with_a_warm_cache_or_on_a_card_the_wheel_has_kernels_for(
    settings: Settings, as_if_on_a_gpu: Path
) -> None:
    rtx = _engine(settings, RTX_3060)
    rtx.load()
    assert FIRST_RUN_NOTICE not in rtx.notices
    pipeline._GPU_LOADS_IN_THIS_PROCESS.clear()  # a new process
    (as_if_on_a_gpu / "index").write_bytes(b"compiled by an earlier run")
    h100 = _engine(settings, H100)
    h100.load()
    assert FIRST_RUN_NOTICE not in h100.notices
