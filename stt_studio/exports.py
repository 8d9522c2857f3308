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


def _rttm(result: TranscriptionResult) -> str:
    """NIST RTTM, the diarization exchange format (pyannote, dscore): one line per speaker turn."""
    if result.speaker_turns is None:
        raise ValueError("RTTM needs a diarized result (enable_diarization=true)")
    return "".join(
        f"SPEAKER audio 1 {t.start:.3f} {t.end - t.start:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
        for t in result.speaker_turns
    )


EXPORTERS: dict[str, Exporter] = {
    "json": _json,
    "txt": _whisperx_writer("txt"),
    "srt": _whisperx_writer("srt"),
    "vtt": _whisperx_writer("vtt"),
    "tsv": _whisperx_writer("tsv"),
    "rttm": _rttm,
}

MEDIA_TYPES = {
    "json": "application/json",
    "txt": "text/plain",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "tsv": "text/tab-separated-values",
    "rttm": "text/plain",
}


def export(result: TranscriptionResult, fmt: str) -> str:
    if fmt not in EXPORTERS:
        raise ValueError(f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORTERS)}")
    return EXPORTERS[fmt](result)
