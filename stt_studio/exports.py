"""Export a result as json, txt, srt, vtt or tsv. One registry used by the CLI, the API and the desktop app.

Subtitle formatting (line wrapping, speaker prefixes, timestamp formats) is WhisperX's own writers'.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from stt_studio.engine.result import TranscriptionResult

Exporter = Callable[[TranscriptionResult], str]

_SUBTITLE_OPTIONS: dict[str, Any] = {"max_line_width": None, "max_line_count": None, "highlight_words": False}


def _whisperx_writer(name: str) -> Exporter:
    def export(result: TranscriptionResult) -> str:
        from whisperx import utils

        writer = {"txt": utils.WriteTXT, "srt": utils.WriteSRT, "vtt": utils.WriteVTT, "tsv": utils.WriteTSV}[name]
        buffer = io.StringIO()
        writer(output_dir=".").write_result(result.model_dump(), file=buffer, options=_SUBTITLE_OPTIONS)
        return buffer.getvalue()

    return export


def _json(result: TranscriptionResult) -> str:
    return result.model_dump_json(indent=2) + "\n"


EXPORTERS: dict[str, Exporter] = {
    "json": _json,
    "txt": _whisperx_writer("txt"),
    "srt": _whisperx_writer("srt"),
    "vtt": _whisperx_writer("vtt"),
    "tsv": _whisperx_writer("tsv"),
}

MEDIA_TYPES = {
    "json": "application/json",
    "txt": "text/plain",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "tsv": "text/tab-separated-values",
}


def export(result: TranscriptionResult, fmt: str) -> str:
    try:
        return EXPORTERS[fmt](result)
    except KeyError:
        raise ValueError(f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORTERS)}") from None
