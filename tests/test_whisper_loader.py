"""torch is imported before CTranslate2 wherever the Whisper model is loaded: its wheels' cuBLAS 12 is what
CTranslate2 finds on a GPU (stt_studio/engine/whisper_loader.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_model_loader_imports_torch_before_ctranslate2() -> None:
    code = ("import sys; import stt_studio.engine.whisper_loader; names = list(sys.modules); "
            "print(*(names.index(n) if n in names else -1 for n in ('torch', 'ctranslate2')))")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    torch_at, ctranslate2_at = map(int, out.split())
    assert 0 <= torch_at < ctranslate2_at, (torch_at, ctranslate2_at)
