"""The options of the next files added: model, language, translation, speakers, vocabulary. Defaults come from
Settings."""

from __future__ import annotations

import unicodedata

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from stt_studio.engine.options import MAX_PROMPT_CHARS, Task, known_languages
from stt_studio.engine.translation import translation_refusal
from stt_studio.jobs.models import JobOptions
from stt_studio.ui.model_in_use import ModelsInUse

MODEL_CHOICES = ["tiny", "tiny.en", "base", "base.en", "small", "medium", "large-v3", "large-v3-turbo",
                 "distil-large-v3"]  # fmt: skip
_SPEAKER_MODES = ["any number", "exactly", "between"]


class BatchOptionsBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setToolTip("A Whisper model name, or the path of a local CTranslate2 model folder")
        self.model_combo.addItems(MODEL_CHOICES)
        self.model_combo.setMinimumContentsLength(12)
        self.models_in_use = ModelsInUse()
        """What runs for the chosen model (the window shares its own, fed by the workers' reports)."""
        self.model_note = QLabel()  # shown when another model runs for the one chosen: what runs, and why
        self.model_note.setObjectName("model-in-use")
        self.model_note.hide()
        self.model_combo.currentTextChanged.connect(lambda _: self.show_model_in_use())
        self.language_combo = QComboBox()
        self.language_combo.addItem("Auto-detect", None)
        for code in sorted(known_languages()):
            self.language_combo.addItem(code, code)
        self.translate_check = QCheckBox("Translate to English")
        self.translate_check.setToolTip(
            "Whisper writes English whatever the language spoken (the language column shows the one spoken). "
            "Needs a multilingual model: not *.en, turbo or distil"
        )
        self.translate_note = QLabel()  # shown while translation is asked of a model that cannot translate
        self.translate_note.setObjectName("translate-refused")
        self.translate_note.setWordWrap(True)
        self.translate_note.hide()
        self.translate_check.toggled.connect(lambda _: self.show_translation_refusal())
        self.model_combo.currentTextChanged.connect(lambda _: self.show_translation_refusal())
        self.diarize_check = QCheckBox("Find speakers")
        self.speaker_mode = QComboBox()
        self.speaker_mode.addItems(_SPEAKER_MODES)
        self.speakers_min = QSpinBox()
        self.speakers_max = QSpinBox()
        for spin in (self.speakers_min, self.speakers_max):
            spin.setRange(1, 20)
        self.speakers_min.setValue(2)
        self.speakers_max.setValue(4)
        self.to_label = QLabel("to")
        self.prompt_edit = QLineEdit()
        self.prompt_edit.setMaxLength(MAX_PROMPT_CHARS)
        self.prompt_edit.setPlaceholderText("Names and terms spelled as they should be, e.g. Siobhan, Kowalczyk")
        self.prompt_edit.setToolTip(
            "Given to Whisper as the text that comes before the audio (its initial prompt): "
            "it then tends to spell these words the same way"
        )
        self.prompt_edit.setClearButtonEnabled(True)
        self.diarize_check.toggled.connect(self._update_enabled)
        self.speaker_mode.currentIndexChanged.connect(self._update_enabled)

        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        layout = QHBoxLayout()
        rows.addLayout(layout)
        layout.addWidget(QLabel("New files:  Model"))
        layout.addWidget(self.model_combo)
        layout.addWidget(QLabel("Language"))
        layout.addWidget(self.language_combo)
        layout.addWidget(self.translate_check)
        layout.addSpacing(12)
        layout.addWidget(self.diarize_check)
        layout.addWidget(self.speaker_mode)
        layout.addWidget(self.speakers_min)
        layout.addWidget(self.to_label)
        layout.addWidget(self.speakers_max)
        layout.addStretch(1)
        rows.addWidget(self.model_note)
        rows.addWidget(self.translate_note)
        vocabulary = QHBoxLayout()
        rows.addLayout(vocabulary)
        vocabulary.addWidget(QLabel("Vocabulary"))
        vocabulary.addWidget(self.prompt_edit, 1)
        self._update_enabled()

    def set_defaults(self, model: str, language: str | None, diarize: bool) -> None:
        self.model_combo.setCurrentText(model)
        index = self.language_combo.findData(language)
        self.language_combo.setCurrentIndex(max(index, 0))
        self.diarize_check.setChecked(diarize)

    def show_model_in_use(self) -> None:
        """Say which model runs for the chosen one when it is another: "Runs base — large-v3 is not available
        offline"."""
        chosen = self.model_combo.currentText().strip()
        in_use = self.models_in_use.for_model(chosen) if chosen else None
        if in_use is None or in_use.name == chosen:
            self.model_note.hide()
            return
        self.model_note.setText(f"Runs {in_use.label}")
        self.model_note.show()

    def show_translation_refusal(self) -> None:
        """While "Translate to English" is on, say so when the chosen model cannot translate (its jobs would fail
        with the same words)."""
        chosen = self.model_combo.currentText().strip()
        refusal = translation_refusal(chosen) if chosen and self.translate_check.isChecked() else None
        self.translate_note.setText(refusal or "")
        self.translate_note.setVisible(refusal is not None)

    def task(self) -> Task:
        return "translate" if self.translate_check.isChecked() else "transcribe"

    def _update_enabled(self) -> None:
        diarize = self.diarize_check.isChecked()
        mode = self.speaker_mode.currentIndex()
        self.speaker_mode.setEnabled(diarize)
        self.speakers_min.setVisible(diarize and mode > 0)
        self.speakers_max.setVisible(diarize and mode == 2)
        self.to_label.setVisible(diarize and mode == 2)

    def prompt(self) -> str | None:
        """The vocabulary as Whisper's prompt: pasted control characters dropped, blank as none."""
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in self.prompt_edit.text())
        return " ".join(text.split()) or None

    def options(self) -> JobOptions:
        model = self.model_combo.currentText().strip() or None
        language = self.language_combo.currentData()
        if not self.diarize_check.isChecked():
            return JobOptions(model=model, language=language, prompt=self.prompt(), task=self.task())
        mode = self.speaker_mode.currentIndex()
        low, high = sorted((self.speakers_min.value(), self.speakers_max.value()))
        return JobOptions(
            model=model,
            language=language,
            prompt=self.prompt(),
            task=self.task(),
            enable_diarization=True,
            num_speakers=self.speakers_min.value() if mode == 1 else None,
            min_speakers=low if mode == 2 else None,
            max_speakers=high if mode == 2 else None,
        )
