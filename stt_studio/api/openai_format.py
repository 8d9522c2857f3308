"""A transcript in the shapes of OpenAI's audio API (``response_format``): json, text, srt, vtt, verbose_json and
diarized_json, field for field as OpenAI's clients parse them.

Whisper's decoder statistics that STT Studio does not keep are given neutral values, documented in the schema:
``tokens`` is empty, ``temperature``, ``avg_logprob`` and ``no_speech_prob`` are 0. ``compression_ratio`` is
computed from the text as Whisper does (zlib).
"""

from __future__ import annotations

import string
import zlib
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from stt_studio.engine.options import Task
from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.exports import ExportOptions, export

ResponseFormat = Literal["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]
RESPONSE_FORMATS: tuple[str, ...] = get_args(ResponseFormat)
TEXT_FORMATS = frozenset({"text", "srt", "vtt"})
Granularity = Literal["word", "segment"]


# --- the shapes, for the OpenAPI document (OpenAI's own names) ---------------------------------------------------
class TranscriptionUsage(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: float = Field(description="Length of the audio")


class Transcription(BaseModel):
    """response_format=json"""

    text: str


class TranscriptionSegment(BaseModel):
    id: int
    seek: int = Field(description="Start of the segment in 10 ms frames")
    start: float
    end: float
    text: str
    tokens: list[int] = Field(description="Always empty: token ids are not kept")
    temperature: float = Field(description="Always 0")
    avg_logprob: float = Field(description="Always 0: not kept")
    compression_ratio: float = Field(description="zlib compression ratio of the text, as Whisper computes it")
    no_speech_prob: float = Field(description="Always 0: segments come from detected speech")
    speaker: str | None = Field(default=None, description="Addition: the speaker label, when diarized (diarize=true)")


class TranscriptionWord(BaseModel):
    word: str
    start: float
    end: float


class TranscriptionVerbose(BaseModel):
    """response_format=verbose_json"""

    task: Task = Field(default="transcribe", description="translate on /v1/audio/translations")
    language: str = Field(description="The language's English name, lower case (e.g. english), as OpenAI gives it")
    duration: float
    text: str
    segments: list[TranscriptionSegment] | None = Field(
        None, description="With timestamp_granularities[]=segment, or when no granularity is asked for"
    )
    words: list[TranscriptionWord] | None = Field(default=None, description="With timestamp_granularities[]=word")
    usage: TranscriptionUsage


class TranscriptionDiarizedSegment(BaseModel):
    type: Literal["transcript.text.segment"] = "transcript.text.segment"
    id: str
    start: float
    end: float
    text: str
    speaker: str = Field(
        description="The name of known_speaker_names[] whose reference clip matched this speaker; else A, B, … in "
        "order of first appearance (OpenAI's labels); ? where none was found"
    )


class TranscriptionDiarized(BaseModel):
    """response_format=diarized_json (always diarized)"""

    task: Task = Field(default="transcribe", description="translate on /v1/audio/translations")
    duration: float
    text: str
    segments: list[TranscriptionDiarizedSegment]
    usage: TranscriptionUsage


# --- rendering ---------------------------------------------------------------------------------------------------
def language_name(code: str) -> str:
    """OpenAI's ``language``: the English name ("english") of a Whisper language code; the code when unknown."""
    from whisperx.utils import LANGUAGES  # a plain table; importing it loads nothing else

    name: str = LANGUAGES.get(code, code)
    return name


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 3) if data else 0.0


def _segment(segment: Segment, names: Mapping[str, str]) -> TranscriptionSegment:
    return TranscriptionSegment(
        id=segment.id,
        seek=int(segment.start * 100),
        start=segment.start,
        end=segment.end,
        text=segment.text,
        tokens=[],
        temperature=0.0,
        avg_logprob=0.0,
        compression_ratio=compression_ratio(segment.text),
        no_speech_prob=0.0,
        speaker=names.get(segment.speaker, segment.speaker) if segment.speaker is not None else None,
    )


def _usage(result: TranscriptionResult) -> TranscriptionUsage:
    return TranscriptionUsage(seconds=result.duration)


def verbose(
    result: TranscriptionResult, granularities: list[Granularity], names: Mapping[str, str] | None = None
) -> TranscriptionVerbose:
    segments = "segment" in granularities or not granularities
    return TranscriptionVerbose(
        task=result.task,
        language=language_name(result.language),
        duration=result.duration,
        text=result.text,
        segments=[_segment(s, names or {}) for s in result.segments] if segments else None,
        words=[
            TranscriptionWord(word=w.word.strip(), start=w.start, end=w.end) for s in result.segments for w in s.words
        ]
        if "word" in granularities
        else None,
        usage=_usage(result),
    )


def _letter(index: int) -> str:
    """A, B, … Z, AA, AB, …"""
    letters = string.ascii_uppercase
    head, last = divmod(index, len(letters))
    return (_letter(head - 1) if head else "") + letters[last]


def diarized(result: TranscriptionResult, names: Mapping[str, str] | None = None) -> TranscriptionDiarized:
    """``names``: speakers (labels) a known speaker's reference matched; the others get letters, A first."""
    letters: dict[str, str] = dict(names or {})
    lettered = 0
    for segment in result.segments:
        if segment.speaker is not None and segment.speaker not in letters:
            letters[segment.speaker] = _letter(lettered)
            lettered += 1
    return TranscriptionDiarized(
        task=result.task,
        duration=result.duration,
        text=result.text,
        segments=[
            TranscriptionDiarizedSegment(
                id=f"seg_{s.id}",
                start=s.start,
                end=s.end,
                text=s.text,
                speaker=letters[s.speaker] if s.speaker is not None else "?",
            )
            for s in result.segments
        ],
        usage=_usage(result),
    )


def render(
    result: TranscriptionResult,
    fmt: ResponseFormat,
    granularities: list[Granularity],
    names: Mapping[str, str] | None = None,
) -> str | dict[str, Any]:
    """The body for ``fmt``: text for text, srt and vtt; a JSON object otherwise. ``names``: the speakers (labels)
    that known speakers' references named, for diarized_json and verbose_json."""
    if fmt == "text":
        return result.text + "\n"
    if fmt in ("srt", "vtt"):
        return export(result, fmt, ExportOptions())
    if fmt == "verbose_json":
        return verbose(result, granularities, names).model_dump(mode="json", exclude_none=True)
    if fmt == "diarized_json":
        return diarized(result, names).model_dump(mode="json")
    return Transcription(text=result.text).model_dump(mode="json")
