"""Which known voice each speaker of a recording is (pure: vectors in, decisions out).

Each speaker's centroid is scored against every voice by cosine similarity. A voice's vector is the mean of its
samples' unit vectors (not its best sample): a maximum over samples grows with their number, so a voice with many
samples would draw impostors; the mean stays where the voice is and averages out one odd clip. Speakers and voices
are then paired exclusively (one name per speaker, one speaker per name) by the Hungarian method over the scores,
and each pair is marked ``auto`` (score and margin over the runner-up both clear), ``suggested`` (the score clears
the lower threshold) or left ``unknown``. The thresholds come from a calibration on real speech: docs/voices.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from stt_studio.voices.prints import JobVoicePrints

MatchStatus = Literal["auto", "suggested", "unknown"]

_ROUNDING = 1e-9
"""A score or margin this close to a threshold clears it: 0.6 - 0.5 is 0.0999… in floating point."""

_FORBIDDEN = -10.0
"""The score of a pair that must not be made (see ``_decide``)."""

CANDIDATES = 3
"""How many of the closest voices each speaker lists."""


class MatchingError(ValueError):
    """The speakers' and the voices' vectors cannot be compared; the message says why."""


@dataclass(frozen=True)
class MatchThresholds:
    """Where a score becomes a name (docs/voices.md: how these were measured)."""

    auto: float = 0.80
    """A score at least this high, with ``margin``, names the speaker without asking."""
    margin: float = 0.15
    """How far the best voice must lead the runner-up for an automatic name."""
    suggest: float = 0.70
    """A score at least this high is offered as a suggestion: above every impostor score measured (0.66 at most,
    two speakers of one recording session, where the shared room and microphone raise them)."""
    min_speech_seconds: float = 3.0
    """A speaker with less clean speech than this gets no name: its vector says too little."""


DEFAULT_THRESHOLDS = MatchThresholds()


@dataclass(frozen=True)
class KnownVoice:
    """What matching needs of a library voice."""

    id: str
    name: str
    samples: tuple[tuple[float, ...], ...] = field(repr=False)


@dataclass(frozen=True)
class Candidate:
    voice_id: str
    name: str
    score: float


@dataclass(frozen=True)
class SpeakerMatch:
    label: str
    match: MatchStatus
    voice_id: str | None = None
    name: str | None = None
    score: float | None = None
    margin: float | None = None
    """Score minus the best other voice's; None when there is no other voice."""
    candidates: tuple[Candidate, ...] = ()
    also_sounds_like: Candidate | None = None
    """A voice named on another speaker that this one resembles too: "also sounds like Diane — merge?"."""
    reason: str | None = None
    """Why an unknown speaker was not compared (too little speech, no usable vector)."""


def match_speakers(
    prints: JobVoicePrints,
    library_model: str,
    voices: Sequence[KnownVoice],
    thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
    rejected: Collection[tuple[str, str]] = (),
    pinned: Mapping[str, str] | None = None,
) -> list[SpeakerMatch]:
    """A decision per speaker of ``prints`` (in their order). ``rejected``: (speaker label, voice id) pairs a user
    said are not the same person; they are never paired again. ``pinned``: speaker label -> voice id pairs a user
    accepted: they stay paired (whatever their score now, marked as the thresholds say) and no other speaker gets
    that voice, though one may be told it also sounds like it. Raises ``MatchingError`` when the vectors come from
    another model than the library's or are of another size."""
    if prints.model != library_model:
        raise MatchingError(
            f"The speakers' voice vectors come from the embedding model {prints.model}, the voice library's from "
            f"{library_model}: they cannot be compared (the library needs a refresh, or the job diarizing again)"
        )
    size = _vector_size(prints, voices)
    usable_voices = [(v, c) for v in voices if (c := _voice_vector(v, size)) is not None]
    matches: dict[str, SpeakerMatch] = {}
    compared: list[tuple[str, npt.NDArray[np.float64]]] = []
    for speaker in prints.speakers:
        vector = _unit(np.asarray(speaker.vector, dtype=np.float64))
        if vector is None:
            matches[speaker.label] = SpeakerMatch(speaker.label, "unknown", reason="no usable voice vector")
        elif speaker.speech_seconds < thresholds.min_speech_seconds:
            matches[speaker.label] = SpeakerMatch(
                speaker.label, "unknown", reason=f"too little speech ({speaker.speech_seconds:.1f} s) to name"
            )
        else:
            compared.append((speaker.label, vector))
    if compared and usable_voices:
        scores = np.stack([v for _, v in compared]) @ np.stack([c for _, c in usable_voices]).T
        voices_compared = [v for v, _ in usable_voices]
        matches.update(_decide(compared, voices_compared, scores, thresholds, set(rejected), dict(pinned or {})))
    else:
        matches.update({label: SpeakerMatch(label, "unknown") for label, _ in compared})
    return [matches[s.label] for s in prints.speakers]


def _decide(
    compared: list[tuple[str, npt.NDArray[np.float64]]],
    voices: list[KnownVoice],
    scores: npt.NDArray[np.float64],
    thresholds: MatchThresholds,
    rejected: set[tuple[str, str]],
    pinned: dict[str, str],
) -> dict[str, SpeakerMatch]:
    from scipy.optimize import linear_sum_assignment

    labels = [label for label, _ in compared]
    allowed = np.array([[(label, v.id) not in rejected for v in voices] for label in labels])
    pinned_voices = set(pinned.values())
    # a pinned speaker may only have its voice, and nobody else may have a pinned voice
    assignable = allowed & np.array(
        [[pinned[label] == v.id if label in pinned else v.id not in pinned_voices for v in voices] for label in labels]
    )
    # A rejected pair must never be chosen: far below any real cosine, yet finite (the solver refuses infinities).
    # Each speaker also has a column of its own meaning "no voice", worth the suggestion threshold: a pair pays only
    # by how far it clears that, so two weak pairs never outweigh one good pair (which a full assignment would do
    # when a rejection leaves a speaker only a poor voice). A pinned speaker may not stay without its voice.
    stay_unpaired = np.full((len(labels), len(labels)), _FORBIDDEN)
    np.fill_diagonal(stay_unpaired, [_FORBIDDEN if label in pinned else thresholds.suggest for label in labels])
    costs = np.hstack([np.where(assignable, scores, _FORBIDDEN), stay_unpaired])
    rows, cols = linear_sum_assignment(costs, maximize=True)
    paired = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if c < len(voices) and assignable[r, c]}
    decided: dict[str, SpeakerMatch] = {}
    named: dict[int, int] = {}  # voice column -> speaker row, for the pairs that got a name
    for row, label in enumerate(labels):
        candidates = _candidates(scores[row], voices, allowed[row])
        column = paired.get(row)
        if column is None:
            decided[label] = SpeakerMatch(label, "unknown", candidates=candidates)
            continue
        score = float(scores[row, column])
        others = np.delete(scores[row], column)
        margin = score - float(others.max()) if len(others) else None
        if score >= thresholds.auto - _ROUNDING and (margin is None or margin >= thresholds.margin - _ROUNDING):
            status: MatchStatus = "auto"
        elif score >= thresholds.suggest - _ROUNDING or label in pinned:
            status = "suggested"
        else:
            decided[label] = SpeakerMatch(label, "unknown", candidates=candidates)
            continue
        named[column] = row
        voice = voices[column]
        decided[label] = SpeakerMatch(
            label, status, voice.id, voice.name, round(score, 4), _rounded(margin), candidates
        )
    for row, label in enumerate(labels):
        if decided[label].match != "unknown":
            continue
        resembled = [(float(scores[row, c]), c) for c in named if allowed[row, c]]
        resembled = [(score, c) for score, c in resembled if score >= thresholds.suggest - _ROUNDING]
        if resembled:
            score, column = max(resembled)
            hint = Candidate(voices[column].id, voices[column].name, round(score, 4))
            decided[label] = SpeakerMatch(label, "unknown", candidates=decided[label].candidates, also_sounds_like=hint)
    return decided


def _candidates(
    row: npt.NDArray[np.float64], voices: list[KnownVoice], allowed: npt.NDArray[np.bool_]
) -> tuple[Candidate, ...]:
    order = [int(c) for c in np.argsort(-row, kind="stable") if allowed[c]][:CANDIDATES]
    return tuple(Candidate(voices[c].id, voices[c].name, round(float(row[c]), 4)) for c in order)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _vector_size(prints: JobVoicePrints, voices: Sequence[KnownVoice]) -> int:
    """The one vector size of speakers and voices alike."""
    sizes = {len(s.vector) for s in prints.speakers}
    if len(sizes) > 1:
        raise MatchingError(f"The speakers' voice vectors differ in size ({sorted(sizes)})")
    size = sizes.pop() if sizes else None
    for voice in voices:
        for sample in voice.samples:
            if size is None:
                size = len(sample)
            if len(sample) != size:
                raise MatchingError(
                    f"Voice {voice.name!r} has a vector of {len(sample)} numbers where {size} are expected: "
                    "it was made by another model, or its file is damaged"
                )
    return size or 0


def _unit(vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
    """``vector`` at unit length; None for a zero vector or one with NaN or infinite numbers."""
    if not np.all(np.isfinite(vector)):
        return None
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-9 else None


def _voice_vector(voice: KnownVoice, size: int) -> npt.NDArray[np.float64] | None:
    """The mean of the voice's usable samples (each at unit length), at unit length; None when it has none."""
    units = [u for s in voice.samples if (u := _unit(np.asarray(s, dtype=np.float64))) is not None]
    if not units or size == 0:
        return None
    return _unit(np.mean(units, axis=0))
