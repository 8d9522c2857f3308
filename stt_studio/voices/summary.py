"""A voice as the library window shows it: name, samples and seconds of speech, never the voice vectors. The
same shape whether it was read from the data folder or from a server's ``GET /voices``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stt_studio.voices.library import Voice


@dataclass(frozen=True)
class SampleSummary:
    id: str
    source: str
    created: datetime
    consent: str
    speech_seconds: float


@dataclass(frozen=True)
class VoiceSummary:
    id: str
    name: str
    speech_seconds: float
    needs_refresh: bool
    """Some samples were embedded by another model than the one diarization uses now."""
    samples: tuple[SampleSummary, ...]

    @classmethod
    def of(cls, voice: Voice, current_model: str | None) -> VoiceSummary:
        return cls(
            id=voice.id,
            name=voice.name,
            speech_seconds=voice.speech_seconds(),
            needs_refresh=current_model is not None and voice.needs_refresh(current_model),
            samples=tuple(SampleSummary(s.id, s.source, s.created, s.consent, s.speech_seconds) for s in voice.samples),
        )

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> VoiceSummary:
        """One voice of ``GET /voices`` (a server without ``needs_refresh`` marks none)."""
        return cls(
            id=str(body["id"]),
            name=str(body["name"]),
            speech_seconds=float(body["speech_seconds"]),
            needs_refresh=bool(body.get("needs_refresh", False)),
            samples=tuple(
                SampleSummary(
                    id=str(s["id"]),
                    source=str(s["source"]),
                    created=datetime.fromisoformat(str(s["created"])),
                    consent=str(s["consent"]),
                    speech_seconds=float(s["speech_seconds"]),
                )
                for s in body["samples"]
            ),
        )


@dataclass(frozen=True)
class VoiceListing:
    voices: list[VoiceSummary]
    problems: list[str]
    """One sentence per voice file that could not be read (those voices are left out)."""


@dataclass(frozen=True)
class EnrollOutcome:
    """A speaker saved to the library: the voice it went to, whether that voice was there already, the seconds of
    clean speech in the new sample, and a warning when they are few."""

    voice: VoiceSummary
    added_to_existing: bool
    speech_seconds: float
    warning: str | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EnrollOutcome:
        """``POST /voices`` or ``POST /voices/{id}/samples``'s answer: the voice, its new sample last."""
        voice = VoiceSummary.from_json(body)
        new = next((s for s in voice.samples if s.id == body.get("sample_id")), voice.samples[-1])
        warning = body.get("warning")
        return cls(voice, bool(body["added_to_existing"]), new.speech_seconds, str(warning) if warning else None)


@dataclass(frozen=True)
class ClipSpeakerSummary:
    """One voice found in a clip that holds several, for the user to pick: its label, seconds of speech alone, and
    where it first talks."""

    label: str
    speech_seconds: float
    first_start: float

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ClipSpeakerSummary:
        """An entry of the 409's ``speakers`` (``POST /voices`` with a clip of several voices)."""
        return cls(str(body["speaker"]), float(body["speech_seconds"]), float(body["first_start"]))


@dataclass(frozen=True)
class RefreshOutcome:
    """What refreshing the library did: samples embedded again by the current model, and why any were left."""

    refreshed: int
    problems: list[str]
