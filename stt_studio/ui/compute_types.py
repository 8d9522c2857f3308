"""Which compute types the Settings dialog offers: those the workers' device supports, as they report it.

No Qt here: the dialog shows ``compute_type_choices``' items and note. The facts are data (a worker's report, or
None before any worker has said), so every card is tested without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stt_studio.jobs.models import WorkerInfo

AUTOMATIC_LABEL = "automatic"
ORDER = ("float16", "bfloat16", "int8_float16", "int8_bfloat16", "int8_float32", "int8", "float32")
"""Best first on a GPU; CTranslate2's names."""
UNREPORTED = ("float16", "int8_float16", "int8", "float32")
"""Offered while no worker has said what its device supports (none started yet, an older server)."""


@dataclass(frozen=True)
class ComputeTypeItem:
    value: str | None
    """None: automatic (the engine picks the best the device supports)."""
    label: str
    available: bool = True


@dataclass(frozen=True)
class ComputeTypeChoices:
    items: tuple[ComputeTypeItem, ...]
    note: str = ""
    """Why the list is what it is, when it is short or not known (empty otherwise)."""


def _ordered(types: Sequence[str]) -> list[str]:
    known = [t for t in ORDER if t in types]
    return known + sorted(t for t in types if t not in ORDER)


def _where(info: WorkerInfo) -> str:
    if info.device != "cuda":
        return "the CPU"
    return info.gpu_name or "this GPU"


def _why_short(info: WorkerInfo, supported: Sequence[str]) -> str:
    if "float16" in supported:
        return ""
    if info.device != "cuda":
        return "\nfloat16 types need a GPU."
    return "\nfloat16 needs tensor cores (compute capability 7.0 or newer)."


def report_for_device(device: str, reports: Sequence[WorkerInfo]) -> WorkerInfo | None:
    """The report that tells what ``device`` (the device chosen in the dialog) supports: a worker asked to run on
    it (running there, or on the CPU when there is no GPU), else None."""
    return next((r for r in reports if device in (r.device, r.requested_device)), None)


def compute_type_choices(report: WorkerInfo | None, saved: str | None) -> ComputeTypeChoices:
    """Automatic, then the types the report's device supports, best first; a saved type the device lacks is kept
    (shown, not offered again) and said to be unavailable."""
    automatic = ComputeTypeItem(None, AUTOMATIC_LABEL)
    supported = report.supported_compute_types if report is not None else None
    if report is None or not supported:
        extra = [saved] if saved and saved not in UNREPORTED else []
        offered = [ComputeTypeItem(t, t) for t in (*UNREPORTED, *extra)]
        note = "Which compute types this device supports is known once a worker\nruns on it; one it lacks is not used."
        return ComputeTypeChoices((automatic, *offered), note)
    where = _where(report)
    items = [automatic, *(ComputeTypeItem(t, t) for t in _ordered(supported))]
    note = ""
    if len(supported) < len(ORDER):
        note = f"Only what {where} supports: {', '.join(_ordered(supported))}.{_why_short(report, supported)}"
    if saved and saved not in supported:
        items.append(ComputeTypeItem(saved, f"{saved} — not available on {where}", available=False))
        note = (note + "\n" if note else "") + (
            f"The saved {saved} is not available on {where}:\nthe workers use {report.compute_type}."
        )
    return ComputeTypeChoices(tuple(items), note)
