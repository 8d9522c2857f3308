"""The docx export: a heading and the recording's details, then one paragraph per speaker's run of segments."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from stt_studio.engine.result import TranscriptionResult
from stt_studio.exports.common import clock, speaker_turns
from stt_studio.exports.options import ExportOptions

APP_AUTHOR = "STT Studio"
"""The author (and last editor) of the docx files written: the document properties' default is python-docx's."""


def _local_time(moment: datetime) -> datetime:
    """``moment`` in this computer's time zone; a naive time is UTC (as the job store and the API keep them)."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)).astimezone()


def _metadata(
    result: TranscriptionResult, options: ExportOptions, title: str | None, transcribed: datetime
) -> list[tuple[str, str]]:
    rows = [("File", title)] if title else []
    rows += [
        ("Duration", clock(result.duration, millis=False)),
        ("Language", result.language),
        ("Model", result.model),
        ("Device", result.device),
        ("Transcribed", _local_time(transcribed).strftime("%Y-%m-%d %H:%M")),
    ]
    if options.include_speakers and result.speakers:
        speakers = ", ".join(f"{result.speaker_name(s.speaker)} ({s.speaking_time:.0f} s)" for s in result.speakers)
        rows.append(("Speakers", speakers))
    return rows


def docx_document(
    result: TranscriptionResult, options: ExportOptions, title: str | None, date: datetime | None
) -> bytes:
    import docx

    heading = title or "Transcript"
    transcribed = date or datetime.now(timezone.utc)
    document = docx.Document()
    properties = document.core_properties
    properties.title = heading
    properties.author = properties.last_modified_by = APP_AUTHOR
    properties.comments = f"Transcribed by {APP_AUTHOR} with {result.model}"
    properties.created = _local_time(transcribed).astimezone(timezone.utc)
    properties.modified = datetime.now(timezone.utc)
    document.add_heading(heading, level=0)
    for label, value in _metadata(result, options, title, transcribed):
        row = document.add_paragraph()
        row.add_run(f"{label}: ").bold = True
        row.add_run(value)
    document.add_heading("Transcript", level=1)
    for turn in speaker_turns(result, options):  # one paragraph per speaker's turn
        block = document.add_paragraph()
        if turn.speaker is not None:
            block.add_run(turn.speaker).bold = True
        if options.include_timestamps:
            block.add_run(f"{' ' if turn.speaker else ''}[{clock(turn.segments[0].start, millis=False)}]")
        if turn.speaker is not None or options.include_timestamps:
            block.add_run().add_break()
        block.add_run(turn.text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
