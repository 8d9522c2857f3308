"""Turn raw ASR/alignment output into clean segments: sentence splits, complete and ordered word times."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stt_studio.engine.result import Segment, Word

_SENTENCE_END = (".", "?", "!", "。", "？", "！")  # noqa: RUF001  (CJK sentence ends)
_MAX_SEGMENT_SECONDS = 15.0


@dataclass
class RawWord:
    word: str
    start: float | None
    end: float | None
    score: float


def _fill_missing_times(words: list[RawWord], seg_start: float, seg_end: float) -> None:
    """Alignment leaves words it can't place (digits, symbols) without times: put them between neighbours."""
    for i, w in enumerate(words):
        if w.start is None or w.end is None:
            prev_end = next((p.end for p in reversed(words[:i]) if p.end is not None), seg_start)
            next_start = next((n.start for n in words[i + 1 :] if n.start is not None), seg_end)
            w.start = prev_end if w.start is None else w.start
            w.end = max(w.start, next_start) if w.end is None else w.end


def _ordered(words: list[RawWord], lo: float, hi: float) -> list[tuple[Word, str]]:
    """Clamp into [lo, hi] and make starts non-decreasing, each word ending no earlier than it starts.

    Returns each word with its original spelling (leading space included, or not for languages written
    without spaces) so segment text can be rebuilt exactly.
    """
    out: list[tuple[Word, str]] = []
    prev_start = lo
    for w in words:
        assert w.start is not None and w.end is not None
        start = min(max(w.start, prev_start, lo), hi)
        end = min(max(w.end, start), hi)
        word = Word(word=w.word.strip(), start=round(start, 3), end=round(end, 3), score=round(w.score, 3))
        out.append((word, w.word))
        prev_start = start
    return out


def build_segments(
    pieces: Iterable[tuple[float, float, Sequence[RawWord]]], duration: float, *, split_sentences: bool
) -> list[Segment]:
    """``pieces`` are (start, end, words) per ASR or alignment segment, in time order."""
    segments: list[Segment] = []
    for seg_start, seg_end, raw in pieces:
        words = [RawWord(w.word, w.start, w.end, w.score) for w in raw if w.word.strip()]
        if not words:
            continue
        _fill_missing_times(words, seg_start, seg_end)
        lo = segments[-1].end if segments else 0.0
        ordered = _ordered(words, max(0.0, min(seg_start, words[0].start or seg_start), lo), duration)
        for group in _split(ordered) if split_sentences else [ordered]:
            segments.append(
                Segment(
                    id=len(segments),
                    start=group[0][0].start,
                    end=max(w.end for w, _ in group),
                    text="".join(spelling for _, spelling in group).strip(),
                    words=[w for w, _ in group],
                )
            )
    return segments


def _split(words: list[tuple[Word, str]]) -> list[list[tuple[Word, str]]]:
    """Split a ≤ 30 s ASR chunk at sentence ends (or every ~15 s of unpunctuated speech) for readability."""
    groups: list[list[tuple[Word, str]]] = []
    current: list[tuple[Word, str]] = []
    for item in words:
        current.append(item)
        too_long = current[-1][0].end - current[0][0].start >= _MAX_SEGMENT_SECONDS
        if item[0].word.endswith(_SENTENCE_END) or too_long:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups
