"""The live worker's decisions that need no model: which model, which silence is dropped."""

from __future__ import annotations

import numpy as np

from stt_studio.live.session import worker_config
from stt_studio.live.worker import SAMPLE_RATE, default_live_model, leading_silence
from stt_studio.settings import Settings


def test_the_live_model_is_the_main_one_on_a_gpu_and_a_small_one_on_a_cpu() -> None:
    assert default_live_model("large-v3", "cuda", None) == "large-v3"
    assert default_live_model("large-v3", "cpu", None) == "tiny.en"
    assert default_live_model("large-v3", "cpu", "en") == "tiny.en"
    assert default_live_model("large-v3", "cpu", "de") == "base"  # tiny.en knows English only


def test_the_setting_and_the_option_choose_the_live_model() -> None:
    settings = Settings(live_model="base", whisper_model_size="small")
    assert worker_config(settings, model=None, language=None, prompt=None).model == "base"
    assert worker_config(settings, model="tiny.en", language=None, prompt="Kowalczyk").model == "tiny.en"
    assert worker_config(Settings(), model=None, language=None, prompt=None).model is None  # decided by device


def test_silence_before_speech_is_dropped_but_half_a_second_before_it() -> None:
    audio = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    audio[2 * SAMPLE_RATE :] = 0.2
    assert leading_silence(audio) == int(1.5 * SAMPLE_RATE)
    assert leading_silence(np.full(SAMPLE_RATE, 0.2, dtype=np.float32)) == 0
    assert leading_silence(np.zeros(SAMPLE_RATE, dtype=np.float32)) == SAMPLE_RATE // 2
