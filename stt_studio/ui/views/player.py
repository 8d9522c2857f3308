"""Play the job's media: play/pause, a seek slider and the time (audio only; video files play their sound)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QStyle, QToolButton, QWidget

from stt_studio.ui.clock import format_clock

UNAVAILABLE = "Audio file not available"
WIDEST_DIGITS = str.maketrans("0123456789", "8888888888")
SEEKABLE = (
    QMediaPlayer.MediaStatus.LoadedMedia,
    QMediaPlayer.MediaStatus.BufferingMedia,
    QMediaPlayer.MediaStatus.BufferedMedia,
    QMediaPlayer.MediaStatus.EndOfMedia,
)


class PlayerBar(QWidget):
    position_changed = Signal(float)
    """Seconds, many times a second while playing, and after every seek."""
    duration_changed = Signal(float)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Both parented to this widget: an unparented QMediaPlayer crashes the interpreter when GC'd at exit.
        self.media_player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self.media_player.setAudioOutput(self._audio)
        self._pending_seek_ms: int | None = None

        self.play_button = QToolButton(self)
        self.play_button.setAutoRaise(True)
        self.play_button.setToolTip("Play")
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.time_label = QLabel(self)
        self.message_label = QLabel(UNAVAILABLE, self)
        self.message_label.setEnabled(False)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)
        layout.addWidget(self.message_label)

        self.play_button.clicked.connect(self.toggle_playback)
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.media_player.positionChanged.connect(self._on_position)
        self.media_player.durationChanged.connect(self._on_duration)
        self.media_player.playbackStateChanged.connect(self._on_playback_state)
        self.media_player.mediaStatusChanged.connect(self._on_media_status)
        self.media_player.errorOccurred.connect(self._on_error)
        self._show_playing(False)
        self._set_available(False)

    # API

    def load(self, path: Path | None) -> None:
        """Load ``path``; with no path, or a file that is gone, the controls are disabled and say so."""
        self.media_player.stop()
        self._pending_seek_ms = None
        self._on_duration(0)
        self._on_position(0)
        if path is None or not path.is_file():
            self.media_player.setSource(QUrl())
            self.message_label.setText(UNAVAILABLE)
            self._set_available(False)
            return
        self._set_available(True)
        self.media_player.setSource(QUrl.fromLocalFile(str(path)))

    def is_available(self) -> bool:
        return self.play_button.isEnabled()

    def seek(self, seconds: float) -> None:
        milliseconds = max(0, round(seconds * 1000))
        if self.media_player.mediaStatus() in SEEKABLE:
            self.media_player.setPosition(milliseconds)
        else:  # still loading: applied once it has loaded
            self._pending_seek_ms = milliseconds
            self._on_position(milliseconds)

    def play_from(self, seconds: float) -> None:
        if not self.is_available():
            return
        self.seek(seconds)
        self.media_player.play()

    def play(self) -> None:
        if self.is_available():
            self.media_player.play()

    def pause(self) -> None:
        self.media_player.pause()

    def toggle_playback(self) -> None:
        if self.is_playing():
            self.pause()
        else:
            self.play()

    def is_playing(self) -> bool:
        return self.media_player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def position_seconds(self) -> float:
        if self._pending_seek_ms is not None:
            return self._pending_seek_ms / 1000
        return self.media_player.position() / 1000

    def duration_seconds(self) -> float:
        return self.media_player.duration() / 1000

    def shutdown(self) -> None:
        """Stop and let go of the file (the backend's threads end with it)."""
        self.media_player.stop()
        self.media_player.setSource(QUrl())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # Internals

    def _set_available(self, available: bool) -> None:
        self.play_button.setEnabled(available)
        self.slider.setEnabled(available)
        self.time_label.setVisible(available)
        self.message_label.setVisible(not available)

    def _show_playing(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setToolTip("Pause" if playing else "Play")

    def _on_slider_action(self, _action: int) -> None:
        # sliderPosition already holds where the click or drag goes; value() does not yet
        self.seek(self.slider.sliderPosition() / 1000)

    def _on_position(self, milliseconds: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(milliseconds)
        self._update_time_label(milliseconds)
        self.position_changed.emit(milliseconds / 1000)

    def _on_duration(self, milliseconds: int) -> None:
        self.slider.setRange(0, max(0, milliseconds))
        self.slider.setPageStep(max(1000, milliseconds // 20))
        self.slider.setSingleStep(1000)
        # wide enough for any time up to the duration, so the slider does not jitter as digits change
        widest = format_clock(milliseconds / 1000).translate(WIDEST_DIGITS)
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance(f"{widest} / {widest}"))
        self._update_time_label(self.media_player.position())
        self.duration_changed.emit(milliseconds / 1000)

    def _update_time_label(self, milliseconds: int) -> None:
        duration = self.media_player.duration()
        self.time_label.setText(f"{format_clock(milliseconds / 1000)} / {format_clock(duration / 1000)}")

    def _on_playback_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self._show_playing(playing)
        self.playing_changed.emit(playing)

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status in SEEKABLE and self._pending_seek_ms is not None:
            pending, self._pending_seek_ms = self._pending_seek_ms, None
            self.media_player.setPosition(pending)

    def _on_error(self, error: QMediaPlayer.Error, description: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        self.media_player.stop()
        self.message_label.setText(f"Cannot play this file: {description}" if description else UNAVAILABLE)
        self._set_available(False)
