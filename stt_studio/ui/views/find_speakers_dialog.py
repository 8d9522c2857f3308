"""The "Find speakers again" dialog: exactly N speakers, or a range."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stt_studio.jobs.speaker_counts import MAX_SPEAKERS, SpeakerCounts


def _spin(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(1, MAX_SPEAKERS)
    spin.setValue(max(1, min(value, MAX_SPEAKERS)))
    return spin


class FindSpeakersDialog(QDialog):
    def __init__(self, filename: str, speakers_now: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find speakers again")
        self.setMinimumWidth(440)
        now = speakers_now or 2
        found = {None: "No speakers were", 1: "1 speaker was"}.get(speakers_now, f"{speakers_now} speakers were")
        intro = QLabel(
            f"{found} found in {filename}.\nFind them again with another number; the transcript's text is kept."
        )
        intro.setWordWrap(True)
        self.exact_button = QRadioButton("Exactly")
        self.range_button = QRadioButton("Between")
        self.exact_spin = _spin(now)
        self.min_spin, self.max_spin = _spin(max(1, now - 1)), _spin(now + 1)
        self.exact_button.setChecked(True)
        grid = QGridLayout()
        grid.addWidget(self.exact_button, 0, 0)
        grid.addWidget(self.exact_spin, 0, 1)
        grid.addWidget(QLabel("speakers"), 0, 2, 1, 3)
        grid.addWidget(self.range_button, 1, 0)
        grid.addWidget(self.min_spin, 1, 1)
        grid.addWidget(QLabel("and"), 1, 2)
        grid.addWidget(self.max_spin, 1, 3)
        grid.addWidget(QLabel("speakers"), 1, 4)
        grid.setColumnStretch(5, 1)  # the spin boxes keep their size; the room left goes to the right
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.setText("Find speakers")
        self.ok_button: QPushButton = ok
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        for spin in (self.exact_spin, self.min_spin, self.max_spin):
            spin.valueChanged.connect(self._follow)
        self.exact_button.toggled.connect(self._follow)
        self._follow()

    def _follow(self) -> None:
        exact = self.exact_button.isChecked()
        self.exact_spin.setEnabled(exact)
        self.min_spin.setEnabled(not exact)
        self.max_spin.setEnabled(not exact)
        self.max_spin.setMinimum(self.min_spin.value())  # a range cannot run backwards

    def counts(self) -> SpeakerCounts:
        if self.exact_button.isChecked():
            return SpeakerCounts(num_speakers=self.exact_spin.value())
        return SpeakerCounts(min_speakers=self.min_spin.value(), max_speakers=self.max_spin.value())
