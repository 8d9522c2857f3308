"""Speaker colors and names: the one place every view of a transcript gets them from."""

from __future__ import annotations

import re
from collections.abc import Iterable

from PySide6.QtGui import QColor

from stt_studio.engine.result import SpeakerSummary, TranscriptionResult

# Mid-lightness hues (Tableau 10 without its gray): distinct from each other, visible as fills on a light or a
# dark background; as text they are darkened or lightened until they contrast with the background.
SPEAKER_COLORS: tuple[str, ...] = (
    "#4e79a7",  # blue
    "#f28e2b",  # orange
    "#59a14f",  # green
    "#e15759",  # red
    "#b07aa1",  # purple
    "#76b7b2",  # teal
    "#edc948",  # yellow
    "#c45ca2",  # magenta
    "#9c755f",  # brown
)
NEUTRAL_COLOR = "#9e9e9e"
"""No speaker: a transcript without diarization, or a segment diarization could not attribute."""

TEXT_CONTRAST = 4.5  # WCAG AA for normal text
LIGHT_TINT = 0.16
DARK_TINT = 0.26  # a dark base needs more of the hue for the tint to show at all


def _natural_key(label: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", label))


def blend(base: QColor, overlay: QColor, amount: float) -> QColor:
    """``overlay`` laid over ``base`` at ``amount`` (0: base, 1: overlay), opaque."""
    return QColor.fromRgbF(
        base.redF() + (overlay.redF() - base.redF()) * amount,
        base.greenF() + (overlay.greenF() - base.greenF()) * amount,
        base.blueF() + (overlay.blueF() - base.blueF()) * amount,
    )


def is_dark(color: QColor) -> bool:
    return _luminance(color) < 0.35


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio, 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class SpeakerPalette:
    """A stable color and a display name per speaker label.

    Labels get colors in the order given (``for_result`` sorts them: SPEAKER_00 first); a label not known
    beforehand gets the next color the first time it is asked for. ``None`` (no speaker) is neutral gray.
    """

    def __init__(
        self,
        labels: Iterable[str] = (),
        names: dict[str, str] | None = None,
        identities: list[SpeakerSummary] | None = None,
    ) -> None:
        self._index: dict[str, int] = {}
        self._text_colors: dict[tuple[str | None, int], QColor] = {}
        self._names = dict(names or {})
        # The one definition of a speaker's name is TranscriptionResult.speaker_name: asked of a result holding
        # only these names and the voice library's verdicts (unvalidated: nothing else of it is read).
        self._namer = TranscriptionResult.model_construct(speaker_names=self._names, speakers=identities)
        for label in labels:
            self._index.setdefault(label, len(self._index))

    @classmethod
    def for_result(cls, result: TranscriptionResult) -> SpeakerPalette:
        return cls(_labels_of(result), result.speaker_names, result.speakers)

    def updated(self, result: TranscriptionResult) -> SpeakerPalette:
        """The palette for an edit of the result this one was made for: the speakers known keep their colors
        (one merged away leaves its color unused), new ones take the next; the names are the result's."""
        palette = SpeakerPalette([*self._index, *_labels_of(result)], result.speaker_names, result.speakers)
        palette._text_colors = self._text_colors
        return palette

    def names(self) -> dict[str, str]:
        """The names given in review, by label."""
        return dict(self._names)

    @property
    def speakers(self) -> list[str]:
        """The labels known so far, in color order."""
        return list(self._index)

    def present(self, result: TranscriptionResult) -> list[str]:
        """The labels ``result`` has now, in color order (not those merged away)."""
        labels = set(_labels_of(result))
        return [label for label in self._index if label in labels]

    def color(self, speaker: str | None) -> QColor:
        """The speaker's color as a fill (timeline, swatches)."""
        if speaker is None:
            return QColor(NEUTRAL_COLOR)
        index = self._index.setdefault(speaker, len(self._index))
        return QColor(SPEAKER_COLORS[index % len(SPEAKER_COLORS)])

    def text_color(self, speaker: str | None, base: QColor) -> QColor:
        """The speaker's color as text on ``base``: the same hue, darker or lighter until it is readable."""
        key = (speaker, base.rgb())
        cached = self._text_colors.get(key)
        if cached is None:
            cached = self._text_colors[key] = _readable_on(self.color(speaker), base)
        return QColor(cached)

    def tint(self, speaker: str | None, base: QColor) -> QColor:
        """A row background: ``base`` with a little of the speaker's color, so normal text stays readable."""
        return blend(base, self.color(speaker), DARK_TINT if is_dark(base) else LIGHT_TINT)

    def display_name(self, speaker: str | None) -> str:
        """What the user reads: the name given in review ("Dr. Chen") or accepted from the voice library, else
        "Speaker 1" for SPEAKER_00, other labels as they are; "" for no speaker. The same as
        ``TranscriptionResult.speaker_name``."""
        return self._namer.speaker_name(speaker)


def _labels_of(result: TranscriptionResult) -> list[str]:
    labels: set[str] = {summary.speaker for summary in result.speakers or ()}
    labels.update(turn.speaker for turn in result.speaker_turns or ())
    labels.update(segment.speaker for segment in result.segments if segment.speaker)
    labels.update(result.speaker_names)
    return sorted(labels, key=_natural_key)


def _readable_on(color: QColor, base: QColor) -> QColor:
    step = 0.04 if is_dark(base) else -0.04
    hue, saturation, lightness = color.hslHueF(), color.hslSaturationF(), color.lightnessF()
    candidate = QColor(color)
    while contrast(candidate, base) < TEXT_CONTRAST and 0.0 < lightness < 1.0:
        lightness = min(1.0, max(0.0, lightness + step))
        candidate = QColor.fromHslF(hue, saturation, lightness)
    return candidate
