"""A model's download from the hub, told as bytes and fractions while it runs: the real huggingface_hub client
against the stand-in hub (tests/hub_server.py), serving a small made-up model slowly."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from stt_studio.engine.download_progress import DownloadProgress, throttled_log
from tests.hub_server import FakeHub, running

MADE_UP = {
    "config.json": b"{}",
    "model.bin": bytes(range(256)) * 1200,  # 300 kB
    "tokenizer.json": b"[]",
    "vocabulary.txt": b"a\nb\n",
    "README.md": b"not a Whisper file: not fetched, not counted",
}
MODEL_BYTES = sum(len(c) for name, c in MADE_UP.items() if name != "README.md")


RESOLVE = """
import json, logging, sys
from huggingface_hub import constants
constants.DOWNLOAD_CHUNK_SIZE = 16_384  # it writes 10 MB at a time: all of this model at once
from stt_studio.engine.models import resolve_model
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
told = []
resolved = resolve_model(sys.argv[1], __import__("pathlib").Path(sys.argv[2]), hf_token=None, offline=False,
                         on_download=lambda p: told.append([p.done_bytes, p.total_bytes, p.bytes_per_second]))
print(json.dumps({"path": str(resolved.path), "warnings": resolved.warnings, "told": told}))
"""


def resolve(spec: str, models_dir: Path, hub: FakeHub) -> tuple[dict[str, Any], list[str]]:
    """resolve_model in a process of its own, as a worker runs it: huggingface_hub reads HF_ENDPOINT at import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "STT_"))}
    env.update(HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0")
    proc = subprocess.run(
        [sys.executable, "-c", RESOLVE, spec, str(models_dir)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    logged = [line for line in proc.stderr.splitlines() if line.startswith("Downloading the Whisper model")]
    return json.loads(proc.stdout.splitlines()[-1]), logged


def test_a_download_is_told_in_rising_fractions_and_logged(tmp_path: Path) -> None:
    with running(FakeHub({"tester/whisper-made-up": MADE_UP}, bytes_per_second=150_000)) as hub:  # 2 s
        first, logged = resolve("tester/whisper-made-up", tmp_path, hub)
        again, logged_again = resolve("tester/whisper-made-up", tmp_path, hub)

    assert (Path(first["path"]) / "model.bin").read_bytes() == MADE_UP["model.bin"] and not first["warnings"]
    fractions = [done / total for done, total, _ in first["told"]]
    assert len([f for f in fractions if 0 < f < 1]) >= 3, fractions  # seen while it ran, not only at the end
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {total for _, total, _ in first["told"]} == {MODEL_BYTES}  # the Whisper files only, as faster-whisper
    assert any(speed > 50_000 for _, _, speed in first["told"])
    assert 1 <= len(logged) <= 3, logged  # every 5 s at most, and at the end (a 2 s download)
    assert logged[-1].startswith("Downloading the Whisper model tester/whisper-made-up: 100 % (0 of 0 MB")
    assert again["told"] == [] and logged_again == []  # on disk already: nothing to tell


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


def test_server_sent_events_carry_the_download_only_while_there_is_one() -> None:
    from stt_studio.jobs.events import JobEvent
    from stt_studio.jobs.models import JobStatus, ModelDownload

    download = ModelDownload.of(DownloadProgress("large-v3", 1_393_000_000, 3_087_000_000, 52e6))
    event = JobEvent(job_id="j", status=JobStatus.PROCESSING, stage="downloading_model", progress=12, download=download)
    assert json.loads(event.public_json)["download"] == {
        "model": "large-v3", "fraction": 0.4512, "done_bytes": 1_393_000_000, "total_bytes": 3_087_000_000,
        "bytes_per_second": 52_000_000.0,
    }  # fmt: skip
    plain = JobEvent(job_id="j", status=JobStatus.PROCESSING, stage="transcribing", progress=40)
    assert "download" not in json.loads(plain.public_json)  # the contract's events as they were
