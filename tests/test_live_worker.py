"""The live worker's decisions that need no Whisper model: which model, which silence is dropped, where speech
ends before a pause (Silero VAD on espeak-ng speech)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stt_studio.engine.audio import decode_audio
from stt_studio.live.session import worker_config
from stt_studio.live.worker import SAMPLE_RATE, default_live_model, leading_silence, speech_ended_at
from stt_studio.settings import Settings
from tests.speech import SENTENCES, speak


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


def _spoken(text: str, folder: Path) -> np.ndarray:
    """espeak-ng's speech without its trailing silence (cut after the last sample over -50 dBFS)."""
    samples = decode_audio(speak(text, folder / "sentence.wav")).samples
    return samples[: int(np.flatnonzero(np.abs(samples) >= 0.003)[-1]) + 1]


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def test_speech_ends_where_a_pause_follows_it_and_not_before_the_pause_is_long_enough(tmp_path: Path) -> None:
    speech = _spoken(SENTENCES[0], tmp_path)
    spoken_until = (SAMPLE_RATE // 2 + len(speech)) / SAMPLE_RATE
    ended = speech_ended_at(np.concatenate([_silence(0.5), speech, _silence(1.0)]), pause_seconds=0.5)
    assert ended is not None and spoken_until - 0.2 <= ended <= spoken_until + 0.3
    assert speech_ended_at(np.concatenate([_silence(0.5), speech, _silence(0.2)]), pause_seconds=0.5) is None
    assert speech_ended_at(_silence(3.0), pause_seconds=0.5) is None


def test_with_speech_going_on_the_last_pause_is_the_one_between_the_sentences(tmp_path: Path) -> None:
    first = _spoken(SENTENCES[0], tmp_path)
    second = _spoken(SENTENCES[1], tmp_path)
    audio = np.concatenate([first, _silence(1.0), second[: 2 * SAMPLE_RATE]])
    ended = speech_ended_at(audio, pause_seconds=0.5)
    assert ended is not None and len(first) / SAMPLE_RATE - 0.2 <= ended <= len(first) / SAMPLE_RATE + 0.3
