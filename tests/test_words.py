"""Unit tests of segment building from raw word timings (no model)."""

from __future__ import annotations

from stt_studio.engine.words import RawWord, build_segments


def w(word: str, start: float | None, end: float | None) -> RawWord:
    return RawWord(word, start, end, 0.9)


def test_splits_chunks_at_sentence_ends() -> None:
    words = [
        w(" Hello", 0.0, 0.4),
        w(" there.", 0.4, 0.8),
        w(" How", 1.0, 1.2),
        w(" are", 1.2, 1.3),
        w(" you?", 1.3, 1.6),
    ]
    segments = build_segments([(0.0, 1.6, words)], 2.0, split_sentences=True)
    assert [s.text for s in segments] == ["Hello there.", "How are you?"]
    assert segments[1].start == 1.0 and segments[1].end == 1.6
    assert [s.id for s in segments] == [0, 1]


def test_missing_word_times_are_filled_between_neighbours() -> None:
    words = [w(" Room", 1.0, 1.3), w(" 101", None, None), w(" please", 2.0, 2.4)]
    [segment] = build_segments([(1.0, 2.4, words)], 3.0, split_sentences=False)
    filled = segment.words[1]
    assert 1.3 <= filled.start <= filled.end <= 2.0


def test_times_are_clamped_and_monotone() -> None:
    words = [w(" a", 0.5, 0.6), w(" b", 0.4, 0.45), w(" c", 2.9, 3.5)]
    [segment] = build_segments([(0.5, 3.5, words)], 3.0, split_sentences=False)
    starts = [x.start for x in segment.words]
    assert starts == sorted(starts)
    assert segment.end <= 3.0


def test_languages_without_spaces_keep_their_spelling() -> None:
    words = [w("你好", 0.0, 0.5), w("世界", 0.5, 1.0)]
    [segment] = build_segments([(0.0, 1.0, words)], 1.0, split_sentences=True)
    assert segment.text == "你好世界"


def test_empty_words_are_dropped() -> None:
    assert build_segments([(0.0, 1.0, [w(" ", 0.0, 1.0)])], 1.0, split_sentences=True) == []
