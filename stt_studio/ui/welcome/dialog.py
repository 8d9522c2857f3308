"""The welcome step of a first start: what this machine has (GPU name and free memory, or CPU cores), the speed to
expect from each model here (measured by the speed probe in a child process, never on the GUI thread), a
recommendation, and the choice: the bundled model at once (offline too), another model downloaded here with its
progress, or Skip. Help → Welcome and models… opens it again."""

from __future__ import annotations

import json
import os
import sys

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.engine.cpu import cpu_count
from stt_studio.engine.model_catalog import model_status
from stt_studio.engine.speed_probe import MachineReport, report_from_json
from stt_studio.processes import HELPER_PARENT_PID_ENV
from stt_studio.ui.model_downloads.downloader import ModelDownloader
from stt_studio.ui.model_downloads.progress_box import DownloadProgressBox
from stt_studio.ui.welcome.recommendation import BUNDLED_MODEL, WELCOME_MODELS, Hardware, offers, recommend

MEASURING = "Looking at this machine and measuring its speed with the bundled model (about half a minute)…"


class WelcomeDialog(QDialog):
    model_chosen = Signal(str)
    """The model to use from now on (the bundled one, or one downloaded here)."""

    def __init__(
        self,
        downloader: ModelDownloader,
        *,
        report: MachineReport | None = None,
        cpu_cores: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``report``: this machine's facts and speed when known already (else the probe runs now)."""
        super().__init__(parent)
        self.setWindowTitle("Welcome to STT Studio")
        self.downloader = downloader
        self.cpu_cores = cpu_cores or cpu_count()
        self.report: MachineReport | None = None
        self.chosen: str | None = None
        self.recommended: str | None = None
        self._probe: QProcess | None = None

        intro = QLabel(
            "<b>Welcome.</b> STT Studio transcribes on this machine with a Whisper model. A bigger model is more "
            "accurate and slower; the bundled one works at once, offline. You can change this later in "
            "Settings → Models."
        )
        intro.setWordWrap(True)
        self.hardware_label = QLabel(MEASURING)
        self.hardware_label.setWordWrap(True)
        self.probe_label = QLabel()
        self.probe_label.setWordWrap(True)

        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.speed_labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setColumnStretch(3, 1)
        for column, title in enumerate(("Model", "Download", "Speed on this machine", "Quality")):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        for row, name in enumerate(WELCOME_MODELS, start=1):
            radio = QRadioButton(name)
            self.group.addButton(radio)
            self.radios[name] = radio
            self.speed_labels[name] = QLabel("…")
            for column, widget in enumerate((radio, QLabel(), self.speed_labels[name], QLabel())):
                grid.addWidget(widget, row, column, Qt.AlignmentFlag.AlignTop)
        self._grid = grid
        self.group.buttonToggled.connect(self._update_buttons)

        self.progress = QWidget()  # the chosen model's download, once one runs
        self.progress_layout = QVBoxLayout(self.progress)
        self.progress_layout.setContentsMargins(0, 0, 0, 0)
        self.progress_box: DownloadProgressBox | None = None

        self.bundled_button = QPushButton(f"Use the bundled model ({BUNDLED_MODEL})")
        self.bundled_button.clicked.connect(lambda: self.choose(BUNDLED_MODEL))
        self.choose_button = QPushButton("Download and use")
        self.choose_button.setDefault(True)
        self.choose_button.clicked.connect(self._use_selected)
        self.skip_button = QPushButton("Skip")
        self.skip_button.setToolTip("Keep the model set now; Help → Welcome and models… shows this again")
        self.skip_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.skip_button)
        buttons.addStretch(1)
        buttons.addWidget(self.bundled_button)
        buttons.addWidget(self.choose_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.hardware_label)
        layout.addWidget(self.probe_label)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setMinimumWidth(860)

        self._fill_static()
        downloader.finished.connect(self._on_downloaded)
        downloader.started.connect(self._update_buttons)
        downloader.failed.connect(self._update_buttons)
        downloader.cancelled.connect(self._update_buttons)
        if report is not None:
            self.show_report(report)
        else:
            self._start_probe()

    def _fill_static(self) -> None:
        for row, offer in enumerate(offers(None), start=1):
            size_item, note_item = self._grid.itemAtPosition(row, 1), self._grid.itemAtPosition(row, 3)
            assert size_item is not None and note_item is not None
            size, note = size_item.widget(), note_item.widget()
            assert isinstance(size, QLabel) and isinstance(note, QLabel)
            size.setText(offer.download)
            note.setText(offer.note)
            note.setWordWrap(True)
        self.radios[BUNDLED_MODEL].setChecked(True)

    # --- the probe ---------------------------------------------------------------------------------------------
    def _start_probe(self) -> None:
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert(HELPER_PARENT_PID_ENV, str(os.getpid()))  # the probe ends when the window's process does
        process.setProcessEnvironment(env)
        process.finished.connect(self._probe_done)  # a bound method: Qt drops it with the dialog
        process.start(sys.executable, ["-m", "stt_studio.engine.speed_probe"])
        self._probe = process

    def _probe_done(self, *_outcome: object) -> None:
        process = self._probe
        if process is None:
            return
        self._probe = None
        output = bytes(process.readAllStandardOutput().data()).decode(errors="replace").strip()
        process.deleteLater()
        try:
            report = report_from_json(json.loads(output.splitlines()[-1]))
        except (ValueError, IndexError, KeyError, TypeError):
            self.hardware_label.setText("Could not look at this machine: choose a model yourself (or the bundled one).")
            return
        self.show_report(report)

    @property
    def measuring(self) -> bool:
        """The probe runs still (when it ended without a report, the dialog says so and offers the choice)."""
        return self._probe is not None

    def show_report(self, report: MachineReport) -> None:
        self.report = report
        hardware = Hardware.of(report.facts, self.cpu_cores)
        self.hardware_label.setText(hardware.describe())
        self.probe_label.setText(report.probe.describe() if report.probe else (report.problem or ""))
        for offer in offers(report.probe):
            self.speed_labels[offer.name].setText(offer.speed)
        self.recommended = recommend(hardware, report.probe)
        self.radios[self.recommended].setText(f"{self.recommended} (recommended)")
        self.radios[self.recommended].setChecked(True)
        self._update_buttons()

    # --- choosing ------------------------------------------------------------------------------------------------
    def selected(self) -> str:
        for name, radio in self.radios.items():
            if radio.isChecked():
                return name
        return BUNDLED_MODEL

    def _update_buttons(self, *_news: object) -> None:
        name = self.selected()
        downloading = bool(self.downloader.running_names())
        on_machine = name == BUNDLED_MODEL or model_status(name, self.downloader.models_dir).available
        self.choose_button.setText(f"Use {name}" if on_machine else f"Download and use {name}")
        self.choose_button.setEnabled(not downloading)
        self.choose_button.setVisible(name != BUNDLED_MODEL)  # the bundled model has its own button
        self.bundled_button.setDefault(name == BUNDLED_MODEL)
        self.choose_button.setDefault(name != BUNDLED_MODEL)
        for radio in self.radios.values():
            radio.setEnabled(not downloading)

    def _use_selected(self) -> None:
        name = self.selected()
        if name == BUNDLED_MODEL or model_status(name, self.downloader.models_dir).available:
            self.choose(name)
            return
        if self.progress_box is None or self.progress_box.name != name:
            if self.progress_box is not None:
                self.progress_box.deleteLater()
            self.progress_box = DownloadProgressBox(name, self.downloader)
            self.progress_layout.addWidget(self.progress_box)
            self.progress_box.show()
        self.downloader.start(name)

    def _on_downloaded(self, name: str, _path: str) -> None:
        if self.progress_box is not None and name == self.progress_box.name:
            self.choose(name)

    def choose(self, name: str) -> None:
        self.chosen = name
        self.model_chosen.emit(name)
        self.accept()

    def done(self, result: int) -> None:
        probe, self._probe = self._probe, None  # closed before the probe ended: its result is not wanted
        if probe is not None and probe.state() != QProcess.ProcessState.NotRunning:
            probe.kill()
            probe.waitForFinished(5000)
        super().done(result)
