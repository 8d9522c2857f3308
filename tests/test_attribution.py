"""Speakers settled at turn boundaries (engine/diarization/attribution.py), on words and turns built to show each
rule; tests/test_diarization.py checks the whole on real speech."""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from stt_studio.engine.diarization.assign import assign_speakers
from stt_studio.engine.diarization.attribution import LONG_TURN, SENTENCE_END, Turn, settle_speakers
from stt_studio.engine.result import Segment, Word
from stt_studio.review.words import needs_check


def said(*spoken: tuple[str, float, float, str | None]) -> list[Word]:
    return [Word(word=w, start=a, end=b, score=0.9, speaker=s) for w, a, b, s in spoken]


def speakers(words: list[Word]) -> list[str | None]:
    return [w.speaker for w in words]


# Speaker A talks from 0 to 3.0 s and from 4.3 s on; B from 3.0 to 4.1 s. A's sentence starts with "So" at 3.05 s,
# which the diarization's boundary (A's turn ends at 3.1 s in the exclusive diarization) gives to B.
A_THEN_B: list[Turn] = [(0.0, 3.1, "A"), (3.1, 3.3, "B"), (3.3, 6.0, "A")]


def test_a_sentences_first_word_carried_to_the_other_speaker_comes_back() -> None:
    words = said(
        ("So", 3.1, 3.25, "B"), ("we", 3.3, 3.45, "A"), ("should", 3.5, 3.8, "A"), ("go.", 3.85, 4.2, "A")
    )  # fmt: skip
    settled = settle_speakers(words, A_THEN_B, A_THEN_B)
    assert speakers(settled) == ["A"] * 4


def test_a_word_of_the_other_speaker_inside_a_sentence_takes_the_sentences() -> None:
    turns: list[Turn] = [(0.0, 1.0, "A"), (1.0, 1.2, "B"), (1.2, 3.0, "A")]
    words = said(
        ("I", 0.5, 0.6, "A"), ("think", 0.7, 0.95, "A"), ("that", 1.0, 1.15, "B"), ("maybe", 1.2, 1.5, "A")
    )  # fmt: skip
    assert speakers(settle_speakers(words, turns, turns)) == ["A"] * 4


def test_a_lone_word_between_two_words_of_one_speaker_takes_theirs() -> None:
    """ "No." is a sentence of its own, so only the neighbours decide: B's turn there is too short to be real."""
    turns: list[Turn] = [(0.0, 1.0, "A"), (1.0, 1.2, "B"), (1.2, 3.0, "A")]
    words = said(("agree.", 0.5, 0.95, "A"), ("No.", 1.0, 1.2, "B"), ("Then", 1.25, 1.5, "A"), ("go.", 1.5, 1.9, "A"))
    assert speakers(settle_speakers(words, turns, turns)) == ["A"] * 4


def test_a_short_real_turn_stays() -> None:
    """ "Yeah." between two long turns of A: its own sentence, set off by pauses, in B's own turn."""
    turns: list[Turn] = [(0.0, 2.0, "A"), (2.4, 2.9, "B"), (3.3, 6.0, "A")]
    words = said(
        ("It", 1.0, 1.2, "A"), ("works.", 1.3, 1.9, "A"), ("Yeah.", 2.45, 2.85, "B"),
        ("And", 3.35, 3.5, "A"), ("then", 3.55, 3.8, "A"), ("more.", 3.85, 4.2, "A"),
    )  # fmt: skip
    settled = settle_speakers(words, turns, turns)
    assert speakers(settled) == ["A", "A", "B", "A", "A", "A"]
    assert not any(w.speaker_uncertain for w in settled)


def test_a_real_turn_inside_a_sentence_stays() -> None:
    """Whisper wrote two speakers' words as one sentence; a pause and B's long own turn keep B's words."""
    turns: list[Turn] = [(0.0, 2.0, "A"), (2.5, 4.0, "B")]
    words = said(
        ("we", 0.2, 0.5, "A"), ("could", 0.6, 1.0, "A"), ("start", 1.1, 1.5, "A"), ("now", 1.6, 1.9, "A"),
        ("or", 2.6, 2.8, "B"), ("wait", 2.9, 3.3, "B"), ("instead.", 3.4, 3.9, "B"),
    )  # fmt: skip
    assert speakers(settle_speakers(words, turns, turns)) == ["A"] * 4 + ["B"] * 3


def test_a_whole_turn_inside_a_sentence_stays_without_pause_or_punctuation() -> None:
    """Whisper ran two turns into one sentence and its word times over the pause between them: B still talks for
    1.5 s during its words, a turn of its own, not a boundary error to put right."""
    turns: list[Turn] = [(0.0, 2.4, "A"), (2.5, 4.0, "B")]
    words = said(
        ("we", 0.2, 0.5, "A"), ("could", 0.6, 1.0, "A"), ("start", 1.1, 1.5, "A"), ("right", 1.6, 1.9, "A"),
        ("now", 1.9, 2.55, "A"), ("or", 2.55, 2.8, "B"), ("wait", 2.9, 3.3, "B"), ("instead.", 3.4, 3.9, "B"),
    )  # fmt: skip
    assert speakers(settle_speakers(words, turns, turns)) == ["A"] * 5 + ["B"] * 3


def test_a_one_word_sentence_opening_a_long_turn_stays() -> None:
    """Whisper left A's question without its mark, so B's "Sure." ends A's sentence; B's turn there is short (the
    diarization cut it from the rest of B's turn), but it opens a long run of B's words: a turn of B's."""
    turns: list[Turn] = [(0.0, 0.9, "A"), (1.9, 2.1, "B"), (2.15, 4.0, "B")]
    words = said(
        ("Shall", 0.1, 0.3, "A"), ("we", 0.35, 0.5, "A"), ("start", 0.55, 0.85, "A"), ("Sure.", 1.9, 2.1, "B"),
        ("Let", 2.2, 2.4, "B"), ("us", 2.45, 2.6, "B"), ("begin", 2.65, 3.0, "B"), ("now.", 3.1, 3.5, "B"),
    )  # fmt: skip
    assert speakers(settle_speakers(words, turns, turns)) == ["A"] * 3 + ["B"] * 5


def test_a_word_in_overlapping_voices_is_marked_for_checking() -> None:
    full: list[Turn] = [(0.0, 3.0, "A"), (1.9, 3.5, "B")]
    exclusive: list[Turn] = [(0.0, 2.5, "A"), (2.5, 3.5, "B")]
    words = said(("one", 0.5, 0.9, "A"), ("two", 2.0, 2.4, "A"), ("three,", 3.0, 3.4, "B"))
    settled = settle_speakers(words, exclusive, full)
    assert [w.speaker_uncertain for w in settled] == [False, True, False]
    assert [needs_check(w, threshold=0.6) for w in settled] == [False, True, False]
    assert not needs_check(settled[1].model_copy(update={"checked": True}), threshold=0.6)


def test_a_word_on_a_very_short_turn_is_marked() -> None:
    turns: list[Turn] = [(0.0, 1.0, "A"), (1.4, 1.7, "B"), (2.2, 4.0, "A")]
    words = said(("Right.", 0.4, 0.9, "A"), ("Hm.", 1.45, 1.65, "B"), ("Well.", 2.3, 2.8, "A"))
    settled = settle_speakers(words, turns, turns)
    assert speakers(settled) == ["A", "B", "A"]
    assert [w.speaker_uncertain for w in settled] == [False, True, False]


def test_assignment_uses_the_exclusive_diarization_and_splits_rows_where_speakers_change() -> None:
    """In the full diarization B starts talking over the end of A's "morning."; the exclusive one says A had the
    floor until 1.8 s (with the full one, "morning." and so the whole sentence would go to B)."""
    full: list[Turn] = [(0.0, 1.8, "A"), (1.0, 4.0, "B")]
    exclusive: list[Turn] = [(0.0, 1.8, "A"), (1.8, 4.0, "B")]
    words = said(
        ("Good", 0.1, 0.5, None), ("morning.", 1.0, 2.0, None), ("Hello", 2.5, 2.9, None), ("there.", 3.0, 3.5, None)
    )  # fmt: skip
    segment = Segment(id=0, start=0.1, end=3.5, text="Good morning. Hello there.", words=words)
    rows, summaries = assign_speakers([segment], full, exclusive)
    assert [(row.text, row.speaker) for row in rows] == [("Good morning.", "A"), ("Hello there.", "B")]
    assert [w.speaker_uncertain for row in rows for w in row.words] == [False, True, False, False]
    assert {s.speaker: s.speaking_time for s in summaries} == {"A": 1.8, "B": 3.0}  # the full diarization's time


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[Word], list[Turn]]:
    """Words one after another, each with a speaker, and turns built around runs of them."""
    count = draw(st.integers(1, 30))
    words, turns, time = [], [], 0.0
    for i in range(count):
        time += draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))
        length = draw(st.sampled_from([0.1, 0.3, 0.6]))
        speaker = draw(st.sampled_from(["A", "B", "C"]))
        mark = draw(st.sampled_from(["", ".", ",", "?"]))  # after the number: a sentence or clause ends there
        words.append(Word(word=f"w{i}{mark}", start=round(time, 3), end=round(time + length, 3), score=0.9,
                          speaker=speaker))  # fmt: skip
        turns.append((time - draw(st.sampled_from([0.0, 0.2])), time + length, speaker))
        time += length
    return words, turns


@PROPERTY
@given(conversations())
def test_settling_never_changes_a_words_text_or_times(conversation: tuple[list[Word], list[Turn]]) -> None:
    words, turns = conversation
    settled = settle_speakers(words, turns, turns)
    assert [(w.word, w.start, w.end, w.score) for w in settled] == [(w.word, w.start, w.end, w.score) for w in words]
    assert {w.speaker for w in settled} <= {w.speaker for w in words}


@PROPERTY
@given(conversations())
def test_one_speaker_stays_untouched(conversation: tuple[list[Word], list[Turn]]) -> None:
    words, turns = conversation
    alone = [w.model_copy(update={"speaker": "A"}) for w in words]
    merged: list[Turn] = [(min(t[0] for t in turns), max(t[1] for t in turns), "A")]
    assert settle_speakers(alone, merged, merged) == alone


@PROPERTY
@given(conversations())
def test_a_real_long_turn_keeps_its_words(conversation: tuple[list[Word], list[Turn]]) -> None:
    """A run of one speaker's words set off by a long pause on both sides, during which that speaker talks for a
    second or more, is never given to another speaker."""
    words, turns = conversation
    settled = settle_speakers(words, turns, turns)
    for start in range(len(words)):
        for stop in range(start + 1, len(words) + 1):
            run = words[start:stop]
            one_speaker = len({w.speaker for w in run}) == 1
            paused_before = start == 0 or run[0].start - words[start - 1].end >= 1.0
            paused_after = stop == len(words) or words[stop].start - run[-1].end >= 1.0
            talking = sum(
                min(b, run[-1].end) - max(a, run[0].start)
                for a, b, who in turns
                if who == run[0].speaker and a < run[-1].end and b > run[0].start
            )
            if one_speaker and paused_before and paused_after and talking >= 1.0:
                note(f"{[(w.word, w.start, w.end, w.speaker) for w in words]} {turns}")
                assert {w.speaker for w in settled[start:stop]} == {run[0].speaker}


def talking_seconds(turns: list[Turn], speaker: str | None, start: float, end: float) -> float:
    """Seconds of [start, end] during which ``speaker`` talks (their overlapping turns counted once)."""
    pieces = sorted((max(a, start), min(b, end)) for a, b, who in turns if who == speaker and a < end and b > start)
    total, reached = 0.0, start
    for a, b in pieces:
        total += max(0.0, b - max(a, reached))
        reached = max(reached, b)
    return total


@PROPERTY
@given(conversations())
def test_a_long_run_inside_a_sentence_keeps_its_words(conversation: tuple[list[Word], list[Turn]]) -> None:
    """A run of one speaker's words within one sentence, during which that speaker talks for LONG_TURN seconds or
    more, keeps its speaker whatever sets it off (no pause or punctuation needed)."""
    words, turns = conversation
    settled = settle_speakers(words, turns, turns)
    for start in range(len(words)):
        for stop in range(start + 1, len(words) + 1):
            run = words[start:stop]
            one_speaker = len({w.speaker for w in run}) == 1
            one_sentence = not any(w.word.endswith(SENTENCE_END) for w in words[start : stop - 1])
            talking = talking_seconds(turns, run[0].speaker, run[0].start, run[-1].end)
            if one_speaker and one_sentence and talking >= LONG_TURN:
                note(f"{[(w.word, w.start, w.end, w.speaker) for w in words]} {turns}")
                assert {w.speaker for w in settled[start:stop]} == {run[0].speaker}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), st.integers(1, 4))
def test_rows_keep_every_word_and_never_mix_speakers(conversation: tuple[list[Word], list[Turn]], rows: int) -> None:
    """Through the whole assignment (word by word, settled, rows split where the speaker changes): every word is
    still there with its text and times, in order, and no row has two speakers."""
    words, turns = conversation
    unlabelled = [w.model_copy(update={"speaker": None}) for w in words]
    size = -(-len(unlabelled) // rows)
    segments = [
        Segment(id=k, start=part[0].start, end=part[-1].end, text=" ".join(w.word for w in part), words=part)
        for k, part in enumerate(unlabelled[i : i + size] for i in range(0, len(unlabelled), size))
    ]
    out, _ = assign_speakers(segments, turns, turns)
    got = [w for row in out for w in row.words]
    assert [(w.word, w.start, w.end) for w in got] == [(w.word, w.start, w.end) for w in words]
    for row in out:
        assert {w.speaker for w in row.words} == {row.speaker}
        assert row.text.split() == [w.word for w in row.words]
