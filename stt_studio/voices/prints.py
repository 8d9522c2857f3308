"""What a diarized job keeps of each speaker's voice: one embedding (the diarizer's centroid) per speaker, its
amount of clean speech, and the fingerprint of the model that made the embeddings (vectors of two models are not
comparable). Kept beside the job's checkpoints, never in its transcript or exports; ``repr`` leaves the vectors out
so that they never reach a log."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

VOICE_PRINTS_KEY = "voice-prints"
"""The name a job's voice prints are kept under among its checkpoints (under the embedding model's fingerprint)."""


class VoicePrintsError(ValueError):
    """Kept voice prints that are not what ``JobVoicePrints.to_json`` writes."""


@dataclass(frozen=True)
class SpeakerPrint:
    label: str
    vector: tuple[float, ...] = field(repr=False)
    speech_seconds: float
    """Seconds this speaker talks alone (no overlap): how much the vector is worth."""


@dataclass(frozen=True)
class JobVoicePrints:
    model: str
    """Fingerprint of the embedding model."""
    speakers: tuple[SpeakerPrint, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "speakers": [
                {"label": s.label, "vector": list(s.vector), "speech_seconds": s.speech_seconds} for s in self.speakers
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> JobVoicePrints:
        try:
            return cls(
                str(data["model"]),
                tuple(
                    SpeakerPrint(str(s["label"]), tuple(float(x) for x in s["vector"]), float(s["speech_seconds"]))
                    for s in data["speakers"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VoicePrintsError(f"voice prints: {exc!r}") from exc


def speech_seconds(turns: Iterable[tuple[float, float, str]]) -> dict[str, float]:
    """Seconds per speaker over ``turns`` (start, end, label)."""
    seconds: dict[str, float] = {}
    for start, end, label in turns:
        seconds[label] = seconds.get(label, 0.0) + max(0.0, end - start)
    return seconds


def job_voice_prints(
    model: str, embeddings: Mapping[str, list[float]], turns: Iterable[tuple[float, float, str]]
) -> JobVoicePrints | None:
    """The prints of a diarization's speakers: ``embeddings`` by label, ``turns`` the exclusive (one speaker at a
    time) turns. None when the diarizer gave no embeddings; a speaker whose vector is not finite is left out."""
    if not embeddings:
        return None
    seconds = speech_seconds(turns)
    speakers = tuple(
        SpeakerPrint(label, tuple(float(x) for x in vector), round(seconds.get(label, 0.0), 3))
        for label, vector in sorted(embeddings.items())
        if vector and all(math.isfinite(x) for x in vector)
    )
    return JobVoicePrints(model, speakers)
