"""Names from the voice library on a diarized result's speakers, at the end of diarization: each speaker's
voice print matched against the library's voices (``stt_studio.voices.matching``)."""

from __future__ import annotations

from stt_studio.engine.result import SpeakerSummary, VoiceCandidate
from stt_studio.voices.library import VoiceLibrary
from stt_studio.voices.matching import (
    DEFAULT_THRESHOLDS,
    Candidate,
    MatchingError,
    MatchThresholds,
    SpeakerMatch,
    match_speakers,
)
from stt_studio.voices.prints import JobVoicePrints


def identify_speakers(
    speakers: list[SpeakerSummary],
    prints: JobVoicePrints,
    library: VoiceLibrary,
    thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
) -> tuple[list[SpeakerSummary], list[str]]:
    """``speakers`` with the library's verdict on each, and warnings for the result (a damaged voice file, vectors
    that cannot be compared). An empty library (or none of this model) leaves them as they are: not compared."""
    contents = library.contents()
    warnings = list(contents.problems)
    voices = [known for voice in contents.voices if (known := voice.known(prints.model)).samples]
    if not voices:
        return speakers, warnings
    try:
        matches = {m.label: m for m in match_speakers(prints, prints.model, voices, thresholds)}
    except MatchingError as exc:
        return speakers, [*warnings, f"Speakers were not compared with the voice library: {exc}"]
    return [s.model_copy(update=_fields(matches.get(s.speaker))) for s in speakers], warnings


def _fields(match: SpeakerMatch | None) -> dict[str, object]:
    if match is None:  # a speaker without a usable voice vector
        return {"match": "unknown", "candidates": []}
    return {
        "name": match.name,
        "voice_id": match.voice_id,
        "match": match.match,
        "score": match.score,
        "margin": match.margin,
        "candidates": [_candidate(c) for c in match.candidates],
        "also_sounds_like": _candidate(match.also_sounds_like) if match.also_sounds_like else None,
    }


def _candidate(candidate: Candidate) -> VoiceCandidate:
    return VoiceCandidate(voice_id=candidate.voice_id, name=candidate.name, score=candidate.score)
