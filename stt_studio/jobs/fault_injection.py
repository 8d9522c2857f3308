"""Fault injection for the test suite: make a worker die, or wait, as a job enters a pipeline stage.

Off unless ``Settings.fault_injection_dir`` (``STT_FAULT_INJECTION_DIR``) names a folder; nothing in the app sets
it, and with it unset the worker never looks at the disk for this. While a serve runs with it set, a test puts files
in that folder:

- ``kill-in-<stage>``: the worker SIGKILLs itself the moment a job enters ``<stage>``, on every attempt while the
  file is there (a worker that dies mid-job, as a crash or the kernel's OOM killer would end it), after adding a
  line (its pid and the job's id) to ``killed-in-<stage>``;
- ``hold-in-<stage>``: the worker writes ``held-in-<stage>`` (its pid and the job's id) and waits in ``<stage>``
  until the test removes the hold file, so that the test acts on a worker that is certainly in that stage.

- ``oom-in-<stage>`` / ``sticky-in-<stage>``: the job raises, in ``<stage>``, the RuntimeError CTranslate2 raises
  when the GPU is out of memory (``OOM_MESSAGE``) or the one torch raises after an illegal memory access, a sticky
  CUDA fault (``STICKY_MESSAGE``), after adding a line (pid, job id) to ``oomed-in-<stage>`` / ``stuck-in-<stage>``.
  The file may hold a number: it fires that many more times (counted down in the file), else every time.

The stage has been written to the job's meta (and published) before any of these happens.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from stt_studio.settings import Settings

log = logging.getLogger(__name__)

HOLD_POLL_SECONDS = 0.05
OOM_MESSAGE = "CUDA failed with error out of memory"
"""CTranslate2's CUDA_CHECK (src/cuda/utils.h) on cudaErrorMemoryAllocation, whose text libcudart gives."""
STICKY_MESSAGE = (
    "CUDA error: an illegal memory access was encountered\n"
    "CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be "
    "incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1"
)
"""torch's C10_CUDA_CHECK (c10/cuda/CUDAException.cpp) after cudaErrorIllegalAddress."""
_RAISED = {"oom": ("oomed", OOM_MESSAGE), "sticky": ("stuck", STICKY_MESSAGE)}


@dataclass(frozen=True)
class StageFaults:
    folder: Path

    @classmethod
    def configured(cls, settings: Settings) -> StageFaults | None:
        return cls(settings.fault_injection_dir) if settings.fault_injection_dir is not None else None

    def entered(self, stage: str, job_id: str) -> None:
        """Called as job ``job_id`` enters ``stage``: die or wait there if the test asked for it."""
        if (self.folder / f"kill-in-{stage}").exists():
            log.warning("Fault injection: this worker kills itself in stage %s of job %s", stage, job_id)
            with (self.folder / f"killed-in-{stage}").open("a", encoding="utf-8") as killed:
                killed.write(f"{os.getpid()} {job_id}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        for kind, (record, message) in _RAISED.items():
            if self._fires(self.folder / f"{kind}-in-{stage}"):
                log.warning("Fault injection: job %s raises %s in stage %s", job_id, kind, stage)
                with (self.folder / f"{record}-in-{stage}").open("a", encoding="utf-8") as raised:
                    raised.write(f"{os.getpid()} {job_id}\n")
                raise RuntimeError(message)
        hold = self.folder / f"hold-in-{stage}"
        if not hold.exists():
            return
        held = self.folder / f"held-in-{stage}"
        log.warning("Fault injection: holding job %s in stage %s until %s is removed", job_id, stage, hold)
        partial = held.with_name(f"{held.name}.{os.getpid()}.tmp")
        partial.write_text(f"{os.getpid()} {job_id}\n", encoding="utf-8")
        partial.replace(held)  # whole or not at all: the test reads it as soon as it appears
        while hold.exists():
            time.sleep(HOLD_POLL_SECONDS)
        held.unlink(missing_ok=True)

    @staticmethod
    def _fires(trigger: Path) -> bool:
        """Whether ``trigger`` exists and has firings left (a count in the file is used up one at a time)."""
        try:
            text = trigger.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return False
        if not text:
            return True
        left = int(text)
        if left <= 0:
            return False
        trigger.write_text(str(left - 1), encoding="utf-8")
        return True
