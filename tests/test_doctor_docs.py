"""The doctor's documented outputs are those of today's doctor: each sample in docs/deployment.md lists its checks,
in its order (no `cuDNN` row of old, every GPU row), and README's command table names what it checks."""

from __future__ import annotations

import re
from pathlib import Path

from stt_studio.doctor import CHECKS

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^(OK|INFO|WARN|FAIL) +(\S.*?)(?: {2,}|$)")


def _code_blocks(markdown: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _sample_outputs(markdown: str) -> list[list[str]]:
    """The check names of each ``stt-studio doctor`` run shown in a code block."""
    return [
        [m.group(2) for line in block.splitlines() if (m := ROW.match(line))]
        for block in _code_blocks(markdown)
        if "stt-studio doctor" in block and ("Ready to transcribe" in block or "Not ready" in block)
    ]


def test_each_documented_doctor_run_lists_todays_checks_in_order() -> None:
    samples = _sample_outputs((ROOT / "docs" / "deployment.md").read_text())
    assert len(samples) == 2
    for names in samples:
        assert names == [name for name, _check in CHECKS]


def test_the_readme_names_the_gpu_checks_and_no_cudnn_check() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    row = next(line for line in lines if line.startswith("| `stt-studio doctor"))
    assert "cuDNN," not in row and "GPU, cuDNN" not in row
    for part in ("device per part", "compute type", "GPU memory plan", "NVIDIA driver", "cuBLAS 12"):
        assert part in row
