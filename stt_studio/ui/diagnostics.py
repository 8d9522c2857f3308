"""What Help → About shows and Help → Copy diagnostics puts on the clipboard: the app's versions, the model and
device the workers report (what the status bar shows), and the report of ``stt-studio doctor`` for this app's
settings."""

from __future__ import annotations

import io
import platform

import PySide6
from PySide6.QtCore import qVersion

from stt_studio import __version__
from stt_studio.doctor import DoctorContext, render, run_checks
from stt_studio.jobs.models import WorkerInfo
from stt_studio.settings import Settings
from stt_studio.ui.model_in_use import ModelInUse, device_label

NOT_REPORTED = "not reported yet (no worker has started)"


def model_text(info: WorkerInfo | None) -> str:
    """As the status bar says it: the model that runs, and why when it stands in for another."""
    return ModelInUse.of(info).label if info is not None else NOT_REPORTED


def device_text(info: WorkerInfo | None) -> str:
    if info is None:
        return NOT_REPORTED
    return f"{device_label(info)} ({info.gpu_name})" if info.gpu_name else device_label(info)


def app_facts(info: WorkerInfo | None, queue: str) -> list[tuple[str, str]]:
    """(name, value) rows: versions, then the model and device of the first worker's report (``info``)."""
    return [
        ("STT Studio", __version__),
        ("Model", model_text(info)),
        ("Device", device_text(info)),
        ("Queue", queue),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("Python", platform.python_version()),
        ("System", platform.platform()),
    ]


def facts_text(facts: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in facts)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in facts)


def doctor_report(settings: Settings, host: str, port: int) -> str:
    """``stt-studio doctor`` for ``settings`` (the app's own: its model, device and data folder), as plain text.
    Blocking for seconds (it imports torch): call it off the GUI thread."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=110, color_system=None, force_terminal=False, highlight=False)
    render(run_checks(DoctorContext(settings, host=host, port=port)), console)
    return out.getvalue()


def diagnostics(settings: Settings, host: str, port: int, facts: list[tuple[str, str]]) -> str:
    """The whole text for a bug report: the app's facts, then the doctor's report."""
    return f"{facts_text(facts)}\n\n$ stt-studio doctor (this app's settings)\n{doctor_report(settings, host, port)}"
