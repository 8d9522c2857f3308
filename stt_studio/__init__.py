"""STT Studio: WhisperX speech-to-text behind a job queue, a desktop app and a REST API."""

__version__ = "0.1.0"
