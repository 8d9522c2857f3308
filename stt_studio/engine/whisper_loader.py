"""Loads the Whisper model (CTranslate2) with torch imported first.

CTranslate2 (4.6+) ships no CUDA math libraries: at its first GPU model it dlopens ``libcublas.so.12`` (it no
longer uses cuDNN). Importing torch first loads the cuBLAS 12 of torch's ``nvidia-cublas-cu12`` wheel into the
process, where that dlopen finds it: no LD_LIBRARY_PATH, no system CUDA. tests/test_whisper_loader.py keeps the
order.
"""

from __future__ import annotations

import torch  # noqa: F401  (first: see above)
from faster_whisper import BatchedInferencePipeline, WhisperModel


def load_whisper(path: str, device: str, compute_type: str, cpu_threads: int) -> BatchedInferencePipeline:
    whisper = WhisperModel(path, device=device, compute_type=compute_type,
                           cpu_threads=cpu_threads if device == "cpu" else 0)  # fmt: skip
    return BatchedInferencePipeline(whisper)
