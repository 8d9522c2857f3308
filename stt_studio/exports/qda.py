"""Transcripts for qualitative data analysis tools, each in the layout the tool's import reads (docs/exports.md
cites where each layout is documented), and csv, one row per segment.

- ``maxqda``: MAXQDA's "transcript with timestamps": paragraphs separated by a blank line, each opening with its
  time and the speaker's name and a colon, no space around the time: ``[00:03:40.5]Speaker 1: text``.
- ``atlasti``: one paragraph per segment opening with a ``#hh:mm:ss.s#`` timestamp, then ``Speaker 1: text``.
- ``nvivo``: NVivo's tab-delimited transcript rows: a header row, then ``Timespan<TAB>Speaker<TAB>Content`` with
  the timespan ``hh:mm:ss.s-hh:mm:ss.s``; every row has the same number of tabs.
- ``exmaralda``: WebVTT, one cue per segment, the speaker as the cue's voice span ``<v Speaker 1>``.
- ``csv``: RFC 4180 (the csv module's excel dialect): ``speaker,start,end,text``, times in seconds.

Without speakers (not diarized, or ``include_speakers`` off) the speaker part is left out (an empty column in
nvivo and csv). Text is one line: a tab or line break in it becomes a space.
"""

from __future__ import annotations

import csv
import io

from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.exports.common import shown_speaker
from stt_studio.exports.options import ExportOptions
from stt_studio.subtitles import vtt_time


def tenths_clock(seconds: float) -> str:
    """``hh:mm:ss.s``: MAXQDA's, ATLAS.ti's and NVivo's time, to a tenth of a second (NVivo keeps no finer)."""
    tenths = round(max(seconds, 0.0) * 10)
    hours, rest = divmod(tenths, 36_000)
    minutes, rest = divmod(rest, 600)
    whole, tenth = divmod(rest, 10)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}.{tenth}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _speaker(result: TranscriptionResult, segment: Segment, options: ExportOptions) -> str:
    return _one_line(shown_speaker(result, segment, options) or "")


def _spoken(result: TranscriptionResult) -> list[Segment]:
    return [segment for segment in result.segments if segment.text.strip()]


def _stamped_paragraphs(result: TranscriptionResult, options: ExportOptions, stamp: str) -> str:
    """One paragraph per segment: ``stamp`` with the start time in it ({clock}), the speaker, the text."""
    paragraphs = []
    for segment in _spoken(result):
        speaker = _speaker(result, segment, options)
        prefix = f"{speaker}: " if speaker else ""
        paragraphs.append(f"{stamp.format(clock=tenths_clock(segment.start))}{prefix}{_one_line(segment.text)}\n")
    return "\n".join(paragraphs)


def maxqda(result: TranscriptionResult, options: ExportOptions) -> str:
    return _stamped_paragraphs(result, options, "[{clock}]")


def atlasti(result: TranscriptionResult, options: ExportOptions) -> str:
    return _stamped_paragraphs(result, options, "#{clock}# ")


def nvivo(result: TranscriptionResult, options: ExportOptions) -> str:
    rows = ["Timespan\tSpeaker\tContent\n"]
    for segment in _spoken(result):
        timespan = f"{tenths_clock(segment.start)}-{tenths_clock(segment.end)}"
        rows.append(f"{timespan}\t{_speaker(result, segment, options)}\t{_one_line(segment.text)}\n")
    return "".join(rows)


def _vtt_escaped(text: str) -> str:
    """WebVTT cue text: ``&`` and ``<`` start markup, and ``-->`` would end the cue's timing line's meaning."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def exmaralda(result: TranscriptionResult, options: ExportOptions) -> str:
    cues = []
    for number, segment in enumerate(_spoken(result), 1):
        speaker = _speaker(result, segment, options)
        voice = f"<v {_vtt_escaped(speaker)}>" if speaker else ""
        end = max(segment.end, segment.start + 0.001)  # WebVTT: a cue ends after it starts
        cues.append(
            f"{number}\n{vtt_time(segment.start)} --> {vtt_time(end)}\n{voice}{_vtt_escaped(_one_line(segment.text))}\n"
        )
    return "WEBVTT\n\n" + "\n".join(cues)


CSV_COLUMNS = ("speaker", "start", "end", "text")


def csv_rows(result: TranscriptionResult, options: ExportOptions) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # the excel dialect: RFC 4180's quoting and CRLF line ends
    writer.writerow(CSV_COLUMNS)
    for segment in _spoken(result):
        speaker = _speaker(result, segment, options)
        writer.writerow([speaker, f"{segment.start:.3f}", f"{segment.end:.3f}", _one_line(segment.text)])
    return buffer.getvalue()
