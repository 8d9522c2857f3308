"""The stage outputs a checkpoint keeps, to JSON and back (pure). A ``from_json`` raises ``StageDataError`` on data of
another shape, which the engine takes as a damaged checkpoint: the stage runs again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from stt_studio.engine.result import Segment
from stt_studio.engine.stages import StageOutputs, batch_fingerprint, batch_key
from stt_studio.engine.vad import SpeechChunk
from stt_studio.engine.words import RawWord


class StageDataError(ValueError):
    """A checkpoint's data is not what its stage writes."""


@dataclass
class AsrPiece:
    """One of Whisper's segments: what the alignment (or the segment builder) reads of it."""

    start: float
    end: float
    text: str
    words: list[RawWord] = field(default_factory=list)
    """Whisper's own word times; empty when the alignment gives them."""


def partial_segments(pieces: Sequence[AsrPiece], first_id: int) -> list[Segment]:
    """A batch of Whisper's segments as the transcript so far shows them: the result's segment shape, numbered on
    from ``first_id``, without words (the alignment gives them) and without the empty ones."""
    said = [p for p in pieces if p.text.strip()]
    return [
        Segment(id=first_id + i, start=round(p.start, 3), end=round(p.end, 3), text=p.text.strip())
        for i, p in enumerate(said)
    ]


def chunks_to_json(chunks: list[SpeechChunk]) -> list[Any]:
    return [[c.start, c.end, [list(s) for s in c.speech]] for c in chunks]


def chunks_from_json(data: Any) -> list[SpeechChunk]:
    try:
        return [
            SpeechChunk(float(start), float(end), tuple((float(a), float(b)) for a, b in speech))
            for start, end, speech in data
        ]
    except (TypeError, ValueError) as exc:
        raise StageDataError(f"speech regions: {exc}") from exc


def pieces_to_json(pieces: list[AsrPiece]) -> list[Any]:
    return [[p.start, p.end, p.text, [[w.word, w.start, w.end, w.score] for w in p.words]] for p in pieces]


def pieces_from_json(data: Any) -> list[AsrPiece]:
    try:
        return [
            AsrPiece(
                float(start),
                float(end),
                str(text),
                [RawWord(str(w), _time(a), _time(b), float(score)) for w, a, b, score in words],
            )
            for start, end, text, words in data
        ]
    except (TypeError, ValueError) as exc:
        raise StageDataError(f"transcribed segments: {exc}") from exc


def segments_to_json(segments: list[Segment]) -> list[Any]:
    return [s.model_dump(mode="json") for s in segments]


def segments_from_json(data: Any) -> list[Segment]:
    if not isinstance(data, list):
        raise StageDataError("aligned segments: not a list")
    try:
        return [Segment.model_validate(s) for s in data]
    except ValidationError as exc:
        raise StageDataError(f"aligned segments: {exc.errors()[0]['msg']}") from exc


def language_from_json(data: Any) -> str:
    if not isinstance(data, str) or not data:
        raise StageDataError("language: not a language code")
    return data


def _time(value: Any) -> float | None:
    return None if value is None else float(value)


class BatchKeeping:
    """The transcription's checkpoints, one per batch of chunks, and how many were read back."""

    def __init__(self, kept: StageOutputs, transcribing_fp: str) -> None:
        self._kept = kept
        self._fp = transcribing_fp
        self.total = 0
        self.reused = 0

    def load(self, index: int, clips: Sequence[tuple[float, float]]) -> list[AsrPiece] | None:
        self.total += 1
        stored = self._kept.load(batch_key(index), batch_fingerprint(self._fp, index, clips), pieces_from_json)
        if stored is not None:
            self.reused += 1
        return stored

    def save(self, index: int, clips: Sequence[tuple[float, float]], pieces: list[AsrPiece]) -> None:
        self._kept.save(batch_key(index), batch_fingerprint(self._fp, index, clips), pieces_to_json(pieces))
