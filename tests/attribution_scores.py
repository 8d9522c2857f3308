"""How right a transcript's speakers are against a reference's turns, word by word and row by row: shared by the
diarization tests and ``benchmarks.accuracy``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stt_studio.engine.result import Segment, Word

ReferenceTurn = tuple[float, float, str]

OWN_TURN_SECONDS = 1.5
"""A reference turn this short, at a one-word row, is that word's own turn ("Hello.", "Yeah.")."""
NEAR_SECONDS = 0.25
"""How far from a word a reference turn may end and still be at it: word times and hand-set turn edges are both a
few hundred milliseconds off (DER's usual collar)."""


def speakers_at(reference: Sequence[ReferenceTurn], t: float) -> set[str]:
    """The reference speakers talking at ``t`` (two or more in overlap), or the nearest turn's when nobody is (a
    word's middle may fall in a pause)."""
    talking = {speaker for start, end, speaker in reference if start <= t <= end}
    if talking or not reference:
        return talking
    return {min(reference, key=lambda turn: min(abs(turn[0] - t), abs(turn[1] - t)))[2]}


def right_speaker_share(
    segments: Sequence[Segment], reference: Sequence[ReferenceTurn], mapping: Mapping[str, str]
) -> float:
    """Share of words whose speaker, mapped to the reference's (``mapping``), is one talking at the word's middle:
    in overlap either voice is right."""
    words = [w for s in segments for w in s.words]
    right = sum(
        w.speaker is not None and mapping.get(w.speaker) in speakers_at(reference, (w.start + w.end) / 2) for w in words
    )
    return right / len(words) if words else float("nan")


def _has_own_turn(word: Word, reference: Sequence[ReferenceTurn]) -> bool:
    return any(
        end - start <= OWN_TURN_SECONDS and start - NEAR_SECONDS <= word.end and word.start <= end + NEAR_SECONDS
        for start, end, _ in reference
    )


def fragment_rows(segments: Sequence[Segment], reference: Sequence[ReferenceTurn]) -> list[Segment]:
    """One-word rows the reference has no turn of their own for ("So", "And" cut off a sentence at a speaker
    change), unlike a one-word reply ("Yeah.") that is a short turn of the reference."""
    return [s for s in segments if len(s.words) == 1 and not _has_own_turn(s.words[0], reference)]
