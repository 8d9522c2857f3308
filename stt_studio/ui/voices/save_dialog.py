"""Save voice to library: one speaker of a finished transcript into the voice library, under a name (a new voice,
or another sample of the voice of that name), only once the user confirms the person agreed. Shows the seconds of
clean speech the sample would have and, after saving, what happened or why not. A view only: it asks through
``save_requested`` and ``SaveVoiceToLibrary`` answers through ``show_saved`` / ``show_refused``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.voices.enroll import MIN_SECONDS, MIN_TURN_SECONDS, WARN_SECONDS
from stt_studio.voices.summary import EnrollOutcome

CONSENT = "This person agreed to have their voice stored"
CONSENT_NOTE = f"{CONSENT} (confirmed in STT Studio's window)"


def consent_checkbox() -> QCheckBox:
    """The tick a voice is not saved without (Save voice and Add voice)."""
    check = QCheckBox(CONSENT)
    check.setToolTip("A voice is biometric data: store it only with the person's consent")
    return check


def result_label() -> QLabel:
    """Where a voice dialog says what happened (hidden until then; selectable, to copy an error)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


@dataclass(frozen=True)
class SpeakerChoice:
    label: str
    shown: str
    """The name the transcript shows ("Speaker 1", or the one given in review)."""
    name: str
    """The name to preselect: given in review, else the library's match, else empty."""
    seconds: float
    """Clean speech the sample would have."""


Tone = Literal["plain", "caution", "problem"]


def _tone_style(widget: QWidget, tone: Tone) -> str:
    """A caution or problem text color readable on the widget's background (light or dark palette)."""
    if tone == "plain":
        return ""
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    colors = {"caution": ("#8a5a00", "#ffcc80"), "problem": ("#c62828", "#ff8a80")}[tone]
    return f"color: {colors[dark]}"


class SaveVoiceDialog(QDialog):
    save_requested = Signal(str, str)
    """Speaker label, the name typed."""

    def __init__(self, where: str, speakers: list[SpeakerChoice], current: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Save voice to library")
        self.setMinimumWidth(540)
        self._speakers = {s.label: s for s in speakers}
        self._saved: tuple[str, str] | None = None
        self._busy = False
        self._tones: dict[QLabel, Tone] = {}

        self.where_label = QLabel(where)
        self.where_label.setWordWrap(True)
        self.speaker_combo = QComboBox()
        for speaker in speakers:
            self.speaker_combo.addItem(
                speaker.shown if speaker.shown == speaker.label else f"{speaker.shown} ({speaker.label})", speaker.label
            )
        if current is not None and (index := self.speaker_combo.findData(current)) >= 0:
            self.speaker_combo.setCurrentIndex(index)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("The person's name")
        self.name_edit.setMaxLength(200)  # the library says why past its own limit
        self.seconds_label = QLabel()
        self.seconds_label.setWordWrap(True)
        self.consent_check = consent_checkbox()
        self.result_label = result_label()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self._ask_save)

        form = QFormLayout()
        form.addRow("Speaker:", self.speaker_combo)
        form.addRow("Name:", self.name_edit)
        form.addRow("Clean speech:", self.seconds_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where_label)
        layout.addLayout(form)
        layout.addWidget(self.consent_check)
        layout.addSpacing(4)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.speaker_combo.currentIndexChanged.connect(lambda _index: self._show_speaker())
        self.name_edit.textChanged.connect(lambda _text: self._enable())
        self.consent_check.toggled.connect(lambda _on: self._enable())
        self._show_speaker()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # a light or dark theme chosen while open
            for label, tone in self._tones.items():
                label.setStyleSheet(_tone_style(self, tone))

    def _set_tone(self, label: QLabel, tone: Tone) -> None:
        self._tones[label] = tone
        label.setStyleSheet(_tone_style(self, tone))

    def chosen(self) -> SpeakerChoice | None:
        return self._speakers.get(self.speaker_combo.currentData())

    def _show_speaker(self) -> None:
        speaker = self.chosen()
        self.name_edit.setText(speaker.name if speaker else "")
        self.name_edit.selectAll()
        self.name_edit.setFocus()
        seconds = speaker.seconds if speaker else 0.0
        text = f"{seconds:.1f} s, in turns of {MIN_TURN_SECONDS:g} s or longer with no one else talking"
        tone: Tone = "plain"
        if seconds < MIN_SECONDS:
            text += f". Too little to save: a voice needs at least {MIN_SECONDS:g} s"
            tone = "problem"
        elif seconds < WARN_SECONDS:
            text += f". Under {WARN_SECONDS:g} s: the voice may name this person less surely"
            tone = "caution"
        self.seconds_label.setText(text)
        self._set_tone(self.seconds_label, tone)
        self.result_label.hide()
        self._enable()

    def _key(self) -> tuple[str, str]:
        return str(self.speaker_combo.currentData()), " ".join(self.name_edit.text().split())

    def _enable(self) -> None:
        speaker = self.chosen()
        self.save_button.setEnabled(
            not self._busy
            and speaker is not None
            and speaker.seconds >= MIN_SECONDS
            and bool(self._key()[1])
            and self.consent_check.isChecked()
            and self._key() != self._saved  # saved once: not again by a second click
        )

    def _ask_save(self) -> None:
        if self.save_button.isEnabled():
            self.save_requested.emit(*self._key())

    # --- what SaveVoiceToLibrary shows -------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            self._show_result("Saving…", "plain")
        self._enable()

    def show_saved(self, outcome: EnrollOutcome) -> None:
        self._saved = self._key()
        self.name_edit.deselect()
        name = outcome.voice.name
        count = len(outcome.voice.samples)
        text = (
            f"Added to the existing voice “{name}” as sample {count} ({outcome.speech_seconds:.1f} s of speech)"
            if outcome.added_to_existing
            else f"Saved as a new voice “{name}” ({outcome.speech_seconds:.1f} s of speech)"
        )
        if outcome.warning:
            text += f"\n{outcome.warning}"
        self._show_result(text, "caution" if outcome.warning else "plain")
        self._enable()

    def show_refused(self, reason: str) -> None:
        self._show_result(f"Not saved: {reason}", "problem")

    def _show_result(self, text: str, tone: Tone) -> None:
        self.result_label.setText(text)
        self._set_tone(self.result_label, tone)
        self.result_label.show()
