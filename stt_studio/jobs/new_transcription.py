"""What a request to transcribe a job again changes (``jobs.retranscribe``): plain data, shared by the API, the
client, the CLI and the window."""

from __future__ import annotations

from dataclasses import dataclass

from stt_studio.engine.options import Task

AUTO = "auto"
"""The language choice that asks Whisper to detect it (stored as no language)."""


@dataclass(frozen=True)
class NewTranscription:
    """What to change; None keeps the job's. ``model``: a model name the caller has checked is served (``""``: the
    worker's own); ``language``: a code or ``auto``."""

    model: str | None = None
    language: str | None = None
    task: Task | None = None
