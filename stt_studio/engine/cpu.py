"""Process-wide CPU settings that must be in place before torch or CTranslate2 start their thread pools.

torch and CTranslate2 each bring an OpenMP runtime. With the default (active) wait policy, idle threads of one
spin on the cores the other needs: a 15 s clip took up to 60 s on two cores. A passive wait policy and a small
torch thread pool next to the ASR model fix that (see ../shared/notes/offline-models.md).
"""

from __future__ import annotations

import os

_PROCESS_DEFAULTS = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "PYANNOTE_METRICS_ENABLED": "0",  # pyannote.audio 4 sends telemetry unless told not to
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def configure_process_environment() -> None:
    """Set the defaults above unless the user set them. Call before importing torch or ctranslate2."""
    for key, value in _PROCESS_DEFAULTS.items():
        os.environ.setdefault(key, value)


def cpu_count() -> int:
    """Cores this process may use (respects affinity masks and container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def limit_torch_threads(asr_threads: int) -> None:
    """Leave the cores to the ASR model: torch (VAD, alignment, diarization) runs between ASR steps."""
    import torch

    torch.set_num_threads(max(1, min(asr_threads, cpu_count())))
