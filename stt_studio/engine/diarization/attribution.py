"""Speakers settled on words at turn boundaries, after each word got the speaker the diarization had there.

Word-level assignment alone carries a sentence's first or last word to the neighbouring speaker whenever the
diarization's turn boundary is a few hundred milliseconds off ("So" or "I" alone on a row under the wrong name).
Here a sentence's words go to the speaker who says most of it, and a lone word between two words of one speaker
takes theirs — unless the other speaker's turn there is *real*: it is in the exclusive (one speaker at a time)
diarization, long enough, and set off by a pause or by punctuation on both sides, or that speaker talks for a second
or more during those words (a whole turn, whatever Whisper's times and punctuation say). "Yeah." between two long turns
is real and stays. Words whose speaker stays in doubt (voices overlapping, a very short turn) are marked, so the
review's low-confidence pass visits them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from stt_studio.engine.result import Word

Turn = tuple[float, float, str]

SENTENCE_END = (".", "?", "!", "…", "\u3002", "\uff1f", "\uff01")  # and the CJK full stop, ?, !
CLAUSE_END = (*SENTENCE_END, ",", ";", ":", "\u3001", "\uff0c")
CLOSING_MARKS = "\"'”’»)]"

CONFIRMING_PAUSE = 0.25
"""Seconds of silence between two words that mark where one speaker stops and another starts."""
SHORTEST_REAL_TURN = 0.3
"""A turn under this many seconds is not taken on its own word, however it is set off."""
LONG_TURN = 1.0
"""A run of words during which its speaker talks this many seconds (exclusive diarization) is real even when
nothing sets it off: Whisper's word times can run over the pause between two turns, and a sentence end can be
missing, and a whole turn must not go to the other speaker for that."""
UNCERTAIN_TURN = 0.5
"""A word whose own turn is shorter than this, or that overlaps another voice for half its length, is in doubt."""


@dataclass
class _Word:
    word: Word
    speaker: str | None


class _OwnTurns:
    """Each speaker's exclusive turns, for the seconds of them around a stretch of time."""

    def __init__(self, exclusive: Sequence[Turn]) -> None:
        by_speaker: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for start, end, speaker in sorted(exclusive):
            by_speaker[speaker].append((start, end))
        self._turns = dict(by_speaker)
        self._ends = {speaker: [end for _, end in turns] for speaker, turns in self._turns.items()}

    def lengths(self, speaker: str | None, start: float, end: float) -> list[float]:
        """How long each of ``speaker``'s turns that overlap [start, end] lasts (exclusive turns don't overlap, so
        their ends are in order too)."""
        if speaker not in self._turns:
            return []
        found = []
        for a, b in self._turns[speaker][bisect_right(self._ends[speaker], start) :]:
            if a >= end:
                break
            found.append(b - a)
        return found

    def seconds(self, speaker: str | None, start: float, end: float) -> float:
        """Seconds of [start, end] during which ``speaker`` has the floor."""
        if speaker not in self._turns:
            return 0.0
        total = 0.0
        for a, b in self._turns[speaker][bisect_right(self._ends[speaker], start) :]:
            if a >= end:
                break
            total += min(b, end) - max(a, start)
        return total


def settle_speakers(words: Sequence[Word], exclusive: Sequence[Turn], turns: Sequence[Turn]) -> list[Word]:
    """``words`` (in time order, each with the speaker word-level assignment gave it) with their speakers settled
    by sentence and by neighbours, and ``speaker_uncertain`` set where overlap or a very short turn leaves it in
    doubt. ``exclusive`` is the one-speaker-at-a-time diarization, ``turns`` the full one (overlaps included)."""
    items = [_Word(w, w.speaker) for w in words]
    own = _OwnTurns(exclusive)
    for sentence in _sentences(items):
        _settle_sentence(sentence, items, own)
    _settle_lone_words(items, own)
    several_voices = len({speaker for _, _, speaker in turns}) > 1  # with one, nobody else could have said it
    return [
        item.word.model_copy(
            update={"speaker": item.speaker, "speaker_uncertain": several_voices and _in_doubt(item, own, turns)}
        )
        for item in items
    ]


def _ends(word: Word, marks: tuple[str, ...]) -> bool:
    return word.word.strip().rstrip(CLOSING_MARKS).endswith(marks)


def _sentences(items: list[_Word]) -> list[range]:
    sentences, start = [], 0
    for i, item in enumerate(items):
        if _ends(item.word, SENTENCE_END) or i == len(items) - 1:
            sentences.append(range(start, i + 1))
            start = i + 1
    return sentences


def _runs(items: list[_Word], span: range) -> list[range]:
    """Maximal runs of words with one speaker, within ``span``."""
    runs: list[range] = []
    start = span.start
    for i in span:
        if i + 1 == span.stop or items[i + 1].speaker != items[i].speaker:
            runs.append(range(start, i + 1))
            start = i + 1
    return runs


def _break_before(items: list[_Word], i: int) -> bool:
    """A pause or punctuation between word ``i - 1`` and word ``i`` (the edges of the transcript count)."""
    if i <= 0 or i >= len(items):
        return True
    before = items[i - 1].word
    return items[i].word.start - before.end >= CONFIRMING_PAUSE or _ends(before, CLAUSE_END)


def _span(items: list[_Word], run: range) -> tuple[float, float]:
    return items[run.start].word.start, max(items[i].word.end for i in run)


def _whole_run(items: list[_Word], run: range) -> range:
    """``run`` widened to every neighbouring word of its speaker, past sentence ends too."""
    start, stop = run.start, run.stop
    while start > 0 and items[start - 1].speaker == items[run.start].speaker:
        start -= 1
    while stop < len(items) and items[stop].speaker == items[run.start].speaker:
        stop += 1
    return range(start, stop)


def _real(items: list[_Word], run: range, own: _OwnTurns) -> bool:
    """The run's speaker talks for LONG_TURN seconds during it; or the run is set off on both sides and its speaker
    has turns long enough during it and the words of theirs around it (a one-word sentence that opens a long turn
    is that turn's)."""
    speaker = items[run.start].speaker
    if own.seconds(speaker, *_span(items, run)) >= LONG_TURN:
        return True
    if not (_break_before(items, run.start) and _break_before(items, run.stop)):
        return False
    return sum(own.lengths(speaker, *_span(items, _whole_run(items, run)))) >= SHORTEST_REAL_TURN


def _settle_sentence(sentence: range, items: list[_Word], own: _OwnTurns) -> None:
    said: dict[str | None, float] = defaultdict(float)
    for i in sentence:
        said[items[i].speaker] += max(items[i].word.end - items[i].word.start, 0.01)
    most = max(said, key=lambda speaker: said[speaker])
    for run in _runs(items, sentence):
        if items[run.start].speaker == most:
            continue
        # The whole run, or any part of it set off on its own, may be real; the rest goes to the sentence's speaker.
        cuts = [run.start, *(i for i in range(run.start + 1, run.stop) if _break_before(items, i)), run.stop]
        kept: set[int] = set()
        for first, start in enumerate(cuts[:-1]):
            for stop in cuts[first + 1 :]:
                if _real(items, range(start, stop), own):
                    kept.update(range(start, stop))
        for i in run:
            if i not in kept:
                items[i].speaker = most


def _settle_lone_words(items: list[_Word], own: _OwnTurns) -> None:
    for i in range(1, len(items) - 1):
        neighbours = items[i - 1].speaker
        lone = items[i].speaker != neighbours and items[i + 1].speaker == neighbours
        if lone and not _real(items, range(i, i + 1), own):
            items[i].speaker = neighbours


def _in_doubt(item: _Word, own: _OwnTurns, turns: Sequence[Turn]) -> bool:
    word = item.word
    length = max(word.end - word.start, 0.01)
    if _seconds_with_several_voices(word.start, word.end, turns) >= length / 2:
        return True
    longest = max(own.lengths(item.speaker, word.start, word.end), default=0.0)
    return 0 < longest < UNCERTAIN_TURN


def _seconds_with_several_voices(start: float, end: float, turns: Sequence[Turn]) -> float:
    """Seconds of [start, end] during which at least two speakers' turns are on."""
    edges: list[tuple[float, int]] = []
    for a, b, _ in turns:
        a, b = max(a, start), min(b, end)
        if a < b:
            edges += [(a, 1), (b, -1)]
    edges.sort()
    seconds, on, since = 0.0, 0, start
    for time, step in edges:
        if on >= 2:
            seconds += time - since
        on += step
        since = time
    return seconds
