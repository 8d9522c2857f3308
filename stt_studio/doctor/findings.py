"""What a doctor check returns, and what it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from stt_studio.settings import Settings

Status = Literal["ok", "warn", "fail", "info"]
"""ok; warn: works, but not as well as it could; fail: a job as configured would fail, or would silently run with
something other than what is configured; info: a fact that needs nothing (no GPU while the CPU is configured)."""


@dataclass(frozen=True)
class Finding:
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str


@dataclass(frozen=True)
class DoctorContext:
    settings: Settings
    host: str = "127.0.0.1"
    """Where ``serve`` would listen."""
    port: int = 8000
    network_timeout: float = 5.0


Check = Callable[[DoctorContext], Finding]


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
