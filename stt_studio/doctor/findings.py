"""What a doctor check returns, and what it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from stt_studio.settings import Settings

if TYPE_CHECKING:
    from stt_studio.engine.device import DeviceFacts

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
    facts: DeviceFacts | None = None
    """The devices, given (tests stand a card in with them); probed when None."""

    @cached_property
    def device_facts(self) -> DeviceFacts:
        """The GPUs as a worker would see them (probed once for the GPU checks; the CPU only when it is configured)."""
        from stt_studio.engine.device import probe_device_facts

        return self.facts or probe_device_facts(cuda=self.settings.whisper_device == "cuda")


Check = Callable[[DoctorContext], Finding]


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
