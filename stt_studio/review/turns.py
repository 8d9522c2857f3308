"""Speaker turns: consecutive segments of one speaker read as one paragraph.

Grouping is presentation only: the segments stay the transcript, and a ``TurnLayout`` maps between a turn's row
(and a word's place in it) and the segment (and the word's place in that segment)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from stt_studio.engine.result import Segment, Word
from stt_studio.review.words import WordRef


class TurnLayout:
    """Rows of segments: with ``grouped``, one row per run of segments of one speaker; else one row per segment.

    Segments without a speaker are never grouped (nothing says they are one person's turn)."""

    def __init__(self, segments: Sequence[Segment], *, grouped: bool) -> None:
        firsts: list[int] = []
        for index, segment in enumerate(segments):
            previous = segments[index - 1] if index else None
            joins = (
                grouped and previous is not None and segment.speaker is not None and segment.speaker == previous.speaker
            )
            if not joins:
                firsts.append(index)
        self._firsts = firsts
        self._ends = [*firsts[1:], len(segments)] if firsts else []
        spans = list(zip(firsts, self._ends, strict=True))
        self._row_of = [row for row, (first, end) in enumerate(spans) for _ in range(first, end)]
        self._word_offsets: list[int] = []
        """Per segment: how many words of its row come before its first."""
        self._rows = [_turn_segment(segments[first:end], self._word_offsets) for first, end in spans]
        self.grouped = grouped

    def __len__(self) -> int:
        return len(self._rows)

    def row_segment(self, row: int) -> Segment:
        """Row ``row`` as one segment: the text and words of its segments in order, from the first's start to the
        last's end (a single segment is itself)."""
        return self._rows[row]

    def segments_of(self, row: int) -> range:
        return range(self._firsts[row], self._ends[row])

    def row_of(self, segment: int) -> int:
        return self._row_of[segment]

    def to_row_word(self, ref: WordRef) -> WordRef:
        """The document's word ``ref`` as (row, word in the row's words)."""
        return WordRef(self._row_of[ref.row], self._word_offsets[ref.row] + ref.word)

    def to_segment_word(self, row: int, word: int) -> WordRef:
        """Word ``word`` of row ``row`` as (segment, word in the segment)."""
        segments = self.segments_of(row)
        offsets = [self._word_offsets[segment] for segment in segments]
        segment = segments[bisect_right(offsets, word) - 1]
        return WordRef(segment, word - self._word_offsets[segment])


def _turn_segment(segments: Sequence[Segment], word_offsets: list[int]) -> Segment:
    words: list[Word] = []
    for segment in segments:
        word_offsets.append(len(words))
        words.extend(segment.words)
    if len(segments) == 1:
        return segments[0]
    first, last = segments[0], segments[-1]
    text = " ".join(part for part in (segment.text.strip() for segment in segments) if part)
    return Segment.model_construct(
        id=first.id, start=first.start, end=last.end, text=text, speaker=first.speaker, words=words
    )
