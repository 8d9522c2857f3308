"""Speech the decoder skipped: detected speech turns that no transcribed word covers.

Whisper given a prompt sometimes ends a 30-second window early and drops the speech after it (measured with
tiny.en: a prompt ending in a full stop lost whole sentences). The engine decodes such turns again without the
prompt, so a prompt can improve spelling but never lose speech.
"""

from __future__ import annotations

import bisect
import difflib
import string
from collections.abc import Sequence

from stt_studio.engine.result import Segment
from stt_studio.engine.vad import SpeechChunk, merge_into_chunks

MIN_TURN_SECONDS = 1.0
"""Shorter turns (a cough, a click, "mm") are left alone: too short to hold a sentence Whisper dropped."""
MAX_COVERED = 0.2
"""A turn whose words cover less than this share of it counts as skipped (words leave gaps between them)."""
NEARBY_SECONDS = 30.0
DUPLICATE_SHARE = 0.6
"""A segment decoded again is a duplicate when this share of its words appear, in order, in the first pass's text
within ``NEARBY_SECONDS``."""


def uncovered_speech(chunks: Sequence[SpeechChunk], segments: Sequence[Segment]) -> list[SpeechChunk]:
    """The speech turns of ``chunks`` that ``segments``' words leave (nearly) uncovered, merged into chunks to
    decode again. Segments without word times count with their own span."""
    spans = [(w.start, w.end) for s in segments for w in s.words]
    spans = sorted(spans + [(s.start, s.end) for s in segments if not s.words])
    starts = [start for start, _ in spans]
    lost: list[tuple[float, float]] = []
    for chunk in chunks:
        for start, end in chunk.speech or ((chunk.start, chunk.end),):
            if end - start < MIN_TURN_SECONDS:
                continue
            covered = 0.0
            first = max(0, bisect.bisect_left(starts, start) - 1)  # a word started before the turn may reach into it
            for span_start, span_end in spans[first : bisect.bisect_right(starts, end)]:
                covered += max(0.0, min(end, span_end) - max(start, span_start))
            if covered < MAX_COVERED * (end - start):
                lost.append((start, end))
    return merge_into_chunks(lost)


def merged(first: Sequence[Segment], again: Sequence[Segment]) -> list[Segment]:
    """The first pass's segments and those decoded again, in time order and numbered again. A segment decoded
    again whose words the first pass already has nearby (its word times were off, not its words) is dropped."""
    kept = [segment for segment in again if not _said_nearby(segment, first)]
    ordered = sorted([*first, *kept], key=lambda s: (s.start, s.end))
    return [segment.model_copy(update={"id": i}) for i, segment in enumerate(ordered)]


def _tokens(text: str) -> list[str]:
    return [t for t in (w.strip(string.punctuation).casefold() for w in text.split()) if t]


def _said_nearby(segment: Segment, first: Sequence[Segment]) -> bool:
    words = _tokens(segment.text)
    if not words:
        return True
    near = [s for s in first if s.end >= segment.start - NEARBY_SECONDS and s.start <= segment.end + NEARBY_SECONDS]
    context = _tokens(" ".join(s.text for s in near))
    matched = sum(
        block.size for block in difflib.SequenceMatcher(None, context, words, autojunk=False).get_matching_blocks()
    )
    return matched >= DUPLICATE_SHARE * len(words)
