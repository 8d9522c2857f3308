"""The subtitle rules as query parameters of ``GET /jobs/{id}/export`` (srt and vtt), one class so that the route
reads them with ``Depends()`` and stays short."""


from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import Query

from stt_studio.exports import ExportOptions
from stt_studio.exports.options import guideline_values

_SRT_VTT = "srt/vtt: "


@dataclass(frozen=True)
class SubtitleRulesQuery:
    min_cue_seconds: Annotated[
        float | None, Query(gt=0, description=f"{_SRT_VTT}show each cue at least this long, room permitting")
    ] = None
    max_cue_seconds: Annotated[
        float | None, Query(gt=0, description=f"{_SRT_VTT}no cue longer than this (not below min_cue_seconds)")
    ] = None
    max_chars_per_second: Annotated[
        float | None, Query(gt=0, description=f"{_SRT_VTT}reading speed: lengthen cues into the pause after them")
    ] = None
    balance_lines: Annotated[
        bool, Query(description=f"{_SRT_VTT}lines of about equal length (needs max_line_width)")
    ] = False
    split_sentences: Annotated[bool, Query(description=f"{_SRT_VTT}a new sentence starts a new cue")] = False
    speaker_dash: Annotated[
        bool,
        Query(
            description=f'{_SRT_VTT}two speakers share a cue, one line each opened by "- " (needs include_speakers '
            "and max_line_count of 2 or more)"
        ),
    ] = False
    max_silence_seconds: Annotated[
        float | None, Query(gt=0, description=f"{_SRT_VTT}no cue spans a pause longer than this")
    ] = None
    subtitle_guideline: Annotated[
        bool,
        Query(
            description=f"{_SRT_VTT}every rule not given takes Netflix's Timed Text Style Guide value (42 characters, "
            "2 lines, 5/6 to 7 s, 17 characters a second, balanced lines, sentence splits, the dash; 2 s of silence)"
        ),
    ] = False

    def applied_to(self, options: ExportOptions) -> ExportOptions:
        """``options`` with these rules; raises ExportOptionsError when they contradict each other."""
        values = asdict(options) | {name: value for name, value in asdict(self).items() if name != "subtitle_guideline"}
        return ExportOptions(**(guideline_values(values) if self.subtitle_guideline else values))
