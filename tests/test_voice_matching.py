"""The voice matcher on constructed vectors: each voice is a basis direction, and a speaker's vector is built with
exactly the cosine scores a case needs (the rest of its length on an axis no voice uses)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stt_studio.voices.matching import KnownVoice, MatchingError, MatchThresholds, SpeakerMatch, match_speakers
from stt_studio.voices.prints import JobVoicePrints, SpeakerPrint

MODEL = "campplus-192:test"
SIZE = 16
NOISE = SIZE - 1  # the axis no voice uses
T = MatchThresholds(auto=0.6, margin=0.1, suggest=0.45, min_speech_seconds=3.0)


def axis(i: int) -> tuple[float, ...]:
    return tuple(1.0 if k == i else 0.0 for k in range(SIZE))


def scoring(**cosines: float) -> tuple[float, ...]:
    """A unit vector whose cosine with voice ``v0`` (Diane) or ``v1`` (Bob) is exactly the one given: the least
    vector with those projections, topped up to unit length on the axis no voice uses."""
    basis = np.array([VOICE_VECTORS[name] for name in cosines])
    wanted = np.array(list(cosines.values()))
    least = basis.T @ np.linalg.solve(basis @ basis.T, wanted)
    rest = 1.0 - float(least @ least)
    assert rest >= 0.0, "no unit vector has these cosines"
    least[NOISE] = math.sqrt(rest)
    return tuple(float(x) for x in least)


# Diane and Bob are not orthogonal (cosine 0.6 between them), as real voices are not, so any two scores fit
VOICE_VECTORS = {"v0": axis(0), "v1": tuple(0.6 * a + 0.8 * b for a, b in zip(axis(0), axis(1), strict=True))}
DIANE = KnownVoice("v-diane", "Diane", (VOICE_VECTORS["v0"],))
BOB = KnownVoice("v-bob", "Bob", (VOICE_VECTORS["v1"],))


def prints(*speakers: tuple[str, tuple[float, ...]] | tuple[str, tuple[float, ...], float]) -> JobVoicePrints:
    return JobVoicePrints(MODEL, tuple(SpeakerPrint(s[0], s[1], s[2] if len(s) == 3 else 30.0) for s in speakers))


def only(matches: list[SpeakerMatch], label: str) -> SpeakerMatch:
    return next(m for m in matches if m.label == label)


def test_an_empty_library_leaves_everyone_unknown() -> None:
    result = match_speakers(prints(("SPEAKER_00", axis(0)), ("SPEAKER_01", axis(1))), MODEL, [], T)
    assert [(m.label, m.match, m.name, m.candidates) for m in result] == [
        ("SPEAKER_00", "unknown", None, ()),
        ("SPEAKER_01", "unknown", None, ()),
    ]


def test_a_clear_match_is_named_automatically_with_its_score_margin_and_candidates() -> None:
    (m,) = match_speakers(prints(("SPEAKER_00", scoring(v0=0.8, v1=0.3))), MODEL, [DIANE, BOB], T)
    assert (m.match, m.voice_id, m.name) == ("auto", "v-diane", "Diane")
    assert m.score == pytest.approx(0.8) and m.margin == pytest.approx(0.5)
    assert [(c.name, c.score) for c in m.candidates] == [("Diane", 0.8), ("Bob", 0.3)]


@pytest.mark.parametrize(
    ("diane", "bob", "status"),
    [
        (0.60, 0.50, "auto"),  # both exactly at their thresholds
        (0.5999, 0.30, "suggested"),  # score just under auto
        (0.80, 0.7001, "suggested"),  # score clears, margin just under
        (0.45, 0.0, "suggested"),  # exactly the lower threshold
        (0.4499, 0.0, "unknown"),  # just under it: no name
    ],
)
def test_threshold_and_margin_edges(diane: float, bob: float, status: str) -> None:
    (m,) = match_speakers(prints(("S", scoring(v0=diane, v1=bob))), MODEL, [DIANE, BOB], T)
    assert m.match == status
    assert (m.name is None) == (status == "unknown")


def test_with_a_single_voice_there_is_no_runner_up() -> None:
    (m,) = match_speakers(prints(("S", scoring(v0=0.61))), MODEL, [DIANE], T)
    assert (m.match, m.margin) == ("auto", None)


def test_one_name_per_speaker_and_one_speaker_per_name_by_best_total_not_greedily() -> None:
    # greedy would give Diane to A (0.90) and leave B with nothing near; the assignment gives A Bob, B Diane
    result = match_speakers(
        prints(("A", scoring(v0=0.90, v1=0.85)), ("B", scoring(v0=0.88, v1=0.2))), MODEL, [DIANE, BOB], T
    )
    assert [(m.label, m.name) for m in result] == [("A", "Bob"), ("B", "Diane")]
    assert len({m.voice_id for m in result}) == 2


def test_a_second_speaker_like_an_assigned_voice_gets_a_merge_hint_not_the_name() -> None:
    result = match_speakers(prints(("A", scoring(v0=0.9)), ("B", scoring(v0=0.7))), MODEL, [DIANE], T)
    a, b = only(result, "A"), only(result, "B")
    assert (a.match, a.name) == ("auto", "Diane")
    assert (b.match, b.name) == ("unknown", None)
    assert b.also_sounds_like is not None and (b.also_sounds_like.name, b.also_sounds_like.score) == ("Diane", 0.7)


def test_no_merge_hint_below_the_lower_threshold() -> None:
    result = match_speakers(prints(("A", scoring(v0=0.9)), ("B", scoring(v0=0.3))), MODEL, [DIANE], T)
    assert only(result, "B").also_sounds_like is None


def test_too_little_speech_gets_no_name_and_takes_no_voice_from_another() -> None:
    result = match_speakers(prints(("brief", axis(0), 2.9), ("long", scoring(v0=0.7), 20.0)), MODEL, [DIANE], T)
    brief, long = only(result, "brief"), only(result, "long")
    assert (brief.match, brief.name) == ("unknown", None) and brief.reason is not None
    assert "too little speech" in brief.reason
    assert (long.match, long.name) == ("auto", "Diane")


@pytest.mark.parametrize("vector", [(0.0,) * SIZE, (math.nan,) + (0.0,) * (SIZE - 1)], ids=["zero", "nan"])
def test_zero_or_nan_speaker_rows_stay_unknown_and_others_still_match(vector: tuple[float, ...]) -> None:
    result = match_speakers(prints(("bad", vector), ("good", BOB.samples[0])), MODEL, [DIANE, BOB], T)
    assert only(result, "bad").match == "unknown" and only(result, "bad").reason == "no usable voice vector"
    assert only(result, "good").name == "Bob"


def test_a_voice_is_the_mean_of_its_samples_and_unusable_samples_are_ignored() -> None:
    # samples along v0 and v1: their mean points between them; a zero and a NaN sample change nothing
    blend = KnownVoice("v-x", "X", (axis(0), axis(1), (0.0,) * SIZE, (math.nan,) * SIZE))
    speaker = (0.6, 0.6) + (0.0,) * (SIZE - 3) + (0.28**0.5,)
    (m,) = match_speakers(prints(("S", speaker)), MODEL, [blend], T)
    assert m.score == pytest.approx(2 * 0.6 / math.sqrt(2), abs=1e-4)


def test_a_voice_with_no_usable_sample_is_not_a_candidate() -> None:
    empty = KnownVoice("v-empty", "Empty", ((0.0,) * SIZE,))
    (m,) = match_speakers(prints(("S", axis(0))), MODEL, [empty, DIANE], T)
    assert [c.name for c in m.candidates] == ["Diane"]


def test_a_rejected_pair_is_never_made_again() -> None:
    result = match_speakers(prints(("A", scoring(v0=0.9, v1=0.5))), MODEL, [DIANE, BOB], T, rejected={("A", "v-diane")})
    (a,) = result
    assert (a.match, a.name) == ("suggested", "Bob")
    assert "Diane" not in [c.name for c in a.candidates]


def test_a_vector_of_the_wrong_size_is_refused_naming_the_voice() -> None:
    short = KnownVoice("v-short", "Short", ((1.0,) * (SIZE - 1),))
    with pytest.raises(MatchingError, match="'Short' has a vector of 15 numbers where 16"):
        match_speakers(prints(("S", axis(0))), MODEL, [DIANE, short], T)


def test_vectors_of_another_model_are_refused() -> None:
    with pytest.raises(MatchingError, match=r"another-model.*cannot be compared"):
        match_speakers(prints(("S", axis(0))), "another-model", [DIANE], T)


def test_vectors_never_appear_in_a_repr() -> None:
    text = repr(prints(("S", scoring(v0=0.123456)))) + repr(DIANE)
    assert "0.123456" not in text and "1.0" not in text
