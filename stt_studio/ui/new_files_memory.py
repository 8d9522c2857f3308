"""The "New files" bar remembers its model and speaker choices across starts (``Preferences.new_files``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QTimer

from stt_studio.ui.preferences import NewFilesChoice, SpeakerMode

if TYPE_CHECKING:
    from stt_studio.ui.views.batch_options import BatchOptionsBar
    from stt_studio.ui.views.main_window import MainWindow

SAVE_DELAY_MS = 400
"""A model name typed into the bar is saved once typing pauses, not per key."""


def read_choice(bar: BatchOptionsBar) -> NewFilesChoice:
    return NewFilesChoice(
        model=bar.model_combo.currentText().strip(),
        diarize=bar.diarize_check.isChecked(),
        speaker_mode=cast(SpeakerMode, bar.speaker_mode.currentText()),
        speakers_min=bar.speakers_min.value(),
        speakers_max=bar.speakers_max.value(),
    )


def show_choice(bar: BatchOptionsBar, choice: NewFilesChoice) -> None:
    if choice.model:
        bar.model_combo.setCurrentText(choice.model)
    bar.diarize_check.setChecked(choice.diarize)
    bar.speaker_mode.setCurrentIndex(max(bar.speaker_mode.findText(choice.speaker_mode), 0))
    bar.speakers_min.setValue(choice.speakers_min)
    bar.speakers_max.setValue(choice.speakers_max)


class NewFilesMemory(QObject):
    """Shows the saved choice in the bar at start, and saves every change of it (off the GUI thread)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        bar = window.batch_options
        if window.preferences.new_files is not None:
            show_choice(bar, window.preferences.new_files)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        bar.model_combo.currentTextChanged.connect(lambda _: self._timer.start())
        bar.diarize_check.toggled.connect(lambda _: self._timer.start())
        bar.speaker_mode.currentIndexChanged.connect(lambda _: self._timer.start())
        bar.speakers_min.valueChanged.connect(lambda _: self._timer.start())
        bar.speakers_max.valueChanged.connect(lambda _: self._timer.start())

    def save(self) -> None:
        window = self.window
        choice = read_choice(window.batch_options)
        if window._quitting or not choice.model or choice == window.preferences.new_files:
            return
        window.preferences = prefs = window.preferences.model_copy(update={"new_files": choice})
        config_dir = window.config_dir
        window.spawn(window._local.run_blocking(lambda: prefs.save(config_dir)))
