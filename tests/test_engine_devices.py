"""The real engine given a GPU's facts on this CPU machine: a load that fails on the device it chose is not
retried there, the engine moves to the CPU once and says so (no worker failing at every start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stt_studio.engine.pipeline import Engine, cuda_available
from stt_studio.settings import Settings
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, wer
from tests.test_device import GTX_1080, linux_facts

pytestmark = pytest.mark.slow


def test_a_model_that_cannot_load_on_the_gpu_runs_on_the_cpu_with_one_notice(settings: Settings,
                                                                             short_wav: Path) -> None:  # fmt: skip
    if cuda_available():
        pytest.skip("this machine has a GPU: CTranslate2 would load there")
    engine = Engine(settings, model="tiny.en", device="cuda", facts=linux_facts(GTX_1080))
    assert (engine.device, engine.parts.vad, engine.compute_type, engine.vad_method) == (
        "cuda", "cpu", "int8_float32", "silero")  # fmt: skip
    result = engine.transcribe(short_wav)
    assert (engine.device, result.device, result.compute_type) == ("cpu", "cpu", "int8")
    assert wer(SHORT_TEXT, result.text) <= SHORT_CLIP_WER_BOUND
    fallback = [w for w in result.warnings if w.startswith("Could not load tiny.en on the GPU (")]
    assert len(fallback) == 1 and fallback[0].endswith("): running on the CPU"), result.warnings
