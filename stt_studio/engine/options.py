"""What a caller may ask of a transcription, and the checks that turn a bad request into a plain message.

Kept apart from the pipeline: the API and the diarizer use them without the pipeline's model loading.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from stt_studio.engine.errors import EngineError


class InvalidOptionError(EngineError):
    """A request option (language, speaker counts, …) is not valid."""


@dataclass(frozen=True)
class DiarizationOptions:
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None


Task = Literal["transcribe", "translate"]
"""Whisper's task: write what is said, or write it in English (``stt_studio.engine.translation``)."""

MAX_PROMPT_CHARS = 4096
"""Whisper reads at most its last ~220 tokens; longer is almost surely a mistake."""


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None
    diarization: DiarizationOptions | None = None
    prompt: str | None = None
    """Text that comes before the audio (Whisper's initial prompt): names and terms spelled as they should be."""
    batch_size: int | None = None
    """Chunks decoded together; None: the engine's own (a retry after running out of memory halves it)."""
    task: Task = "transcribe"
    """translate: Whisper writes English text whatever the language spoken (``language`` is then the source's)."""
    identify_speakers: bool = True
    """Match diarized speakers against the voice library (``engine.speaker_identity``)."""
    name_speakers_automatically: bool = True
    """A clear match names the speaker (auto); False: it is only suggested."""


def known_languages() -> frozenset[str]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def check_prompt(prompt: str | None) -> None:
    if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidOptionError(f"The prompt is longer than {MAX_PROMPT_CHARS} characters")
    if prompt is not None and any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in prompt):
        raise InvalidOptionError("The prompt contains control characters")


def check_speaker_range(min_speakers: int | None, max_speakers: int | None) -> None:
    if min_speakers is not None and max_speakers is not None and min_speakers > max_speakers:
        raise InvalidOptionError("min_speakers must not be larger than max_speakers")


def check_language(language: str | None) -> None:
    """Raise InvalidOptionError unless ``language`` is None (detect) or a code Whisper knows."""
    if language is not None and language not in known_languages():
        raise InvalidOptionError(f"Unknown language code '{language}' (use e.g. 'en', 'de', 'fr')")
