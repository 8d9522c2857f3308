"""A job whose model the server must download first: a real ``serve`` online against the stand-in hub, which serves
the real tiny.en weights slowly under the name of ``tiny`` (not bundled, not on the machine). The job's JSON shows
the stage downloading_model with a rising share, ``GET /models`` shows the download, serve's log tells it every few
seconds, and then the job runs on the downloaded model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from stt_studio.engine.models import bundled_files
from tests import live
from tests.hub_server import FakeHub, running

SPEED = 15_000_000
"""Bytes per second: the 75 MB model takes about 5 s (huggingface_hub writes it 10 MB at a time)."""


@pytest.mark.slow
def test_a_job_shows_its_model_downloading_then_runs(tmp_path: Path, short_wav: Path) -> None:
    weights = {p.name: p.read_bytes() for p in bundled_files("tiny.en")}
    port = live.free_port()
    url = f"http://127.0.0.1:{port}"
    with running(FakeHub({"Systran/faster-whisper-tiny": weights}, bytes_per_second=SPEED)) as hub:
        env = live.service_env(tmp_path / "data", tmp_path / "models", HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url)
        log = tmp_path / "serve.log"
        proc = live.start(["serve", "--port", str(port), "--workers", "1"], env, log)
        try:
            live.wait_until_up(url, workers=1)
            models = {m["name"]: m for m in httpx.get(f"{url}/models", timeout=10).json()["models"]}
            assert models["tiny.en"]["on_this_machine"] and models["tiny.en"]["bundled"]
            assert not models["tiny"]["on_this_machine"] and models["tiny"]["downloading"] is None

            job_id = live.submit(url, short_wav, model="tiny")
            seen: list[dict[str, Any]] = []
            listed_downloads: list[dict[str, Any]] = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                job = httpx.get(f"{url}/jobs/{job_id}", timeout=10).json()
                if job["stage"] == "downloading_model":
                    seen.append(job)
                    listed_downloads += httpx.get(f"{url}/models", timeout=10).json()["downloads"]
                if job["status"] in live.FINAL:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"job {job_id} did not finish")
        finally:
            live.stop(proc)

    assert job["status"] == "completed", job.get("error")
    assert job["model"] == "tiny" and not job["result"]["warnings"]  # the download, not the bundled stand-in
    fractions = [j["download"]["fraction"] for j in seen if j["download"]]
    assert len({f for f in fractions if 0 < f < 1}) >= 3, fractions
    assert fractions == sorted(fractions)
    total = sum(len(content) for content in weights.values())
    assert {(j["download"]["model"], j["download"]["total_bytes"]) for j in seen if j["download"]} == {("tiny", total)}
    progress = [j["progress"] for j in seen]
    assert progress == sorted(progress) and progress[-1] > progress[0]  # the job's own percentage rises with it
    assert listed_downloads and {d["model"] for d in listed_downloads} == {"tiny"}
    logged = [line for line in log.read_text().splitlines() if "Downloading the Whisper model tiny:" in line]
    assert 1 <= len(logged) <= 4 and "tiny: 100 % (78 of 78" in logged[-1], logged  # every 5 s at most, and at its end
    print(f"download seen at {fractions}; job progress {progress}; log: {logged}")
