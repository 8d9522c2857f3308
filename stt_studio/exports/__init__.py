"""Export a result in any of ``FORMATS``. One registry used by the CLI, the API and the desktop.

``FORMATS`` is the one list of formats; a format's name is also its file extension, except the transcript formats
for analysis tools (``EXTENSIONS``). ``render`` gives the bytes of any format, ``export`` the text of a text
format, ``export_jobs`` writes many results into a folder. The formats are written by the modules of this package:
``qda`` (maxqda, atlasti, nvivo, exmaralda, csv), ``html_page``; srt and vtt cues are laid out by ``subtitles``, or
by ``subtitle_rules`` when a subtitle rule is on; docx, txt, json, tsv and rttm here.

txt without timestamps and tsv are WhisperX's own writers; srt and vtt cues are laid out by ``subtitles`` (the
width counts the speaker label, every cue is shown for a positive time). ``json`` is always the full result and
``tsv``/``rttm`` have fixed layouts, so ``ExportOptions`` changes txt, srt, vtt, docx and (speakers only) the
transcript formats.

Speakers appear as people read them (``TranscriptionResult.speaker_name``): the name given in review ("Dr. Chen")
or the voice library's name when its match is automatic or accepted, else "Speaker 1" for SPEAKER_00 (a pending
suggestion too). json keeps the labels and carries ``speaker_names`` and each speaker's match; rttm, read by tools,
has that name where there is one and the label otherwise (see ``rttm_speakers``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal, NamedTuple, get_args

from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.exports import qda
from stt_studio.exports.common import clock, speaker_turns
from stt_studio.exports.document import APP_AUTHOR, docx_document
from stt_studio.exports.html_page import html_page
from stt_studio.exports.options import (
    DEFAULT_OPTIONS,
    NETFLIX,
    ExportOptions,
    ExportOptionsError,
    SubtitleGuideline,
)
from stt_studio.exports.subtitle_rules import ruled_cues
from stt_studio.subtitles import Cue, srt_time, subtitle_cues, vtt_time

__all__ = [
    "APP_AUTHOR",
    "BINARY_FORMATS",
    "DEFAULT_OPTIONS",
    "DESCRIPTIONS",
    "EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "NETFLIX",
    "ExportFormat",
    "ExportItem",
    "ExportOptions",
    "ExportOptionsError",
    "ExportRequest",
    "ExportSummary",
    "NotDiarizedError",
    "SkippedExport",
    "SubtitleGuideline",
    "export",
    "export_jobs",
    "render",
    "rttm_speakers",
    "safe_stem",
]

ExportFormat = Literal[
    "json", "txt", "srt", "vtt", "tsv", "rttm", "docx", "maxqda", "atlasti", "nvivo", "exmaralda", "html", "csv"
]
FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
BINARY_FORMATS: frozenset[str] = frozenset({"docx"})

EXTENSIONS: dict[str, str] = {fmt: fmt for fmt in FORMATS} | {
    "maxqda": "maxqda.txt",
    "atlasti": "atlasti.txt",
    "nvivo": "nvivo.txt",
    "exmaralda": "exmaralda.vtt",
}
"""The file name ending of each format: the analysis tools' formats are text (or WebVTT) files that those tools
open by their usual extension; the format's name before it keeps them apart in one folder."""

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "txt": "text/plain",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "tsv": "text/tab-separated-values",
    "rttm": "text/plain",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "maxqda": "text/plain",
    "atlasti": "text/plain",
    "nvivo": "text/plain",
    "exmaralda": "text/vtt",
    "html": "text/html",
    "csv": "text/csv",
}

DESCRIPTIONS: dict[str, str] = {
    "json": "JSON: the full result, words included",
    "txt": "Plain text",
    "srt": "SubRip subtitles",
    "vtt": "WebVTT subtitles",
    "tsv": "Tab-separated segments (milliseconds)",
    "rttm": "RTTM speaker turns (diarized jobs only)",
    "docx": "Word document",
    "maxqda": "MAXQDA transcript with timestamps",
    "atlasti": "ATLAS.ti transcript with timestamps",
    "nvivo": "NVivo transcript rows (tab-delimited)",
    "exmaralda": "EXMARaLDA-compatible WebVTT",
    "html": "Web page: speaker colours, linked times",
    "csv": "CSV: speaker, start, end, text per segment",
}


class NotDiarizedError(ValueError):
    """The format needs speaker turns and the result has none."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export and where: what the desktop's export dialog asks for."""

    folder: Path
    formats: list[str]
    options: ExportOptions = field(default_factory=ExportOptions)


class SkippedExport(NamedTuple):
    """A file ``export_jobs`` did not write: the job's name, and why (the reason names the format)."""

    name: str
    reason: str


@dataclass
class ExportSummary:
    written: list[Path] = field(default_factory=list)
    skipped: list[SkippedExport] = field(default_factory=list)


def _whisperx_input(result: TranscriptionResult, options: ExportOptions) -> dict[str, Any]:
    """The result as the dict WhisperX's writers read."""
    data = result.model_dump()
    for segment in data["segments"]:
        # The writers test ``"speaker" in segment``: a None (or an unwanted) speaker must not be there at all.
        for item in (segment, *segment["words"]):
            if item.get("speaker") is None or not options.include_speakers:
                item.pop("speaker", None)
            else:
                item["speaker"] = result.speaker_name(item["speaker"])
    # The subtitle writers cue by words whenever the first segment has a "words" key, dropping the text of any
    # segment without words; cue by segment (no wrapping) unless every segment with text has its words.
    if any(s["text"].strip() and not s["words"] for s in data["segments"]):
        for segment in data["segments"]:
            del segment["words"]
    return data


def _writer_options(options: ExportOptions) -> dict[str, Any]:
    return {
        "max_line_width": options.max_line_width,
        "max_line_count": options.max_line_count,
        "highlight_words": False,
    }


def _whisperx_writer(name: str) -> Callable[[TranscriptionResult, ExportOptions], str]:
    def export_with_whisperx(result: TranscriptionResult, options: ExportOptions) -> str:
        from whisperx import utils

        writer = {"txt": utils.WriteTXT, "tsv": utils.WriteTSV}[name](output_dir=".")
        buffer = io.StringIO()
        writer.write_result(_whisperx_input(result, options), file=buffer, options=_writer_options(options))
        return buffer.getvalue()

    return export_with_whisperx


def _cues(result: TranscriptionResult, options: ExportOptions) -> list[Cue]:
    if options.has_subtitle_rules:
        return ruled_cues(result, options)
    return subtitle_cues(result, **_cue_options(options))


def _srt(result: TranscriptionResult, options: ExportOptions) -> str:
    cues = _cues(result, options)
    return "".join(
        f"{number}\n{srt_time(cue.start)} --> {srt_time(cue.end)}\n{cue.text}\n\n" for number, cue in enumerate(cues, 1)
    )


def _vtt(result: TranscriptionResult, options: ExportOptions) -> str:
    cues = _cues(result, options)
    return "WEBVTT\n\n" + "".join(f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}\n{cue.text}\n\n" for cue in cues)


def _cue_options(options: ExportOptions) -> dict[str, Any]:
    return {
        "include_speakers": options.include_speakers,
        "max_line_width": options.max_line_width,
        "max_line_count": options.max_line_count,
    }


_plain_txt = _whisperx_writer("txt")


def _txt(result: TranscriptionResult, options: ExportOptions) -> str:
    """Speaker turns as paragraphs, a blank line between them: ``[Speaker 1]: the turn's text``, or with timestamps
    the speaker's name on a line of its own, then ``[start --> end] text`` per segment. Without speakers a line per
    segment (WhisperX's text, or ``[start --> end] text``)."""
    turns = speaker_turns(result, options)
    if all(turn.speaker is None for turn in turns):
        if not options.include_timestamps:
            return _plain_txt(result, options)
        return "".join(f"{_span(segment)} {segment.text.strip()}\n" for segment in result.segments)
    paragraphs = []
    for turn in turns:
        if not options.include_timestamps:
            paragraphs.append(f"[{turn.speaker}]: {turn.text}" if turn.speaker else turn.text)
            continue
        lines = [turn.speaker] if turn.speaker else []
        lines += [f"{_span(segment)} {segment.text.strip()}" for segment in turn.segments]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + "\n"


def _span(segment: Segment) -> str:
    return f"[{clock(segment.start, millis=True)} --> {clock(segment.end, millis=True)}]"


def _json(result: TranscriptionResult, _options: ExportOptions) -> str:
    return result.model_dump_json(indent=2) + "\n"


def rttm_speakers(result: TranscriptionResult) -> dict[str, str]:
    """The speaker field of each label in RTTM: its name (``given_name``) with its whitespace made ``_`` (fields are
    separated by spaces), else the label. Two speakers whose fields would read the same get their label appended,
    so that a tool never takes them for one."""
    labels = sorted({t.speaker for t in result.speaker_turns or []})
    fields = {label: re.sub(r"\s+", "_", (result.given_name(label) or "").strip()) or label for label in labels}
    taken = list(fields.values())
    return {
        label: f"{field}_{label}" if field != label and taken.count(field) > 1 else field
        for label, field in fields.items()
    }


def _rttm(result: TranscriptionResult, _options: ExportOptions) -> str:
    """NIST RTTM, the diarization exchange format (pyannote, dscore): one line per speaker turn."""
    if result.speaker_turns is None:
        raise NotDiarizedError("RTTM needs a diarized result (enable_diarization=true)")
    speakers = rttm_speakers(result)
    return "".join(
        f"SPEAKER audio 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {speakers[t.speaker]} <NA> <NA>\n"
        for t in result.speaker_turns
    )


_TEXT_EXPORTERS: dict[str, Callable[[TranscriptionResult, ExportOptions], str]] = {
    "json": _json,
    "txt": _txt,
    "srt": _srt,
    "vtt": _vtt,
    "tsv": _whisperx_writer("tsv"),
    "rttm": _rttm,
    "maxqda": qda.maxqda,
    "atlasti": qda.atlasti,
    "nvivo": qda.nvivo,
    "exmaralda": qda.exmaralda,
    "csv": qda.csv_rows,
}


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")


def render(
    result: TranscriptionResult,
    fmt: str,
    options: ExportOptions = DEFAULT_OPTIONS,
    *,
    title: str | None = None,
    date: datetime | None = None,
) -> bytes:
    """Any format as the bytes of its file (text is UTF-8). ``title`` (the source file's name) and ``date`` (when
    it was transcribed; default: now) head a docx and are its document properties. Raises ValueError for an unknown
    format, NotDiarizedError for rttm of an undiarized result."""
    _check_format(fmt)
    if fmt == "docx":
        return docx_document(result, options, title, date)
    return export(result, fmt, options, title=title).encode("utf-8")


def export(
    result: TranscriptionResult, fmt: str, options: ExportOptions = DEFAULT_OPTIONS, *, title: str | None = None
) -> str:
    """A text format as text; ``render`` gives every format, docx included, as bytes. ``title`` (the source file's
    name) heads an html page and is the recording its times link to."""
    _check_format(fmt)
    if fmt in BINARY_FORMATS:
        raise ValueError(f"'{fmt}' is a binary format; use render()")
    if fmt == "html":
        return html_page(result, options, title)
    return _TEXT_EXPORTERS[fmt](result, options)


_UNSAFE_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_stem(name: str | None) -> str:
    """The stem of a file name (any folder dropped), safe as a file name on every OS; 'transcript' when empty."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    stem = _UNSAFE_IN_FILE_NAMES.sub("_", PurePosixPath(base).stem).strip(" .")
    return stem or "transcript"


def _write_new_file(folder: Path, stem: str, extension: str, data: bytes) -> Path:
    """Write ``<stem>.<extension>``, or ``<stem> (2).<extension>``, … whichever does not exist yet."""
    number = 1
    while True:
        path = folder / (f"{stem}.{extension}" if number == 1 else f"{stem} ({number}).{extension}")
        try:
            with path.open("xb") as file:  # exclusive: never overwrites, even a file created meanwhile
                file.write(data)
        except FileExistsError:
            number += 1
            continue
        return path


class ExportItem(NamedTuple):
    """One job to export: its name (the source file's), its transcript, and when it was transcribed."""

    name: str
    result: TranscriptionResult
    transcribed_at: datetime | None = None


def export_jobs(
    items: Iterable[ExportItem | tuple[str, TranscriptionResult]],
    folder: Path,
    formats: Sequence[str],
    options: ExportOptions = DEFAULT_OPTIONS,
) -> ExportSummary:
    """Write each ``(name, result[, transcribed_at])`` as ``<stem of name>.<format>`` into ``folder`` (created if
    missing), never overwriting a file. rttm of an undiarized result is skipped and listed in the summary. OSError
    propagates."""
    wanted = list(dict.fromkeys(formats))
    for fmt in wanted:
        _check_format(fmt)
    folder.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary()
    for item in items:
        name, result, transcribed_at = ExportItem(*item)
        for fmt in wanted:
            if fmt == "rttm" and result.speaker_turns is None:
                summary.skipped.append(SkippedExport(name, "no rttm: not diarized, so there are no speaker turns"))
                continue
            data = render(result, fmt, options, title=name, date=transcribed_at)
            summary.written.append(_write_new_file(folder, safe_stem(name), EXTENSIONS[fmt], data))
    return summary
