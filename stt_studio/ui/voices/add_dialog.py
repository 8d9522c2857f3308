"""Voice library → Add voice…: a voice from an audio file. The file, the person's name and the consent tick; when
the file turns out to hold several voices, a choice of them (each with its seconds of speech and where it first
talks) appears, and the user picks one and adds again. A view only: it asks through ``add_requested``, and
``VoiceLibraryController`` answers through its ``show_*`` methods."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.engine.audio import MEDIA_EXTENSIONS
from stt_studio.ui.clock import format_clock
from stt_studio.ui.voices.save_dialog import CONSENT, consent_checkbox, result_label
from stt_studio.voices.enroll import MIN_SECONDS
from stt_studio.voices.summary import ClipSpeakerSummary, EnrollOutcome

CONSENT_NOTE = f"{CONSENT} (confirmed in STT Studio's window, adding a voice from a file)"
AUDIO_FILTER = f"Audio or video ({' '.join(f'*{ext}' for ext in sorted(MEDIA_EXTENSIONS))});;All files (*)"


def _problem_color(widget: QWidget) -> str:
    dark = widget.palette().color(widget.backgroundRole()).lightness() < 128
    return "#ff8a80" if dark else "#c62828"


class AddVoiceDialog(QDialog):
    add_requested = Signal(Path, str, object)
    """The file, the name typed, the speaker picked (str) or None."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add voice")
        self.setMinimumWidth(540)
        self._busy = False
        self._clip: Path | None = None

        self.file_edit = QLineEdit()
        self.file_edit.setReadOnly(True)
        self.file_edit.setPlaceholderText(f"A recording of this person alone, {MIN_SECONDS:g} s of speech or more")
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self._choose)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("The person's name")
        self.name_edit.setMaxLength(200)  # the library says why past its own limit
        self.speaker_label = QLabel("Voice:")
        self.speaker_combo = QComboBox()
        self.consent_check = consent_checkbox()
        self.result_label = result_label()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = QPushButton("Add")
        self.add_button.setDefault(True)
        self.buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(self._ask_add)

        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.choose_button)
        self.form = QFormLayout()
        self.form.addRow("File:", file_row)
        self.form.addRow("Name:", self.name_edit)
        self.form.addRow(self.speaker_label, self.speaker_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.consent_check)
        layout.addSpacing(4)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._show_speakers_row(False)

        self.name_edit.textChanged.connect(lambda _text: self._enable())
        self.consent_check.toggled.connect(lambda _on: self._enable())
        self._enable()

    # --- what the user does --------------------------------------------------------------------------------------
    def choose_clip(self) -> Path | None:
        path, _filter = QFileDialog.getOpenFileName(self, "A recording of the voice", "", AUDIO_FILTER)
        return Path(path) if path else None

    def set_clip(self, clip: Path) -> None:
        """The file to add (also what the file chooser sets); a new file forgets the voices of the last one."""
        self._clip = clip
        self.file_edit.setText(str(clip))
        self.file_edit.setToolTip(str(clip))
        if not self.name_edit.text().strip():
            self.name_edit.setText(clip.stem.replace("_", " ").strip())
        self.speaker_combo.clear()
        self._show_speakers_row(False)
        self.result_label.hide()
        self._enable()

    def _choose(self) -> None:
        if (clip := self.choose_clip()) is not None:
            self.set_clip(clip)

    def _ask_add(self) -> None:
        if self.add_button.isEnabled() and self._clip is not None:
            picked = self.speaker_combo.currentData() if self.speaker_combo.count() else None
            self.add_requested.emit(self._clip, self.name_edit.text(), picked)

    def _enable(self) -> None:
        ready = self._clip is not None and bool(self.name_edit.text().strip()) and self.consent_check.isChecked()
        self.add_button.setEnabled(ready and not self._busy)
        for widget in (self.choose_button, self.name_edit, self.speaker_combo, self.consent_check):
            widget.setEnabled(not self._busy)

    def _show_speakers_row(self, shown: bool) -> None:
        self.speaker_label.setVisible(shown)
        self.speaker_combo.setVisible(shown)

    # --- what the controller shows -------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            self._show_result("Finding the voices in the file…", problem=False)
        self._enable()

    def show_speakers(self, speakers: tuple[ClipSpeakerSummary, ...]) -> None:
        """The file holds several voices: offer them, the one with the most speech first."""
        self.speaker_combo.clear()
        for speaker in speakers:
            first = format_clock(speaker.first_start)
            self.speaker_combo.addItem(f"{speaker.label}: {speaker.speech_seconds:.1f} s of speech, first at {first}",
                                       speaker.label)  # fmt: skip
        self._show_speakers_row(True)
        self._show_result(
            f"This file holds {len(speakers)} voices: pick the one to save (where each first talks helps to tell "
            "them apart), then Add.",
            problem=False,
        )

    def show_refused(self, reason: str) -> None:
        self._show_result(f"Not added: {reason}", problem=True)

    def show_added(self, outcome: EnrollOutcome) -> None:
        name, count = outcome.voice.name, len(outcome.voice.samples)
        text = (
            f"Added to the existing voice “{name}” as sample {count} ({outcome.speech_seconds:.1f} s of speech)"
            if outcome.added_to_existing
            else f"Saved as a new voice “{name}” ({outcome.speech_seconds:.1f} s of speech)"
        )
        self._show_result(text + (f"\n{outcome.warning}" if outcome.warning else ""), problem=False)

    def _show_result(self, text: str, *, problem: bool) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet(f"color: {_problem_color(self)}" if problem else "")
        self.result_label.show()
