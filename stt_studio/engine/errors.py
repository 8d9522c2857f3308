"""Typed engine errors. Each carries a message written for the person who submitted the file."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: ``str(error)`` is a complete, plain sentence fit to show a user or return from the API."""


class AudioError(EngineError):
    """The input could not be turned into audio to transcribe."""

    prefix = "Failed to load audio"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{self.prefix}: {detail}")


class NotAudioError(AudioError):
    """The file is not a media file FFmpeg can read, or it has no audio stream."""


class CorruptAudioError(AudioError):
    """The file is a media file, but its audio data is damaged or cut short."""


class EmptyAudioError(AudioError):
    """The audio stream holds no samples (0 seconds)."""


class AudioTooLongError(AudioError):
    """The audio is longer than the configured limit."""


class ModelLoadError(EngineError):
    """No usable speech model could be loaded."""


class CancelledError(EngineError):
    """The run was canceled by its caller."""

    def __init__(self) -> None:
        super().__init__("Transcription was canceled")  # the spelling of the status people see (Canceled)
