"""How an export is rendered: ``ExportOptions``, checked as it is made, and the subtitle guideline's defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


class ExportOptionsError(ValueError):
    """Options that contradict each other or are out of range; the message says which and why."""


@dataclass(frozen=True)
class SubtitleGuideline:
    """The subtitle rules of a published broadcast guideline: Netflix's Timed Text Style Guide (General
    Requirements, and its English template for the reading speed). See docs/exports.md for the sources."""

    max_line_width: int = 42
    max_line_count: int = 2
    min_cue_seconds: float = 5 / 6
    max_cue_seconds: float = 7.0
    max_chars_per_second: float = 17.0
    max_silence_seconds: float = 2.0
    """Not from the guideline (it has no such number): ours, so that a cue never stays up over a long pause."""


NETFLIX = SubtitleGuideline()


@dataclass(frozen=True)
class ExportOptions:
    """How txt, srt, vtt, docx and the transcript formats are rendered.

    ``include_speakers``: the ``[Speaker 1]:`` prefixes of txt/srt/vtt and the speaker names of the other formats.
    ``include_timestamps``: txt gets one ``[start --> end]`` line per segment, docx a ``[hh:mm:ss]`` per paragraph;
    the other formats always carry their times.
    ``max_line_width`` / ``max_line_count``: the subtitle limits (srt and vtt; see ``subtitles``). A width wraps
    lines at that many characters, the ``[Speaker 1]: `` label included (a longer word gets a line of its own); a
    count then starts a new cue after that many lines. A count means nothing without a width (lines are only
    broken by wrapping), so that combination is refused rather than silently doing nothing.

    The subtitle rules (srt and vtt; see ``subtitle_rules``), each off unless set: ``min_cue_seconds`` and
    ``max_cue_seconds`` (how long a cue is shown), ``max_chars_per_second`` (reading speed), ``balance_lines``
    (lines of about equal length), ``split_sentences`` (a new sentence starts a new cue), ``speaker_dash`` (two
    speakers may share a cue, one line each, each line opened by "- "), ``max_silence_seconds`` (no cue over a
    longer pause). A speaker change always starts a new cue once any rule is on, unless the dash lets two share one.
    """

    include_speakers: bool = True
    include_timestamps: bool = True
    max_line_width: int | None = None
    max_line_count: int | None = None
    min_cue_seconds: float | None = None
    max_cue_seconds: float | None = None
    max_chars_per_second: float | None = None
    balance_lines: bool = False
    split_sentences: bool = False
    speaker_dash: bool = False
    max_silence_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_line_width", "max_line_count"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ExportOptionsError(f"{name} must be at least 1")
        for name in ("min_cue_seconds", "max_cue_seconds", "max_chars_per_second", "max_silence_seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ExportOptionsError(f"{name} must be more than 0")
        if problems := self.conflicts():
            raise ExportOptionsError(problems[0])

    def conflicts(self) -> list[str]:
        """Options that contradict each other, each with the reason (the first is raised on creation)."""
        problems = []
        if self.max_line_count is not None and self.max_line_width is None:
            problems.append("max_line_count needs max_line_width: lines are only broken by wrapping")
        if self.balance_lines and self.max_line_width is None:
            problems.append("balance_lines needs max_line_width: without a width every cue is one line")
        if self.speaker_dash and not self.include_speakers:
            problems.append("speaker_dash needs include_speakers: the dash marks a change of speaker")
        if self.speaker_dash and (self.max_line_count or 0) < 2:
            problems.append("speaker_dash needs max_line_count of 2 or more: each speaker of a shared cue gets a line")
        low, high = self.min_cue_seconds, self.max_cue_seconds
        if low is not None and high is not None and low > high:
            problems.append(f"min_cue_seconds ({low:g}) is longer than max_cue_seconds ({high:g})")
        return problems

    @property
    def has_subtitle_rules(self) -> bool:
        """Whether any rule beyond the width and the line count is on."""
        return any(getattr(self, f.name) not in (None, False) for f in fields(self) if f.name in _RULES)

    def with_guideline(self, guideline: SubtitleGuideline = NETFLIX) -> ExportOptions:
        """These options with every subtitle rule not set taken from ``guideline`` (see ``guideline_values``)."""
        return ExportOptions(**guideline_values(asdict(self), guideline))


def guideline_values(values: dict[str, Any], guideline: SubtitleGuideline = NETFLIX) -> dict[str, Any]:
    """``values`` (``ExportOptions``' fields by name) with every subtitle limit that is not set taken from
    ``guideline``, and its rules on: balanced lines, sentence splits, and the speaker dash when there are speakers.
    Works on plain values, so that options given with the guideline are checked once, with its values."""
    filled = dict(values)
    for name in (f.name for f in fields(SubtitleGuideline)):
        if filled.get(name) is None:
            filled[name] = getattr(guideline, name)
    filled["balance_lines"] = filled["split_sentences"] = True
    filled["speaker_dash"] = filled.get("include_speakers", True)
    return filled


_RULES = frozenset(
    {
        "min_cue_seconds",
        "max_cue_seconds",
        "max_chars_per_second",
        "balance_lines",
        "split_sentences",
        "speaker_dash",
        "max_silence_seconds",
    }
)

DEFAULT_OPTIONS = ExportOptions()
