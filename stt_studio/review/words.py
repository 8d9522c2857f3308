"""Finding words in a transcript by time, and the words the low-confidence pass visits."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from stt_studio.engine.result import Segment, Word

DEFAULT_LOW_CONFIDENCE = 0.6
"""Words scored under this are left to check (docs/review.md says how it was chosen)."""


class WordRef(NamedTuple):
    """Word ``word`` of segment ``row``."""

    row: int
    word: int


def needs_check(word: Word, threshold: float) -> bool:
    """A word the engine was unsure of (scored under ``threshold``, or its speaker in doubt) that nobody has
    confirmed or changed."""
    if word.checked:
        return False
    return (word.score is not None and word.score < threshold) or (word.speaker_uncertain and not word.edited)


class WordIndex:
    """Every word of a transcript in time order, for lookups by time (bisect over the starts).

    Built again after every edit, so kept to flat lists (a 2-hour transcript has about 20 000 words)."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self._segments = segments
        starts: list[float] = []
        rows: list[int] = []
        positions: list[int] = []
        for row, segment in enumerate(segments):
            for position, word in enumerate(segment.words):
                starts.append(word.start)
                rows.append(row)
                positions.append(position)
        if any(later < earlier for earlier, later in pairwise(starts)):  # edits keep words in order: rarely sorted
            order = sorted(range(len(starts)), key=lambda i: (starts[i], rows[i], positions[i]))
            starts = [starts[i] for i in order]
            rows = [rows[i] for i in order]
            positions = [positions[i] for i in order]
        self._starts, self._rows, self._positions = starts, rows, positions
        self._segment_ends = [segment.end for segment in segments]

    def __len__(self) -> int:
        return len(self._starts)

    def word(self, ref: WordRef) -> Word:
        """The word ``ref`` names; IndexError when there is none."""
        return self._segments[ref.row].words[ref.word]

    def _word_at(self, position: int) -> Word:
        return self._segments[self._rows[position]].words[self._positions[position]]

    def _ref(self, position: int) -> WordRef:
        return WordRef(self._rows[position], self._positions[position])

    def at(self, seconds: float) -> WordRef | None:
        """The word being said at ``seconds``: the last one started by then, while its segment lasts (in a pause
        between two words of a segment the earlier stays current; between segments there is none)."""
        position = bisect_right(self._starts, seconds) - 1
        if position < 0:
            return None
        row = self._rows[position]
        if seconds >= max(self._word_at(position).end, self._segment_ends[row]):
            return None
        return WordRef(row, self._positions[position])

    def to_check(self, threshold: float) -> list[WordRef]:
        """The words left to check, in time order."""
        return [self._ref(i) for i in range(len(self._starts)) if needs_check(self._word_at(i), threshold)]

    def next_to_check(self, threshold: float, after: float, current: WordRef | None = None) -> WordRef | None:
        """The first word left to check that starts after ``after`` seconds (or after ``current``)."""
        here = self._position_of(current)
        start = here + 1 if here is not None else bisect_right(self._starts, after)
        for position in range(start, len(self._starts)):
            if needs_check(self._word_at(position), threshold):
                return self._ref(position)
        return None

    def previous_to_check(self, threshold: float, before: float, current: WordRef | None = None) -> WordRef | None:
        """The last word left to check that starts before ``before`` seconds (or before ``current``)."""
        here = self._position_of(current)
        end = here if here is not None else bisect_left(self._starts, before)
        for position in range(end - 1, -1, -1):
            if needs_check(self._word_at(position), threshold):
                return self._ref(position)
        return None

    def _position_of(self, ref: WordRef | None) -> int | None:
        """Where ``ref`` is in time order; None for no word, or one this transcript does not have."""
        if (
            ref is None
            or not 0 <= ref.row < len(self._segments)
            or not 0 <= ref.word < len(self._segments[ref.row].words)
        ):
            return None
        start = self.word(ref).start
        position = bisect_left(self._starts, start)
        while position < len(self._starts) and self._starts[position] == start:
            if self._rows[position] == ref.row and self._positions[position] == ref.word:
                return position
            position += 1
        return None


def word_spans(text: str, words: Sequence[Word]) -> list[tuple[int, int] | None]:
    """Where each word is in ``text`` (start, end character), found left to right; None for a word not there (a
    segment whose text was written apart from its words)."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for word in words:
        found = text.find(word.word, cursor) if word.word else -1
        if found < 0:
            spans.append(None)
            continue
        spans.append((found, found + len(word.word)))
        cursor = found + len(word.word)
    return spans
