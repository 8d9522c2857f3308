"""The export dialog: which formats, which folder, and how (speakers, timestamps, subtitle line limits and rules).

It only asks: the caller runs ``export_jobs`` with ``chosen()`` off the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stt_studio.exports import (
    DESCRIPTIONS,
    EXTENSIONS,
    FORMATS,
    NETFLIX,
    ExportOptions,
    ExportOptionsError,
    ExportRequest,
)
from stt_studio.ui.views.subtitle_rules_box import SubtitleRulesBox, in_dialog_words
from stt_studio.user_paths import expand_home

NOT_DIARIZED_TIP = "None of the selected jobs was diarized, so there are no speaker turns to export"
_FORMAT_COLUMNS = 2
_MAX_LINE_WIDTH = 500
_MAX_LINE_COUNT = 20


class ExportDialog(QDialog):
    """Asks how to export ``job_count`` finished jobs. ``initial`` (e.g. the last choice) presets every field."""

    def __init__(
        self,
        job_count: int,
        default_folder: Path,
        *,
        any_diarized: bool = True,
        initial: ExportRequest | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export transcripts")
        self._any_diarized = any_diarized
        noun = "transcript" if job_count == 1 else "transcripts"
        summary = QLabel(f"Export {job_count} {noun}, one file per format each. Existing files are kept.")

        self.format_boxes = self._make_format_boxes()
        self.folder_edit = QLineEdit()
        self.browse_button = QPushButton("Browse…")
        self.speakers_box = QCheckBox("Include speakers")
        self.speakers_box.setToolTip("Speaker labels in txt, srt, vtt, docx and the transcript formats")
        self.timestamps_box = QCheckBox("Include timestamps")
        self.timestamps_box.setToolTip("Times in txt and docx; subtitles, json, tsv and rttm always carry them")
        self.line_width_spin = self._limit_spin(_MAX_LINE_WIDTH, " characters", "srt/vtt: wrap lines at this width")
        self.line_count_spin = self._limit_spin(_MAX_LINE_COUNT, " lines", "srt/vtt: start a new cue after this")
        self.rules_box = SubtitleRulesBox()
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: palette(highlight);")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Export")

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self._formats_group())
        layout.addLayout(self._folder_row())
        options_row = QHBoxLayout()
        options_row.addWidget(self._options_group())
        options_row.addWidget(self.rules_box)
        layout.addLayout(options_row)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.buttons)

        self._connect()
        self._preset(initial or ExportRequest(default_folder, [], ExportOptions()))

    def _make_format_boxes(self) -> dict[str, QCheckBox]:
        boxes: dict[str, QCheckBox] = {}
        for fmt in FORMATS:
            box = QCheckBox(f".{EXTENSIONS[fmt]}  {DESCRIPTIONS[fmt]}")
            if fmt == "rttm" and not self._any_diarized:
                box.setEnabled(False)
                box.setToolTip(NOT_DIARIZED_TIP)
            boxes[fmt] = box
        return boxes

    @staticmethod
    def _limit_spin(maximum: int, suffix: str, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(0, maximum)
        spin.setSuffix(suffix)
        spin.setSpecialValueText("No limit")  # shown for 0, the minimum
        spin.setToolTip(tip)
        return spin

    def _formats_group(self) -> QGroupBox:
        group = QGroupBox("Formats")
        grid = QGridLayout(group)
        for index, box in enumerate(self.format_boxes.values()):
            grid.addWidget(box, index // _FORMAT_COLUMNS, index % _FORMAT_COLUMNS)
        return group

    def _folder_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder:"))
        row.addWidget(self.folder_edit, stretch=1)
        row.addWidget(self.browse_button)
        return row

    def _options_group(self) -> QGroupBox:
        group = QGroupBox("Options")
        form = QFormLayout(group)
        form.addRow(self.speakers_box)
        form.addRow(self.timestamps_box)
        form.addRow("Max line width:", self.line_width_spin)
        form.addRow("Max lines per subtitle:", self.line_count_spin)
        return group

    def _connect(self) -> None:
        for box in self.format_boxes.values():
            box.toggled.connect(self._update_ok)
        self.folder_edit.textChanged.connect(self._update_ok)
        self.browse_button.clicked.connect(self._browse)
        self.line_width_spin.valueChanged.connect(self._update_line_count)
        for control in (self.speakers_box, self.line_width_spin, self.line_count_spin):
            signal = control.toggled if isinstance(control, QCheckBox) else control.valueChanged
            signal.connect(self._update_ok)
        self.rules_box.changed.connect(self._update_ok)
        self.rules_box.guideline_button.clicked.connect(self._apply_guideline)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def _preset(self, request: ExportRequest) -> None:
        self.folder_edit.setText(str(request.folder))
        for fmt, box in self.format_boxes.items():
            box.setChecked(box.isEnabled() and fmt in request.formats)
        options = request.options
        self.speakers_box.setChecked(options.include_speakers)
        self.timestamps_box.setChecked(options.include_timestamps)
        self.line_width_spin.setValue(options.max_line_width or 0)
        self.line_count_spin.setValue(options.max_line_count or 0)
        self.rules_box.preset(options)
        self._update_line_count()
        self._update_ok()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _update_line_count(self) -> None:
        # WhisperX only splits subtitles by line count when it wraps lines at a width.
        self.line_count_spin.setEnabled(self.line_width_spin.value() > 0)

    def _apply_guideline(self) -> None:
        self.line_width_spin.setValue(NETFLIX.max_line_width)
        self.line_count_spin.setValue(NETFLIX.max_line_count)
        self.rules_box.apply_guideline(speakers=self.speakers_box.isChecked())

    def problem(self) -> str:
        """Why the options chosen cannot go together, in the dialog's words; "" when they can."""
        try:
            self._options()
        except ExportOptionsError as exc:
            return in_dialog_words(str(exc))
        return ""

    def _update_ok(self) -> None:
        problem = self.problem()
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        ready = bool(self.chosen_formats()) and bool(self.folder_edit.text().strip())
        self.ok_button.setEnabled(ready and not problem)

    def chosen_formats(self) -> list[str]:
        return [fmt for fmt, box in self.format_boxes.items() if box.isEnabled() and box.isChecked()]

    def _options(self) -> ExportOptions:
        width = self.line_width_spin.value() or None
        count = (self.line_count_spin.value() or None) if width else None
        return ExportOptions(
            include_speakers=self.speakers_box.isChecked(),
            include_timestamps=self.timestamps_box.isChecked(),
            max_line_width=width,
            max_line_count=count,
            **self.rules_box.rules(),
        )

    def chosen(self) -> ExportRequest:
        """What was chosen; raises ExportOptionsError when ``problem()`` says why not (Export is disabled then)."""
        options = self._options()
        folder = expand_home(self.folder_edit.text().strip())
        return ExportRequest(folder=folder, formats=self.chosen_formats(), options=options)
