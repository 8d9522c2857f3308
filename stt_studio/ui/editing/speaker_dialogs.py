"""Small dialogs for the speakers of a transcript: rename one, merge one into another, add one."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.ui.views.text_fit import fit_placeholder

Speaker = tuple[str, str]
"""(label, the name shown)."""


class _SpeakerDialog(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(380)
        self.form = QFormLayout()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.buttons)

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    @staticmethod
    def _combo(speakers: list[Speaker], current: str | None) -> QComboBox:
        combo = QComboBox()
        for label, name in speakers:
            combo.addItem(name if name == label else f"{name} ({label})", label)
        if current is not None and (index := combo.findData(current)) >= 0:
            combo.setCurrentIndex(index)
        return combo


class RenameSpeakerDialog(_SpeakerDialog):
    """Rename one speaker everywhere: the view, the timeline and every export."""

    def __init__(self, speakers: list[Speaker], current: str | None, parent: QWidget | None = None) -> None:
        super().__init__("Rename speaker", parent)
        self._names = dict(speakers)
        self.speaker_combo = self._combo(speakers, current)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Dr. Chen; empty: back to the default name")
        fit_placeholder(self.name_edit)
        self.form.addRow("Speaker:", self.speaker_combo)
        self.form.addRow("New name:", self.name_edit)
        self.speaker_combo.currentIndexChanged.connect(lambda _: self._fill_name())
        self._fill_name()

    def _fill_name(self) -> None:
        label = self.speaker_combo.currentData()
        name = self._names.get(label, "")
        self.name_edit.setText("" if name == label or name.startswith("Speaker ") else name)
        self.name_edit.selectAll()
        self.name_edit.setFocus()

    def chosen(self) -> tuple[str, str]:
        return self.speaker_combo.currentData(), self.name_edit.text().strip()


class MergeSpeakersDialog(_SpeakerDialog):
    """Two speakers found by diarization who are one person: everything the first said becomes the second's."""

    def __init__(self, speakers: list[Speaker], current: str | None, parent: QWidget | None = None) -> None:
        super().__init__("Merge speakers", parent)
        self.source_combo = self._combo(speakers, current)
        others = [label for label, _ in speakers if label != self.source_combo.currentData()]
        self.into_combo = self._combo(speakers, others[0] if others else None)
        self.form.addRow("Merge:", self.source_combo)
        self.form.addRow("Into:", self.into_combo)
        for combo in (self.source_combo, self.into_combo):
            combo.currentIndexChanged.connect(lambda _: self._validate())
        self._validate()

    def _validate(self) -> None:
        self.ok_button.setEnabled(self.source_combo.currentData() != self.into_combo.currentData())

    def chosen(self) -> tuple[str, str]:
        return self.source_combo.currentData(), self.into_combo.currentData()


class AddSpeakerDialog(_SpeakerDialog):
    """A speaker diarization missed (or a transcript without speakers), optionally given the current segment."""

    def __init__(self, segment_chosen: bool, parent: QWidget | None = None) -> None:
        super().__init__("Add speaker", parent)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Interviewer")
        fit_placeholder(self.name_edit)
        self.assign_check = QCheckBox("Give them the selected segment")
        self.assign_check.setChecked(segment_chosen)
        self.assign_check.setEnabled(segment_chosen)
        self.form.addRow("Name:", self.name_edit)
        self.form.addRow("", self.assign_check)
        self.name_edit.textChanged.connect(lambda text: self.ok_button.setEnabled(bool(text.strip())))
        self.ok_button.setEnabled(False)

    def chosen(self) -> tuple[str, bool]:
        return self.name_edit.text().strip(), self.assign_check.isChecked()
