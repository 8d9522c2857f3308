"""The review's edits as pure functions: word timings survive edits, split and merge lose nothing, lookups by time."""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn, TranscriptionResult, Word
from stt_studio.review.editing import (
    INSERTED_WORD_SECONDS,
    EditError,
    delete_segment,
    edit_segment_text,
    find_replace,
    merge_with_next,
    set_segment_speaker,
    set_word_checked,
    split_segment,
    tokenize,
)
from stt_studio.review.words import WordIndex, WordRef, needs_check, word_spans


def _segment(index: int, start: float, texts: list[str], *, speaker: str | None = None, gap: float = 0.1) -> Segment:
    words = []
    t = start
    for i, text in enumerate(texts):
        words.append(Word(word=text, start=round(t, 3), end=round(t + 0.3, 3), score=0.2 + 0.07 * i, speaker=speaker))
        t += 0.3 + gap
    return Segment(id=index, start=start, end=words[-1].end, text=" ".join(texts), words=words, speaker=speaker)


def _result(*segments: Segment, turns: list[SpeakerTurn] | None = None) -> TranscriptionResult:
    speakers = sorted({s.speaker for s in segments if s.speaker})
    return TranscriptionResult(
        text=" ".join(s.text for s in segments), language="en", duration=segments[-1].end + 1, segments=list(segments),
        processing_time=1.0, model="tiny.en", device="cpu", word_timestamps="whisper",
        speakers=[SpeakerSummary(speaker=s, speaking_time=1.0) for s in speakers] or None, speaker_turns=turns,
    )  # fmt: skip


def _three() -> TranscriptionResult:
    return _result(
        _segment(0, 0.0, ["The", "quick", "round", "fox", "jumps."], speaker="SPEAKER_00"),
        _segment(1, 3.0, ["Call", "the", "office", "tomorrow."], speaker="SPEAKER_01"),
        _segment(2, 6.0, ["Good", "morning", "everyone."], speaker="SPEAKER_00"),
        turns=[
            SpeakerTurn(start=0.0, end=2.5, speaker="SPEAKER_00"),
            SpeakerTurn(start=2.8, end=5.0, speaker="SPEAKER_01"),
            SpeakerTurn(start=5.8, end=8.0, speaker="SPEAKER_00"),
        ],
    )


# --- editing text --------------------------------------------------------------------------------------------------
def test_correcting_one_word_changes_only_that_word() -> None:
    before = _three()
    kept = copy.deepcopy(before.model_dump())
    after = edit_segment_text(before, 0, "The quick brown fox jumps.")
    assert before.model_dump() == kept  # the input is left as it was
    old, new = before.segments[0].words, after.segments[0].words
    assert [w.word for w in new] == ["The", "quick", "brown", "fox", "jumps."]
    for i in (0, 1, 3, 4):
        assert new[i] is old[i]  # the very same word: timing, score, speaker
    brown = new[2]
    assert (brown.start, brown.end) == (old[2].start, old[2].end)
    assert brown.edited and brown.score is None and brown.speaker == "SPEAKER_00" and not brown.checked
    assert after.segments[0].text == "The quick brown fox jumps."
    assert after.text == "The quick brown fox jumps. Call the office tomorrow. Good morning everyone."
    assert after.segments[1] is before.segments[1] and after.segments[2] is before.segments[2]
    assert (after.segments[0].start, after.segments[0].end) == (before.segments[0].start, before.segments[0].end)


def test_replaced_words_share_the_span_of_the_words_they_replace() -> None:
    before = _three()
    after = edit_segment_text(before, 1, "Call the head office first thing tomorrow.")
    old, new = before.segments[1].words, after.segments[1].words
    # "office" → "head office first thing": the 4 words share "office"'s span evenly
    assert [w.word for w in new] == ["Call", "the", "head", "office", "first", "thing", "tomorrow."]
    assert new[0] is old[0] and new[1] is old[1] and new[-1] is old[-1]
    spread = new[2:6]
    if not any(w is old[2] for w in spread):  # difflib may keep "office" itself and insert around it
        assert spread[0].start == old[2].start and spread[-1].end == old[2].end
        lengths = {round(w.end - w.start, 3) for w in spread}
        assert max(lengths) - min(lengths) <= 0.002
    assert all(w.start <= v.start for w, v in itertools.pairwise(new))


def test_inserted_words_take_a_slice_of_the_pause_or_none() -> None:
    before = _three()  # 0.1 s between words
    after = edit_segment_text(before, 2, "Good morning dear everyone.")
    _good, morning, dear, everyone = after.segments[2].words
    assert dear.edited and dear.start == morning.end and dear.end == everyone.start  # the whole 0.1 s pause
    tight = _result(_segment(0, 0.0, ["a", "b"], gap=0.0))
    a, inserted, b = edit_segment_text(tight, 0, "a x b").segments[0].words
    assert inserted.start == inserted.end == a.end == b.start  # no pause: zero length at the boundary
    roomy = _result(_segment(0, 0.0, ["a", "b"], gap=2.0))
    a, inserted, b = edit_segment_text(roomy, 0, "a x b").segments[0].words
    assert inserted.start == a.end and inserted.end == pytest.approx(a.end + INSERTED_WORD_SECONDS)
    first, *_ = edit_segment_text(roomy.model_copy(), 0, "so a b").segments[0].words
    assert first.word == "so" and first.end == roomy.segments[0].words[0].start == first.start  # segment starts there


def test_deleting_edge_words_shrinks_the_segment_and_an_empty_text_deletes_it() -> None:
    before = _three()
    after = edit_segment_text(before, 0, "quick round fox")
    segment = after.segments[0]
    assert segment.start == before.segments[0].words[1].start and segment.end == before.segments[0].words[3].end
    emptied = edit_segment_text(before, 1, "   ")
    assert [s.text for s in emptied.segments] == [before.segments[0].text, before.segments[2].text]
    assert [s.id for s in emptied.segments] == [0, 1]


def test_repeated_words_keep_their_own_times() -> None:
    before = _result(_segment(0, 0.0, ["the", "cat", "saw", "the", "dog"]))
    after = edit_segment_text(before, 0, "the cat saw the big dog")
    old, new = before.segments[0].words, after.segments[0].words
    assert [w.word for w in new] == ["the", "cat", "saw", "the", "big", "dog"]
    assert new[0] is old[0] and new[3] is old[3] and new[5] is old[4] and new[4].edited


def test_a_segment_without_word_times_gets_the_text_only() -> None:
    before = _result(Segment(id=0, start=1.0, end=2.0, text="no words here"))
    after = edit_segment_text(before, 0, "no words there")
    assert after.segments[0].text == "no words there" and after.segments[0].words == []
    assert (after.segments[0].start, after.segments[0].end) == (1.0, 2.0)


def test_languages_without_spaces_are_edited_by_character() -> None:
    assert tokenize("你好 世界", "zh") == ["你", "好", "世", "界"]
    segment = Segment(
        id=0, start=0.0, end=0.4, text="你好",
        words=[Word(word="你", start=0.0, end=0.2, score=0.9), Word(word="好", start=0.2, end=0.4, score=0.9)],
    )  # fmt: skip
    before = _result(segment).model_copy(update={"language": "zh"})
    after = edit_segment_text(before, 0, "你们")
    assert after.segments[0].text == "你们" and after.segments[0].words[0] is segment.words[0]


unique_words = st.lists(st.integers(0, 10_000), min_size=1, max_size=25, unique=True).map(
    lambda ids: [f"w{i}" for i in ids]
)


@st.composite
def text_edits(draw: st.DrawFn) -> tuple[list[str], list[str], set[str]]:
    """Unique original words, and a new text that keeps some, drops some and adds fresh words anywhere."""
    words = draw(unique_words)
    new: list[str] = []
    kept: set[str] = set()
    fresh = 0
    for word in words:
        action = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        for _ in range(draw(st.integers(0, 2))):
            new.append(f"n{fresh}")
            fresh += 1
        if action == "keep":
            new.append(word)
            kept.add(word)
        elif action == "replace":
            new.append(f"n{fresh}")
            fresh += 1
    new.extend(f"n{fresh + i}" for i in range(draw(st.integers(0, 2))))
    return words, new, kept


@settings(max_examples=300, deadline=None)
@given(text_edits(), st.floats(0.0, 0.5))
def test_every_unchanged_word_keeps_its_exact_timing(edit: tuple[list[str], list[str], set[str]], gap: float) -> None:
    words, new_tokens, kept = edit
    before = _result(_segment(0, 1.0, words, gap=gap), _segment(1, 100.0, ["after"]))
    old = {w.word: w for w in before.segments[0].words}
    after = edit_segment_text(before, 0, " ".join(new_tokens))
    if not new_tokens:
        assert len(after.segments) == 1
        return
    segment = after.segments[0]
    assert [w.word for w in segment.words] == new_tokens
    assert segment.text == " ".join(new_tokens)
    for word in segment.words:
        if word.word in kept:
            assert word is old[word.word]
        else:
            assert word.edited and word.score is None
    starts = [w.start for w in segment.words]
    assert starts == sorted(starts) and all(w.end >= w.start for w in segment.words)
    span = before.segments[0]
    assert span.start <= segment.start and segment.end <= span.end
    assert all(segment.start <= w.start and w.end <= segment.end for w in segment.words)
    assert after.segments[1] is before.segments[1]


# --- segments ------------------------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(unique_words.filter(lambda w: len(w) >= 2), st.data())
def test_split_then_merge_is_identity_on_words(words: list[str], data: st.DataObject) -> None:
    before = _result(_segment(0, 0.0, ["before"]), _segment(1, 2.0, words), _segment(2, 50.0, ["after"]))
    at = data.draw(st.integers(1, len(words) - 1))
    split = split_segment(before, 1, at)
    head, tail = split.segments[1], split.segments[2]
    assert head.words == before.segments[1].words[:at] and tail.words == before.segments[1].words[at:]
    assert head.start == before.segments[1].start and tail.end == before.segments[1].end
    assert head.end == head.words[-1].end and tail.start == tail.words[0].start
    assert [s.id for s in split.segments] == [0, 1, 2, 3]
    merged = merge_with_next(split, 1)
    assert merged.segments == before.segments
    assert merged.text == before.text


def test_split_needs_words_on_both_sides() -> None:
    before = _three()
    for at in (0, 5, -1):
        with pytest.raises(EditError):
            split_segment(before, 0, at)
    with pytest.raises(EditError):
        split_segment(before, 3, 1)


def test_merge_keeps_every_word_and_gives_them_the_first_speaker() -> None:
    before = _three()
    after = merge_with_next(before, 0)
    merged = after.segments[0]
    old_words = before.segments[0].words + before.segments[1].words
    assert [(w.word, w.start, w.end, w.score) for w in merged.words] == [
        (w.word, w.start, w.end, w.score) for w in old_words
    ]
    assert {w.speaker for w in merged.words} == {"SPEAKER_00"} and merged.speaker == "SPEAKER_00"
    assert merged.text == "The quick round fox jumps. Call the office tomorrow."
    assert (merged.start, merged.end) == (before.segments[0].start, before.segments[1].end)
    assert [s.id for s in after.segments] == [0, 1]
    with pytest.raises(EditError):
        merge_with_next(before, 2)


def test_delete_renumbers_and_keeps_the_rest() -> None:
    before = _three()
    after = delete_segment(before, 0)
    assert [s.id for s in after.segments] == [0, 1]
    assert [s.words for s in after.segments] == [s.words for s in before.segments[1:]]
    assert after.segments[0].words is before.segments[1].words  # a new id, the same words
    assert after.text == "Call the office tomorrow. Good morning everyone."


def test_changing_a_segments_speaker_moves_its_words_turn_and_time() -> None:
    before = _three()
    after = set_segment_speaker(before, 1, "SPEAKER_00")
    segment = after.segments[1]
    assert segment.speaker == "SPEAKER_00" and {w.speaker for w in segment.words} == {"SPEAKER_00"}
    assert [(w.start, w.end) for w in segment.words] == [(w.start, w.end) for w in before.segments[1].words]
    turns = after.speaker_turns
    assert turns is not None
    inside = [t for t in turns if t.start < segment.end and t.end > segment.start]
    assert [(t.start, t.end, t.speaker) for t in inside] == [(segment.start, segment.end, "SPEAKER_00")]
    assert any(t.speaker == "SPEAKER_01" for t in turns)  # the parts of its turn outside the segment stay
    times = {s.speaker: s.speaking_time for s in after.speakers or []}
    assert times["SPEAKER_00"] > 4.4 and times["SPEAKER_01"] < 1.0
    assert after.segments[0] is before.segments[0] and after.segments[2] is before.segments[2]
    assert set_segment_speaker(after, 1, "SPEAKER_00") is after
    plain = _result(_segment(0, 0.0, ["a", "b"]))
    labelled = set_segment_speaker(plain, 0, "SPEAKER_00")
    assert labelled.speaker_turns is None
    assert [(s.speaker, s.speaking_time) for s in labelled.speakers or []] == [("SPEAKER_00", 0.7)]


def test_find_replace_counts_and_keeps_other_words() -> None:
    before = _three()
    after, count = find_replace(before, "THE", "a")
    assert count == 2
    assert after.segments[0].text == "a quick round fox jumps." and after.segments[1].text == "Call a office tomorrow."
    assert after.segments[2] is before.segments[2]
    assert after.segments[0].words[1] is before.segments[0].words[1]
    assert find_replace(before, "the", "a", match_case=True)[1] == 1
    assert find_replace(before, "zebra", "a") == (before, 0)
    gone, count = find_replace(before, "Good morning everyone.", "")
    assert count == 1 and len(gone.segments) == 2


def test_checking_a_word_marks_only_it() -> None:
    before = _three()
    after = set_word_checked(before, 0, 3)
    assert after.segments[0].words[3].checked and not before.segments[0].words[3].checked
    assert after.segments[0].words[2] is before.segments[0].words[2]
    assert set_word_checked(after, 0, 3) is after
    assert not set_word_checked(after, 0, 3, checked=False).segments[0].words[3].checked
    with pytest.raises(EditError):
        set_word_checked(before, 0, 9)


# --- finding words -------------------------------------------------------------------------------------------------
def test_the_word_at_a_time() -> None:
    result = _three()
    index = WordIndex(result.segments)
    assert len(index) == 12
    for row, segment in enumerate(result.segments):
        for position, word in enumerate(segment.words):
            assert index.at(word.start) == WordRef(row, position)
            assert index.at((word.start + word.end) / 2) == WordRef(row, position)
    first = result.segments[0].words
    assert index.at((first[0].end + first[1].start) / 2) == WordRef(0, 0)  # a pause in a segment: the word before
    assert index.at(result.segments[0].end + 0.1) is None  # between segments
    assert index.at(-1.0) is None and index.at(100.0) is None


def test_the_words_to_check_in_time_order() -> None:
    result = _three()  # scores 0.2, 0.27, 0.34, … per segment
    index = WordIndex(result.segments)
    expected = [
        WordRef(r, w)
        for r, s in enumerate(result.segments)
        for w, word in enumerate(s.words)
        if (word.score or 1) < 0.3
    ]
    assert index.to_check(0.3) == expected == [WordRef(0, 0), WordRef(0, 1), WordRef(1, 0), WordRef(1, 1),
                                               WordRef(2, 0), WordRef(2, 1)]  # fmt: skip
    assert index.next_to_check(0.3, after=-1) == WordRef(0, 0)
    assert index.next_to_check(0.3, after=0.0, current=WordRef(0, 1)) == WordRef(1, 0)
    assert index.next_to_check(0.3, after=result.segments[1].start + 0.1) == WordRef(1, 1)
    assert index.next_to_check(0.3, after=99) is None
    assert index.previous_to_check(0.3, before=99) == WordRef(2, 1)
    assert index.previous_to_check(0.3, before=0, current=WordRef(1, 0)) == WordRef(0, 1)
    assert index.previous_to_check(0.3, before=0.0) is None
    checked = set_word_checked(result, 1, 0)
    assert WordRef(1, 0) not in WordIndex(checked.segments).to_check(0.3)
    edited = edit_segment_text(result, 0, "A quick round fox jumps.")
    assert WordRef(0, 0) not in WordIndex(edited.segments).to_check(0.3)  # an edited word has no score
    assert not needs_check(Word(word="x", start=0, end=1, score=None), 0.9)


def test_word_spans_find_words_in_the_text() -> None:
    words = [Word(word=w, start=0, end=0, score=1) for w in ("the", "cat", "zebra", "the")]
    assert word_spans("the cat, the end", words) == [(0, 3), (4, 7), None, (9, 12)]
