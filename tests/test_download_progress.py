"""A model's download from the hub, told as bytes and fractions while it runs: the real huggingface_hub client
against the stand-in hub (tests/hub_server.py), serving a small made-up model slowly."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from stt_studio.engine.download_progress import DownloadProgress, throttled_log
from stt_studio.engine.models import resolve_model
from tests.hub_server import FakeHub, running

MADE_UP = {
    "config.json": b"{}",
    "model.bin": bytes(range(256)) * 1200,  # 300 kB
    "tokenizer.json": b"[]",
    "vocabulary.txt": b"a\nb\n",
    "README.md": b"not a Whisper file: not fetched, not counted",
}
MODEL_BYTES = sum(len(c) for name, c in MADE_UP.items() if name != "README.md")


@pytest.fixture
def slow_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The stand-in hub at 150 kB/s (2 s for the model), with huggingface_hub (imported already, offline:
    conftest) pointed at it."""
    from huggingface_hub import constants

    with running(FakeHub({"tester/whisper-made-up": MADE_UP}, bytes_per_second=150_000)) as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16_384)  # it writes 10 MB at a time: all of this model
        yield hub


def test_a_download_is_told_in_rising_fractions_and_logged(
    slow_hub: FakeHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[DownloadProgress] = []
    with caplog.at_level(logging.INFO, logger="stt_studio.engine.download_progress"):
        resolved = resolve_model(
            "tester/whisper-made-up", tmp_path, hf_token=None, offline=False, on_download=told.append
        )

    assert (resolved.path / "model.bin").read_bytes() == MADE_UP["model.bin"] and not resolved.warnings
    fractions = [p.fraction for p in told]
    assert len([f for f in fractions if 0 < f < 1]) >= 3, fractions  # seen while it ran, not only at the end
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {p.total_bytes for p in told} == {MODEL_BYTES}  # the Whisper files only, as faster-whisper fetches
    assert any(p.bytes_per_second > 50_000 for p in told)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Downloading the Whisper model")]
    assert 1 <= len(lines) <= 3, lines  # every 5 s at most, and at the end (a 2 s download)
    assert lines[-1].startswith("Downloading the Whisper model tester/whisper-made-up: 100 % (0 of 0 MB")

    again: list[DownloadProgress] = []
    resolve_model("tester/whisper-made-up", tmp_path, hf_token=None, offline=False, on_download=again.append)
    assert again == []  # on disk already: nothing to tell


def test_the_log_says_it_every_few_seconds_not_at_every_report() -> None:
    now = [0.0]
    lines: list[str] = []
    log_progress = throttled_log(every=5.0, clock=lambda: now[0])
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("stt_studio.engine.download_progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for second in range(12):
            now[0] = float(second)
            log_progress(DownloadProgress("large-v3", second * 250_000_000, 3_087_000_000, 250e6))
        log_progress(DownloadProgress("large-v3", 3_087_000_000, 3_087_000_000, 250e6))
    finally:
        logger.removeHandler(handler)
    assert lines == [
        "Downloading the Whisper model large-v3: 0 % (0 of 3087 MB, 250.0 MB/s)",
        "Downloading the Whisper model large-v3: 40 % (1250 of 3087 MB, 250.0 MB/s)",
        "Downloading the Whisper model large-v3: 81 % (2500 of 3087 MB, 250.0 MB/s)",
        "Downloading the Whisper model large-v3: 100 % (3087 of 3087 MB, 250.0 MB/s)",
    ]
