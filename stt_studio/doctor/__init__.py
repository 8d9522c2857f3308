"""``stt-studio doctor``: check this machine and explain each finding, with a fix.

Each check is a function of the settings (and of the host and port ``serve`` would use) that returns one
``Finding``. Checks import what they need inside (torch takes seconds), run in parallel threads, and each is
bounded by a timeout, so the command never hangs. A failed check means a job as configured would fail (or would
silently run with something other than what is configured): the command then exits with status 1.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError

from stt_studio.doctor.desktop import check_desktop_window
from stt_studio.doctor.findings import Check, CheckResult, DoctorContext, Finding, first_line
from stt_studio.doctor.gpu import check_compute_type, check_driver, check_memory_plan, check_parts
from stt_studio.doctor.hub import check_diarization, check_hf_token
from stt_studio.doctor.runtime import (
    check_ctranslate2_cuda,
    check_cuda_libraries,
    check_device,
    check_ffmpeg,
    check_packages,
    check_python,
    check_torch_cuda,
)
from stt_studio.doctor.services import check_api_access, check_port, check_redis
from stt_studio.doctor.storage import check_data_folder, check_model, check_models_folder

__all__ = [
    "CHECKS",
    "CheckResult",
    "DoctorContext",
    "blocking",
    "configuration_errors",
    "render",
    "results_json",
    "run_checks",
]

CHECK_TIMEOUT_SECONDS = 30.0
"""A check still running after this long is reported as failed (importing torch on a cold disk takes ~10 s)."""


CHECKS: tuple[tuple[str, Check], ...] = (
    ("Python", check_python),
    ("Packages", check_packages),
    ("GPU (torch)", check_torch_cuda),
    ("GPU (CTranslate2)", check_ctranslate2_cuda),
    ("CUDA libraries", check_cuda_libraries),
    ("Device", check_device),
    ("Device per part", check_parts),
    ("Compute type", check_compute_type),
    ("GPU memory plan", check_memory_plan),
    ("NVIDIA driver", check_driver),
    ("FFmpeg (PyAV)", check_ffmpeg),
    ("Redis", check_redis),
    ("Model", check_model),
    ("Models folder", check_models_folder),
    ("Data folder", check_data_folder),
    ("Hugging Face token", check_hf_token),
    ("Diarization", check_diarization),
    ("API port", check_port),
    ("API access", check_api_access),
    ("Desktop window", check_desktop_window),
)


def run_checks(
    ctx: DoctorContext, checks: tuple[tuple[str, Check], ...] = CHECKS, timeout: float = CHECK_TIMEOUT_SECONDS
) -> list[CheckResult]:
    """Run every check in its own daemon thread; a check that raises or overruns is a failed finding."""
    findings: dict[str, Finding] = {}

    def run(name: str, check: Check) -> None:
        try:
            findings[name] = check(ctx)
        except Exception as exc:  # a crashing check is a finding, never a traceback
            findings[name] = Finding("fail", f"the check crashed: {type(exc).__name__}: {first_line(exc)}")

    threads = [threading.Thread(target=run, args=(name, check), daemon=True) for name, check in checks]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    results = []
    for name, _ in checks:
        finding = findings.get(name) or Finding(
            "fail", f"did not finish within {timeout:g} s", "Run it again; if it persists, report it."
        )
        results.append(CheckResult(name, finding.status, finding.detail, finding.fix))
    return results


def configuration_errors(exc: ValidationError) -> list[CheckResult]:
    """Settings that can't be read are failures of their own: no check can run without them."""
    results = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = field if field.isupper() else f"STT_{field.upper()}"
        results.append(
            CheckResult(
                "Configuration",
                "fail",
                f"{variable}={error.get('input')!s}: {error['msg']}",
                f"Fix or unset {variable} (the README's Configuration table lists the values).",
            )
        )
    return results


def blocking(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status == "fail"]


def results_json(results: list[CheckResult]) -> str:
    return json.dumps({"ok": not blocking(results), "checks": [asdict(r) for r in results]}, indent=2)


_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "info": "dim"}


def render(results: list[CheckResult], console: Any) -> None:
    """One row per check: status, name, finding, and the fix below it."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(overflow="fold")
    for r in results:
        text = escape(r.detail) + (f"\n[cyan]fix:[/] {escape(r.fix)}" if r.fix and r.status != "ok" else "")
        table.add_row(f"[{_STYLES[r.status]}]{r.status.upper():4}[/]", r.name, text)
    console.print(table)
    failed = blocking(results)
    warnings = sum(r.status == "warn" for r in results)
    if failed:
        names = ", ".join(r.name for r in failed)
        console.print(f"[bold red]Not ready: {len(failed)} problem(s) make jobs fail ({names}).[/]")
    else:
        console.print(f"[green]Ready to transcribe[/] ({warnings} warning(s)).")
