"""Child processes that do not outlive the process that started them.

On Linux a child asks the kernel for SIGKILL when its parent goes (``PR_SET_PDEATHSIG``), so a crash or a SIGKILL
of ``serve`` or the desktop app cannot leave workers or the embedded Valkey behind. The kernel ties that to the
*thread* that forked the child, so callers spawn from a thread that lives as long as the children should. A worker
also watches its parent's pid itself (every platform, and the case where the parent died before the prctl).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

PARENT_PID_ENV = "STT_PARENT_PID"
"""Set by whoever spawns a worker: the worker exits when that process is gone."""
_PR_SET_PDEATHSIG = 1
_AUTOGROUP = Path("/proc/self/autogroup")


def at_least_nice(nice: int) -> None:
    """Lower the calling thread's CPU priority to ``nice`` (Unix), unless it is lower already (inherited)."""
    if os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


def session_at_least_nice(nice: int) -> None:
    """Lower this process's own session to ``nice`` as a scheduling group (Linux autogroup), if it leads one.

    With autogroup scheduling (on by default in most desktop kernels) the CPU is shared fairly between *sessions*
    first, and a process's nice only counts inside its own session. A worker started in a session of its own
    (``start_new_session``) was therefore weighed as an equal of the window's whole session, whatever its nice:
    a 20 ms turn of the GUI thread took 40 ms beside two busy nice-10 processes in their own sessions, and 20 ms
    once their sessions were lowered too. A process that does not lead its session leaves it alone: lowering a
    shared session would lower whoever started it.
    """
    if not sys.platform.startswith("linux") or os.getsid(0) != os.getpid():
        return
    try:
        current = int(_AUTOGROUP.read_text().split("nice")[1])
        if current < nice:
            _AUTOGROUP.write_text(str(nice))
    except (OSError, IndexError, ValueError):  # no autogroup in this kernel, or it is switched off
        return


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get ``sig`` when its parent thread ends (Linux); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return preexec


def watch_parent(expected_parent: int, interval: float = 1.0) -> threading.Thread:
    """Exit this process at once when its parent (``expected_parent``) is gone. Work in progress is not lost: a
    job whose worker vanished is found by its stale heartbeat and run again."""

    def watch() -> None:
        while True:
            if os.getppid() != expected_parent:
                log.warning("The process that started this worker (pid %d) is gone; exiting", expected_parent)
                os._exit(3)
            threading.Event().wait(interval)

    thread = threading.Thread(target=watch, name="stt-parent-watch", daemon=True)
    thread.start()
    return thread


HELPER_PARENT_PID_ENV = "STT_HELPER_PARENT_PID"
"""Set by the window for its short-lived helpers (a model download, the speed probe): not workers, so not
``PARENT_PID_ENV``, which marks workers."""


def tie_to_parent_from_env() -> None:
    """For a helper started by a library that takes no ``preexec_fn`` (Qt's ``QProcess``): ask for SIGKILL when the
    parent goes, from inside, and watch ``STT_HELPER_PARENT_PID`` for the moments before that (or where prctl is
    missing)."""
    preexec = die_with_parent()
    if preexec is not None:
        preexec()
    value = os.environ.get(HELPER_PARENT_PID_ENV)
    if value and value.isdigit():
        watch_parent(int(value))


def watch_parent_from_env() -> None:
    value = os.environ.get(PARENT_PID_ENV)
    if value and value.isdigit():
        watch_parent(int(value))
