"""The recording panel: the source picker, a level meter, the elapsed time, Record / Pause / Stop, and the live
text. A view only: the controller (``controller.LiveRecording``) fills it and reacts to its signals."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.live.capture import Source
from stt_studio.ui.live.live_text import LiveTextView

METER_FLOOR_DB = -60.0


def meter_value(rms_db: float) -> int:
    """A level in dB below full scale as the meter's 0-100 (silence and anything under -60 dB: 0)."""
    if math.isinf(rms_db) or rms_db <= METER_FLOOR_DB:
        return 0
    return round(100 * (1 - min(0.0, rms_db) / METER_FLOOR_DB))


def elapsed_text(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class RecordingPanel(QDialog):
    record_requested = Signal(str)
    """The source's name (what ``Capture`` takes)."""
    pause_toggled = Signal(bool)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record")
        self.setModal(False)
        self.resize(620, 460)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.source_combo = QComboBox()
        self.source_combo.setMinimumContentsLength(36)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setToolTip("The input level")
        self.meter.setMaximumHeight(12)
        self.elapsed = QLabel(elapsed_text(0))
        self.record_button = QPushButton("Record")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.live_text = LiveTextView()
        self.status = QLabel()
        self.status.setWordWrap(True)

        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Source:"))
        source_row.addWidget(self.source_combo, 1)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.elapsed)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(source_row)
        layout.addLayout(meter_row)
        layout.addLayout(buttons)
        layout.addWidget(self.live_text, 1)
        layout.addWidget(self.status)

        self.record_button.clicked.connect(self._ask_record)
        self.pause_button.toggled.connect(self._on_pause)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.show_idle()

    # --- what the controller shows ---------------------------------------------------------------------------
    def show_sources(self, sources: list[Source]) -> None:
        self.source_combo.clear()
        for source in sources:
            self.source_combo.addItem(source.label, source.name)
            self.source_combo.setItemData(self.source_combo.count() - 1, source.name, Qt.ItemDataRole.ToolTipRole)
        default = next((i for i, s in enumerate(sources) if s.is_default), 0)
        self.source_combo.setCurrentIndex(default)
        self.message.hide()
        self.show_idle()

    def show_problem(self, sentence: str) -> None:
        """Nothing can be recorded (no sound server, no source): say why; the window goes on working."""
        self.message.setText(sentence)
        self.message.show()
        self.record_button.setEnabled(False)
        self.source_combo.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.stop_button.setEnabled(False)

    def show_idle(self) -> None:
        self.record_button.setEnabled(self.source_combo.count() > 0)
        self.source_combo.setEnabled(self.source_combo.count() > 0)
        self.pause_button.setEnabled(False)
        self.pause_button.setChecked(False)
        self.stop_button.setEnabled(False)
        self.meter.setValue(0)

    def show_recording(self) -> None:
        self.live_text.clear_text()
        self.elapsed.setText(elapsed_text(0))
        self.record_button.setEnabled(False)
        self.source_combo.setEnabled(False)
        self.pause_button.setEnabled(True)
        self.stop_button.setEnabled(True)
        self.status.setText("Recording…")

    def show_finishing(self) -> None:
        self.pause_button.setEnabled(False)
        self.stop_button.setEnabled(False)
        self.status.setText("Stopped: finishing the live text, then the recording goes to the queue…")

    def show_level(self, rms_db: float) -> None:
        self.meter.setValue(meter_value(rms_db))

    def show_elapsed(self, seconds: float) -> None:
        self.elapsed.setText(elapsed_text(seconds))

    # --- the user's requests ---------------------------------------------------------------------------------
    def _ask_record(self) -> None:
        name = self.source_combo.currentData()
        if isinstance(name, str):
            self.record_requested.emit(name)

    def _on_pause(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)
        if self.stop_button.isEnabled():
            self.status.setText("Paused: nothing is recorded until you resume" if paused else "Recording…")
