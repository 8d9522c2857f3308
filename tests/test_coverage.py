"""Speech a prompt made Whisper skip: found from the speech turns and the words, decoded again, merged without
duplicates (the engine side runs in tests/test_engine.py)."""

from __future__ import annotations

from stt_studio.engine.coverage import merged, uncovered_speech
from stt_studio.engine.result import Segment, Word
from stt_studio.engine.vad import SpeechChunk, merge_into_chunks


def _segment(text: str, start: float, step: float = 0.4) -> Segment:
    words = [Word(word=w, start=round(start + i * step, 3), end=round(start + i * step + 0.3, 3), score=0.9)
             for i, w in enumerate(text.split())]  # fmt: skip
    return Segment(id=0, start=words[0].start, end=words[-1].end, text=text, words=words)


TURNS = [(0.0, 3.0), (4.0, 7.0), (8.0, 8.5), (9.0, 12.0)]
CHUNKS = merge_into_chunks(TURNS)


def test_the_chunk_keeps_the_turns_it_was_merged_from() -> None:
    assert [chunk.speech for chunk in CHUNKS] == [tuple(TURNS)]
    assert [SpeechChunk(0.0, 12.0)] == CHUNKS  # the turns do not take part in comparisons


def test_turns_without_words_are_found_and_short_ones_left_alone() -> None:
    first = [_segment("one two three four five six seven", 0.1), _segment("nine ten eleven twelve", 9.2)]
    lost = uncovered_speech(CHUNKS, first)
    assert [chunk.speech for chunk in lost] == [((4.0, 7.0),)]  # the 0.5 s turn at 8 s is too short to count


def test_a_turn_with_a_word_or_two_still_counts_as_skipped_but_not_one_with_its_words() -> None:
    sparse = [_segment("one two three four five six seven", 0.1), _segment("hm", 6.5)]
    assert [c.speech for c in uncovered_speech(CHUNKS, sparse)] == [((4.0, 7.0), (9.0, 12.0))]
    full = [_segment("one two three four five six seven", 0.1), _segment("a b c d e f g", 4.1),
            _segment("nine ten eleven twelve", 9.2)]  # fmt: skip
    assert uncovered_speech(CHUNKS, full) == []


def test_segments_decoded_again_are_merged_in_time_order_without_what_the_first_pass_already_said() -> None:
    first = [_segment("the patient was given metoprolol", 0.1), _segment("please send the report", 9.0)]
    again = [
        _segment("at the kowalczyk clinic", 4.2),  # new: kept
        _segment("please send the report", 10.0),  # the first pass has these words (its times were off): dropped
    ]
    result = merged(first, again)
    assert [s.text for s in result] == ["the patient was given metoprolol", "at the kowalczyk clinic",
                                        "please send the report"]  # fmt: skip
    assert [s.id for s in result] == [0, 1, 2]
