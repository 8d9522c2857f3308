"""Small helpers the export formats share: a clock and the speaker as people read it."""

from __future__ import annotations

from dataclasses import dataclass, field

from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.exports.options import ExportOptions


def clock(seconds: float, *, millis: bool) -> str:
    total_ms = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, ms = divmod(rest, 1000)
    text = f"{hours:02d}:{minutes:02d}:{whole:02d}"
    return f"{text}.{ms:03d}" if millis else text


def shown_speaker(result: TranscriptionResult, segment: Segment, options: ExportOptions) -> str | None:
    if segment.speaker is None or not options.include_speakers:
        return None
    return result.speaker_name(segment.speaker)


@dataclass
class ReadTurn:
    """A run of consecutive segments of one speaker as people read it (``speaker`` None: a segment without one)."""

    speaker: str | None
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(text for segment in self.segments if (text := segment.text.strip()))


def speaker_turns(result: TranscriptionResult, options: ExportOptions) -> list[ReadTurn]:
    """The transcript as turns of a conversation: consecutive segments of one shown speaker make one turn; a
    segment without a speaker (or every segment, with speakers left out) is a turn of its own."""
    turns: list[ReadTurn] = []
    for segment in result.segments:
        speaker = shown_speaker(result, segment, options)
        if turns and speaker is not None and turns[-1].speaker == speaker:
            turns[-1].segments.append(segment)
        else:
            turns.append(ReadTurn(speaker, [segment]))
    return turns
