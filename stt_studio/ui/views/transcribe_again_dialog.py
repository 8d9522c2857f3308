"""The "Transcribe again" dialog: another Whisper model or language for a finished job (the batch options' lists)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.options import known_languages
from stt_studio.jobs.new_transcription import AUTO, NewTranscription
from stt_studio.ui.views.batch_options import MODEL_CHOICES


class TranscribeAgainDialog(QDialog):
    def __init__(self, filename: str, model: str, language: str | None, parent: QWidget | None = None) -> None:
        """``model`` and ``language``: what the job was transcribed with (None: detected)."""
        super().__init__(parent)
        self.setWindowTitle("Transcribe again")
        self.setMinimumWidth(440)
        self._was = (public_name(model), language)
        intro = QLabel(
            f"{filename} was transcribed with {self._was[0]}. Transcribe it again with another model or language; "
            "its speech regions and speaker turns are kept; the words and their times are found anew."
        )
        intro.setWordWrap(True)
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.addItems(MODEL_CHOICES)
        self.model_combo.setCurrentText(self._was[0])
        self.language_combo = QComboBox()
        self.language_combo.addItem("Auto-detect", None)
        for code in sorted(known_languages()):
            self.language_combo.addItem(code, code)
        self.language_combo.setCurrentIndex(max(self.language_combo.findData(language), 0))
        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("Language", self.language_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.setText("Transcribe again")
        self.ok_button: QPushButton = ok
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.model_combo.currentTextChanged.connect(lambda _: self._follow())
        self.language_combo.currentIndexChanged.connect(lambda _: self._follow())
        self._follow()

    def _chosen(self) -> tuple[str, str | None]:
        return public_name(self.model_combo.currentText().strip()), self.language_combo.currentData()

    def _follow(self) -> None:
        model, _ = self._chosen()
        self.ok_button.setEnabled(bool(model) and self._chosen() != self._was)  # the same choice would change nothing

    def change(self) -> NewTranscription:
        model, language = self._chosen()
        return NewTranscription(model=model, language=language or AUTO)
