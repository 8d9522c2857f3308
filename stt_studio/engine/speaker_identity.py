"""Names from the voice library on a diarized result's speakers, at the end of diarization and again on demand
(identify again): each speaker's voice print matched against the library's voices (``stt_studio.voices.matching``).

What the user decided stays decided: a speaker whose suggestion was accepted keeps it (and its voice is nobody
else's), a voice the user rejected for a speaker is never proposed for it again. Names typed in review are not
touched here at all (they live in ``speaker_names``, which wins over the library's name)."""

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
    *,
    name_automatically: bool = True,
) -> tuple[list[SpeakerSummary], list[str]]:
    """``speakers`` with the library's verdict on each, and warnings for the result (a damaged voice file, vectors
    that cannot be compared). An empty library (or none of this model) leaves them as they are: not compared.
    ``name_automatically`` False: a clear match is only suggested too."""
    contents = library.contents()
    warnings = list(contents.problems)
    voices = [known for voice in contents.voices if (known := voice.known(prints.model)).samples]
    if not voices:
        return speakers, warnings
    accepted = {s.speaker: s.voice_id for s in speakers if s.match == "accepted" and s.voice_id}
    rejected = {(s.speaker, voice_id) for s in speakers for voice_id in s.rejected_voices}
    try:
        found = match_speakers(prints, prints.model, voices, thresholds, rejected, accepted)
    except MatchingError as exc:
        return speakers, [*warnings, f"Speakers were not compared with the voice library: {exc}"]
    matches = {m.label: m for m in found}
    return [
        s if s.speaker in accepted else s.model_copy(update=_fields(matches.get(s.speaker), name_automatically))
        for s in speakers
    ], warnings


def _fields(match: SpeakerMatch | None, name_automatically: bool) -> dict[str, object]:
    if match is None:  # a speaker without a usable voice vector
        return {"match": "unknown", "candidates": [], **_CLEARED}
    status = "suggested" if match.match == "auto" and not name_automatically else match.match
    return {
        "name": match.name,
        "voice_id": match.voice_id,
        "match": status,
        "score": match.score,
        "margin": match.margin,
        "candidates": [_candidate(c) for c in match.candidates],
        "also_sounds_like": _candidate(match.also_sounds_like) if match.also_sounds_like else None,
    }


_CLEARED: dict[str, object] = {
    "name": None,
    "voice_id": None,
    "score": None,
    "margin": None,
    "also_sounds_like": None,
}


def _candidate(candidate: Candidate) -> VoiceCandidate:
    return VoiceCandidate(voice_id=candidate.voice_id, name=candidate.name, score=candidate.score)
