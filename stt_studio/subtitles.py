"""Subtitle cues (srt, vtt) from a transcript, within the limits the user set.

- A line is at most ``max_line_width`` characters, everything shown counted: the speaker label (``[Diane]: ``) sits
  at the start of each cue's first line, as subtitles for the deaf and hard of hearing put speaker names, and is
  part of that line's width. A label that leaves no room for the first word goes on a line of its own. Only a line
  holding a single word (or a label) longer than the width is longer than the width: words are never split.
- Without ``max_line_count`` every segment is one cue. With it, consecutive segments of one speaker flow into cues
  of at most that many lines, and a pause of more than ``PAUSE_SECONDS`` starts a new cue. (One exception: with a
  count of 1, a cue whose label cannot share a line with its first word has the label's line too.)
- Every cue is shown for a positive time, and for at least ``MIN_CUE_SECONDS`` where that does not run into the
  next cue. A cue with no room at all (words with identical times, the next cue starting at the same instant) is
  given ``MIN_CUE_SECONDS`` and the next cue starts when it ends.

A segment without word times (text only) is cued over its span, its words given times spread by their length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from stt_studio.engine.result import Segment, TranscriptionResult

LANGUAGES_WITHOUT_SPACES = frozenset({"ja", "zh"})
"""Written without spaces between words (WhisperX's list): words are joined directly and wrapped by characters."""

PAUSE_SECONDS = 3.0
"""With a line count, a silence longer than this between two words starts a new cue (as WhisperX does)."""

MIN_CUE_SECONDS = 0.8
"""How long a cue is shown at least, room permitting: a one-word cue timed by its word alone would flash by
(subtitle guidelines ask for about 5/6 s at least)."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class _Passage:
    """Consecutive words that may share cues: one segment, or (with a line count) one speaker's run of them."""

    label: str
    words: list[TimedWord]


def subtitle_cues(
    result: TranscriptionResult,
    *,
    include_speakers: bool = True,
    max_line_width: int | None = None,
    max_line_count: int | None = None,
) -> list[Cue]:
    """The cues of ``result``, in order, timed so that each is shown for a positive time."""
    joiner = "" if result.language in LANGUAGES_WITHOUT_SPACES else " "
    layout = _Layout(joiner, max_line_width, max_line_count)
    passages = _passages(result, include_speakers, joiner, max_line_count)
    return _shown_long_enough([cue for passage in passages for cue in layout.cues(passage)])


def _passages(
    result: TranscriptionResult, include_speakers: bool, joiner: str, max_line_count: int | None
) -> list[_Passage]:
    passages: list[_Passage] = []
    previous_speaker: str | None = None
    for segment in result.segments:
        words = segment_words(segment, joiner)
        if not words:
            continue
        label = f"[{result.speaker_name(segment.speaker)}]: " if include_speakers and segment.speaker else ""
        if max_line_count is not None and passages and segment.speaker == previous_speaker:
            passages[-1].words.extend(words)
        else:
            passages.append(_Passage(label, words))
        previous_speaker = segment.speaker
    return passages


def segment_words(segment: Segment, joiner: str) -> list[TimedWord]:
    if segment.words:
        timed = [TimedWord(_shown(w.word), w.start, w.end) for w in segment.words]
        return [w for w in timed if w.text]
    texts = list(segment.text.replace(" ", "")) if not joiner else segment.text.split()
    texts = [t for t in (_shown(text) for text in texts) if t]
    return _spread(texts, segment.start, segment.end)


def _shown(text: str) -> str:
    """A word as a cue shows it: no surrounding whitespace, and never srt/vtt's time separator."""
    return " ".join(text.split()).replace("-->", "->")


def _spread(texts: Sequence[str], start: float, end: float) -> list[TimedWord]:
    """Times for words known only by their segment's span, shared out by their lengths."""
    total = sum(len(t) for t in texts) or 1
    words, at = [], start
    for text in texts:
        until = at + (end - start) * len(text) / total
        words.append(TimedWord(text, at, until))
        at = until
    return words


class _Layout:
    """Lines and cues of one passage within the width and the line count."""

    def __init__(self, joiner: str, max_line_width: int | None, max_line_count: int | None) -> None:
        self.joiner = joiner
        self.width = max_line_width
        self.count = max_line_count

    def _fits(self, line: str) -> bool:
        return self.width is None or len(line) <= self.width

    def cues(self, passage: _Passage) -> Iterator[Cue]:
        lines: list[str] = []
        line = passage.label
        words: list[TimedWord] = []  # of the cue being built
        line_has_words = False
        for word in passage.words:
            pause = bool(words) and word.start - words[-1].end > PAUSE_SECONDS
            if self.count is not None and words and pause:
                yield self._cue(words, [*lines, line])
                lines, line, words, line_has_words = [], passage.label, [], False
            if not line_has_words:
                if line and not self._fits(line + word.text):
                    lines.append(line.rstrip())  # the label alone: no room beside it for this word
                    line = ""
                line += word.text
            elif self._fits(line + self.joiner + word.text):
                line += self.joiner + word.text
            elif self.count is not None and len(lines) + 1 >= self.count:
                yield self._cue(words, [*lines, line])
                lines, words = [], []
                line = passage.label
                if line and not self._fits(line + word.text):
                    lines.append(line.rstrip())
                    line = ""
                line += word.text
            else:
                lines.append(line)
                line = word.text
            line_has_words = True
            words.append(word)
        if words:
            yield self._cue(words, [*lines, line])

    @staticmethod
    def _cue(words: list[TimedWord], lines: list[str]) -> Cue:
        return Cue(min(w.start for w in words), max(w.end for w in words), tuple(lines))


def _shown_long_enough(cues: Sequence[Cue]) -> list[Cue]:
    """Each cue shown for a positive time (in whole milliseconds, as the formats write them): lengthened up to
    ``MIN_CUE_SECONDS`` as far as the next cue allows; without any room, the next cue waits for it."""
    out: list[Cue] = []
    not_before = 0
    for i, cue in enumerate(cues):
        start = max(milliseconds(cue.start), not_before)
        end = max(milliseconds(cue.end), start)
        wanted = start + milliseconds(MIN_CUE_SECONDS)
        next_start = milliseconds(cues[i + 1].start) if i + 1 < len(cues) else None
        if end < wanted:
            end = max(end, min(wanted, next_start)) if next_start is not None and next_start > start else wanted
        # Only a lengthening of ours delays the next cue; cues that overlapped as spoken are left as they are.
        not_before = end if next_start is not None and end > next_start >= milliseconds(cue.end) else 0
        out.append(Cue(start / 1000, end / 1000, cue.lines))
    return out


def milliseconds(seconds: float) -> int:
    return round(max(seconds, 0.0) * 1000)


def srt_time(seconds: float) -> str:
    hours, minutes, whole, ms = _clock(seconds)
    return f"{hours:02d}:{minutes:02d}:{whole:02d},{ms:03d}"


def vtt_time(seconds: float) -> str:
    """WebVTT's time, its hours only when there are any (as WhisperX writes it)."""
    hours, minutes, whole, ms = _clock(seconds)
    return f"{f'{hours:02d}:' if hours else ''}{minutes:02d}:{whole:02d}.{ms:03d}"


def _clock(seconds: float) -> tuple[int, int, int, int]:
    hours, rest = divmod(milliseconds(seconds), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, ms = divmod(rest, 1000)
    return hours, minutes, whole, ms
