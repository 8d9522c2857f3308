"""The deployment, for real: packaging/container-test.sh builds the image from packaging/Dockerfile and runs
docker-compose.yml with podman and podman-compose (Redis, the API, workers running tiny.en on espeak-ng speech).

It needs root on Debian/Ubuntu (it installs podman, runc and debootstrap when they are missing) and fails, never
skips, when podman can't be set up. A cold run builds the ~9 GB image (minutes); see README, "Deployment".
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.container_scenario import CONTRACT_WER_BOUND

pytestmark = [pytest.mark.slow, pytest.mark.containers, pytest.mark.timeout(3600)]  # the first test builds

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("STT_CONTAINER_WORK", "/var/tmp/stt-container-test"))


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """Run the whole container scenario once; its findings, as the script wrote them."""
    path = WORK / "summary.json"
    path.unlink(missing_ok=True)
    proc = subprocess.run(
        ["bash", str(REPO / "packaging" / "container-test.sh")], cwd=REPO, capture_output=True, text=True,
        timeout=3600,
    )  # fmt: skip
    print(proc.stdout[-20000:])
    assert proc.returncode == 0, f"exited {proc.returncode}:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert "failed" not in result, result["failed"]
    return result


def test_contract_example_runs_against_the_stack(summary: dict[str, Any]) -> None:
    example = summary["contract_example"]
    assert example["first_lines"][0].startswith("Job created: ")
    assert example["status_lines"] >= 1
    assert example["wer"] <= CONTRACT_WER_BOUND
    assert summary["auth"]["api_without_key"] == 401  # the exposed API requires the key from STT_API_KEYS
    assert "NOAUTH" in summary["auth"]["redis_without_password"]  # and Redis its REDIS_PASSWORD


def test_three_workers_share_one_queue(summary: dict[str, Any]) -> None:
    assert len(summary["workers_after_scale"]) == 3
    spread = summary["spread"]
    assert sum(spread["per_worker"].values()) == len(spread["jobs"]) == 6  # each job finished exactly once
    assert len(spread["per_worker"]) > 1
    assert set(summary["healthchecks"].values()) == {"healthy"}


def test_a_killed_workers_job_finishes_on_another(summary: dict[str, Any]) -> None:
    kill = summary["kill"]
    assert kill["attempts"] == 2
    assert kill["finished_by"] != kill["killed"]


def test_transcripts_survive_down_and_up(summary: dict[str, Any]) -> None:
    assert summary["down_up"]["jobs_checked"] == 8  # the contract's job, the six, the killed one


def test_image_falls_back_to_the_bundled_model_offline(summary: dict[str, Any]) -> None:
    assert summary["offline_fallback"]["fallback_warning"] is True
