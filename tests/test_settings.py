"""The contract's environment variables are read under their exact names."""

from __future__ import annotations

import pytest

from stt_studio.settings import Settings


def test_contract_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "redis.internal")
    monkeypatch.setenv("REDIS_PORT", "6380")
    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    monkeypatch.setenv("WHISPER_MODEL_SIZE", "medium")
    monkeypatch.setenv("WHISPER_DEVICE", "cpu")
    monkeypatch.setenv("HF_TOKEN", "hf_abc")
    s = Settings()
    assert (s.redis_host, s.redis_port, s.redis_password) == ("redis.internal", 6380, "s3cret")
    assert (s.whisper_model_size, s.whisper_device, s.hf_token) == ("medium", "cpu", "hf_abc")


def test_contract_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_HOST", "REDIS_PORT", "WHISPER_MODEL_SIZE", "WHISPER_DEVICE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.whisper_model_size == "large-v3"
    assert s.whisper_device == "cuda"
    assert s.redis_port == 6379
    assert s.offline is False


def test_additions_use_the_stt_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_BATCH_SIZE", "2")
    monkeypatch.setenv("STT_VAD", "pyannote")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    s = Settings()
    assert (s.batch_size, s.vad, s.offline) == (2, "pyannote", True)


def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"whisper_device|WHISPER_DEVICE"):
        Settings()
