"""scripts/gpu-check.sh where there is no GPU: its prepare step makes small inputs, its run step says in one line
that there is no GPU and exits non-zero (the table itself needs a GPU: docs/gpu.md)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stt_studio.engine.pipeline import cuda_available

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu-check.sh"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("gpu-check")
    subprocess.run([str(SCRIPT), "prepare", str(directory), "--long-seconds", "20"], check=True, capture_output=True)
    return directory


def test_prepare_makes_known_speech_a_dialogue_and_a_long_file_under_60_mib(inputs: Path) -> None:
    manifest = json.loads((inputs / "manifest.json").read_text())
    assert manifest["speech"]["text"].startswith("The quick brown fox") and manifest["dialogue"]["speakers"] == 2
    assert manifest["long"]["seconds"] == 20
    files = [inputs / manifest[key]["file"] for key in ("speech", "dialogue", "long")]
    assert all(f.stat().st_size > 10_000 for f in files)
    assert sum(f.stat().st_size for f in inputs.iterdir()) < 60 * 2**20
    assert sorted(p.name for p in inputs.iterdir()) == ["dialogue.wav", "long.opus", "manifest.json", "speech.wav"]


def test_run_without_a_gpu_says_so_in_one_line(inputs: Path) -> None:
    if cuda_available():
        pytest.skip("this machine has a GPU")
    proc = subprocess.run([str(SCRIPT), "run", str(inputs)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("No CUDA GPU on this machine: CTranslate2 sees none")
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
