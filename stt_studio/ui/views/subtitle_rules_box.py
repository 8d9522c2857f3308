"""The export dialog's subtitle rules (srt and vtt): durations, reading speed, silence, and how lines and cues are
broken; "Netflix guideline" fills in the guideline's values (``stt_studio.exports.options.NETFLIX``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QPushButton, QWidget

from stt_studio.exports import NETFLIX, ExportOptions

_MAX_SECONDS = 60.0
_MAX_CPS = 100.0

LABELS = {
    "include_speakers": "“Include speakers”",
    "max_line_width": "a max line width",
    "max_line_count": "“Max lines per subtitle”",
    "min_cue_seconds": "“Shortest subtitle”",
    "max_cue_seconds": "“Longest subtitle”",
    "max_chars_per_second": "“Reading speed”",
    "balance_lines": "“Balance lines”",
    "split_sentences": "“New sentence, new subtitle”",
    "speaker_dash": "“Speaker dash”",
    "max_silence_seconds": "“Longest silence”",
}
"""How the dialog names each option, for the reasons ``ExportOptions`` gives in its own field names."""


def in_dialog_words(reason: str) -> str:
    """An ``ExportOptions`` reason with its field names made the dialog's labels."""
    for name, label in sorted(LABELS.items(), key=lambda item: -len(item[0])):
        reason = reason.replace(name, label)
    return reason[:1].upper() + reason[1:]


class SubtitleRulesBox(QGroupBox):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Subtitle rules (srt, vtt)", parent)
        self.min_spin = _seconds_spin("Show each subtitle at least this long, room permitting")
        self.max_spin = _seconds_spin("Split subtitles that would be shown longer than this")
        self.cps_spin = _spin(
            _MAX_CPS, " characters/s", "Lengthen a subtitle into the pause after it until it reads at this"
        )
        self.silence_spin = _seconds_spin("Never show a subtitle over a pause longer than this")
        self.balance_box = QCheckBox("Balance lines")
        self.balance_box.setToolTip("Break a subtitle's lines so that they are about equally long (needs a width)")
        self.sentences_box = QCheckBox("New sentence, new subtitle")
        self.dash_box = QCheckBox("Speaker dash")
        self.dash_box.setToolTip('Two speakers share a subtitle, one line each opened by "- " (needs 2 lines)')
        self.guideline_button = QPushButton("Netflix guideline")
        self.guideline_button.setToolTip(
            "42 characters, 2 lines, 5/6 to 7 s, 17 characters a second (Netflix's Timed Text Style Guide), "
            "balanced lines, sentence splits, the dash; at most 2 s of silence"
        )
        form = QFormLayout(self)
        form.addRow("Shortest subtitle:", self.min_spin)
        form.addRow("Longest subtitle:", self.max_spin)
        form.addRow("Reading speed:", self.cps_spin)
        form.addRow("Longest silence:", self.silence_spin)
        form.addRow(self.balance_box)
        form.addRow(self.sentences_box)
        form.addRow(self.dash_box)
        form.addRow(self.guideline_button)
        for spin in (self.min_spin, self.max_spin, self.cps_spin, self.silence_spin):
            spin.valueChanged.connect(self.changed)
        for box in (self.balance_box, self.sentences_box, self.dash_box):
            box.toggled.connect(self.changed)

    def preset(self, options: ExportOptions) -> None:
        self.min_spin.setValue(options.min_cue_seconds or 0)
        self.max_spin.setValue(options.max_cue_seconds or 0)
        self.cps_spin.setValue(options.max_chars_per_second or 0)
        self.silence_spin.setValue(options.max_silence_seconds or 0)
        self.balance_box.setChecked(options.balance_lines)
        self.sentences_box.setChecked(options.split_sentences)
        self.dash_box.setChecked(options.speaker_dash)

    def apply_guideline(self, *, speakers: bool) -> None:
        self.preset(
            ExportOptions(
                min_cue_seconds=NETFLIX.min_cue_seconds,
                max_cue_seconds=NETFLIX.max_cue_seconds,
                max_chars_per_second=NETFLIX.max_chars_per_second,
                max_silence_seconds=NETFLIX.max_silence_seconds,
                max_line_width=NETFLIX.max_line_width,
                max_line_count=NETFLIX.max_line_count,
                balance_lines=True,
                split_sentences=True,
                speaker_dash=speakers,
                include_speakers=speakers,
            )
        )

    def rules(self) -> dict[str, Any]:
        """The rules as ``ExportOptions`` fields (0 is off)."""
        return {
            "min_cue_seconds": self.min_spin.value() or None,
            "max_cue_seconds": self.max_spin.value() or None,
            "max_chars_per_second": self.cps_spin.value() or None,
            "max_silence_seconds": self.silence_spin.value() or None,
            "balance_lines": self.balance_box.isChecked(),
            "split_sentences": self.sentences_box.isChecked(),
            "speaker_dash": self.dash_box.isChecked(),
        }


def _spin(maximum: float, suffix: str, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0, maximum)
    spin.setDecimals(3)  # milliseconds: 5/6 s shows as 0.833
    spin.setSingleStep(0.1)
    spin.setSuffix(suffix)
    spin.setSpecialValueText("Off")  # shown for 0, the minimum
    spin.setToolTip(tip)
    return spin


def _seconds_spin(tip: str) -> QDoubleSpinBox:
    return _spin(_MAX_SECONDS, " s", tip)
