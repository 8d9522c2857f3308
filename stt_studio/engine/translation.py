"""Whisper's two tasks (transcribe, translate into English) and which models can do the second.

Pure: decided from a model's name (and, once loaded, whether its vocabulary is multilingual), so that the API, the
CLI and the window refuse a translation before any work, and the engine refuses one a name did not give away.
"""

from __future__ import annotations

from typing import get_args

from stt_studio.engine.model_catalog import ALIASES, public_name
from stt_studio.engine.options import InvalidOptionError, Task

TASKS: tuple[Task, ...] = get_args(Task)

_NO_TRANSLATION_TRAINING = ("turbo", "distil")
"""large-v3-turbo was fine-tuned on transcription only and distil-whisper on English transcription only: given
task=translate they transcribe (OpenAI's model card, distil-whisper's README), which would pass for a translation."""


def translation_refusal(model: str, *, multilingual: bool | None = None) -> str | None:
    """Why ``model`` cannot translate into English, in one sentence; None when it can. ``model``: a name, alias or
    local folder; ``multilingual``: what the loaded model says of itself (None: not loaded yet)."""
    name = public_name(ALIASES.get(model.strip(), model.strip()))
    if name.lower().endswith(".en") or multilingual is False:
        return f"The model '{name}' is English-only and cannot translate: choose a multilingual model such as base"
    if any(marker in name.lower() for marker in _NO_TRANSLATION_TRAINING):
        return (
            f"The model '{name}' was trained without translation and cannot translate: choose a multilingual model "
            "such as base, small or large-v3"
        )
    return None


def check_task(task: str, model: str, *, multilingual: bool | None = None) -> None:
    """Raise InvalidOptionError for an unknown task, or a translation that ``model`` cannot do."""
    if task not in TASKS:
        raise InvalidOptionError(f"Unknown task '{task}' (use {' or '.join(TASKS)})")
    if task == "translate" and (reason := translation_refusal(model, multilingual=multilingual)) is not None:
        raise InvalidOptionError(reason)
