"""Small helpers the export formats share: a clock and the speaker as people read it."""

from __future__ import annotations

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
