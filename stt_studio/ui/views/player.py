"""Play the job's media: play/pause, a seek slider, the time and the speed; a video's picture goes to ``video``
(placed by the transcript view, shown while the media has video). Speeds other than 1× keep the pitch (the FFmpeg
backend's pitch compensation).

QtMultimedia is imported when a bar is built, not with this module: it links the system's PulseAudio client
(libpulse.so.0), which minimal systems lack, and without it only playback is lost, not the window."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QWidget

from stt_studio.system_check import playback_off_reason
from stt_studio.ui.clock import format_clock
from stt_studio.ui.views.media_icons import media_icon

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QMediaPlayer

UNAVAILABLE = "Audio file not available"
SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
SKIP_SECONDS = 5.0
WIDEST_DIGITS = str.maketrans("0123456789", "8888888888")
SEEKABLE = ("LoadedMedia", "BufferingMedia", "BufferedMedia", "EndOfMedia")
"""QMediaPlayer.MediaStatus names (the enum is only there once QtMultimedia has loaded)."""


class PlayerBar(QWidget):
    position_changed = Signal(float)
    """Seconds, many times a second while playing, and after every seek."""
    duration_changed = Signal(float)
    playing_changed = Signal(bool)
    rate_changed = Signal(float)
    play_requested = Signal()
    """The user (or a caller) asked to play: views that paused following the playback follow it again."""

    # The player is driven through queued connections to its C++ slots, never by calling them from Python:
    # stop(), setSource() and setPosition() can block on a lock that one of the FFmpeg backend's threads holds
    # while it waits for the GIL (seen as a hang: stop() called soon after play()), so they must run from
    # the event loop, where the GIL is free.
    _request_source = Signal(QUrl)
    _request_position = Signal("qint64")  # type: ignore[arg-type]  # setPosition's C++ type, for a direct hookup
    _request_play = Signal()
    _request_pause = Signal()
    _request_stop = Signal()
    _request_rate = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._playing = False
        self.playback_off = ""
        """Why nothing can play on this system, in a few words ("" when playback works); its tooltip says all."""
        playback_off_detail = ""
        self._media: QMediaPlayer | None = None
        self.video: QWidget
        """A video's picture (a VideoView where playback works); laid out by the owner of the bar."""
        try:
            self._media = self._start_media()
        except ImportError as error:
            self.playback_off, playback_off_detail = playback_off_reason(error)
            self.video = QWidget(self)
        self.video.hide()
        self._source = QUrl()
        self._loading_seen = False
        self._loaded = False
        self._pending_seek_ms: int | None = None
        self._play_when_loaded = False
        self._position_ms = 0
        self._pause_at_ms: int | None = None
        self._span_start_ms = 0
        self._span_reached = False

        self.play_button = QToolButton(self)
        self.play_button.setAutoRaise(True)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.time_label = QLabel(self)
        self.message_label = QLabel(self.playback_off or UNAVAILABLE, self)
        self.message_label.setToolTip(playback_off_detail)
        self.message_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.speed_combo = QComboBox(self)
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.setToolTip("Playback speed (the pitch is kept)")
        self.speed_combo.currentIndexChanged.connect(self._on_speed_chosen)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time_label)
        layout.addWidget(self.speed_combo)
        layout.addWidget(self.message_label)

        self.play_button.clicked.connect(self.toggle_playback)
        self.slider.actionTriggered.connect(self._on_slider_action)
        if self._media is not None:
            self._media.positionChanged.connect(self._on_player_position)
            self._media.durationChanged.connect(self._on_duration)
            self._media.playbackStateChanged.connect(self._on_playback_state)
            self._media.mediaStatusChanged.connect(self._on_media_status)
            self._media.hasVideoChanged.connect(self._on_has_video)
            self._media.errorOccurred.connect(self._on_error)
        self._show_playing(False)
        self._set_available(False)
        self._update_time_label()

    def _start_media(self) -> QMediaPlayer:
        """The player, its audio output and the video picture (ImportError without QtMultimedia's libraries)."""
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        from stt_studio.ui.views.video_view import VideoView

        # Both parented to this widget, so they are deleted by Qt with it, never by Python's GC.
        player = QMediaPlayer(self)
        player.setAudioOutput(QAudioOutput(self))
        player.setPitchCompensation(True)  # nothing plays yet: no backend thread to wait for
        self.video = VideoView(self)
        player.setVideoOutput(self.video.item)
        queued = Qt.ConnectionType.QueuedConnection
        self._request_source.connect(player.setSource, queued)
        self._request_position.connect(player.setPosition, queued)
        self._request_play.connect(player.play, queued)
        self._request_pause.connect(player.pause, queued)
        self._request_stop.connect(player.stop, queued)
        self._request_rate.connect(player.setPlaybackRate, queued)
        application = QCoreApplication.instance()
        if application is not None:  # C++ to C++: stops playback at exit without Python (nor the GIL) involved
            application.aboutToQuit.connect(player.stop)
        return player

    # API

    @property
    def media_player(self) -> QMediaPlayer:
        """Qt's player (for tests and probes): only where playback works."""
        if self._media is None:
            raise RuntimeError(self.playback_off)
        return self._media

    def load(self, path: Path | None) -> None:
        """Load ``path``; with no path, or a file that is gone, the controls are disabled and say so."""
        available = self._media is not None and path is not None and path.is_file()
        self._source = QUrl.fromLocalFile(str(path)) if path is not None and available else QUrl()
        self._loading_seen = self._loaded = False
        self._pending_seek_ms = None
        self._play_when_loaded = False
        self._pause_at_ms = None
        self._request_stop.emit()
        self.video.hide()
        self._request_source.emit(QUrl())  # setSource() ignores the URL it already has: this forces a reload
        if not self._source.isEmpty():
            self._request_source.emit(self._source)
        self.message_label.setText(self.playback_off or UNAVAILABLE)
        self._set_available(available)
        self._on_duration(0)
        self._on_position(0)

    def is_available(self) -> bool:
        return self.play_button.isEnabled()

    def source_path(self) -> Path | None:
        """The file asked for by the last ``load`` (None: nothing to play)."""
        return Path(self._source.toLocalFile()) if not self._source.isEmpty() else None

    def is_loaded(self) -> bool:
        """Whether that file has loaded (seeks and play apply at once from now on)."""
        return self._loaded

    def seek(self, seconds: float) -> None:
        milliseconds = max(0, round(seconds * 1000))
        if self._loaded:
            self._request_position.emit(milliseconds)
        else:  # still loading: applied once it has loaded
            self._pending_seek_ms = milliseconds
        self._on_position(milliseconds)

    def play_from(self, seconds: float) -> None:
        if self.is_available():
            self._pause_at_ms = None
            self.seek(seconds)
            self.play()

    def play_span(self, start: float, end: float) -> None:
        """Play from ``start`` and pause at ``end`` (a word to check, a segment to hear again)."""
        if self.is_available():
            self.play_from(start)
            self._pause_at_ms = round(end * 1000)
            self._span_start_ms = round(start * 1000)
            self._span_reached = False

    def skip(self, seconds: float) -> None:
        """Move by ``seconds`` (back when negative), within the recording; playing goes on."""
        duration = self.duration_seconds()
        target = self.position_seconds() + seconds
        self.seek(min(max(0.0, target), duration) if duration > 0 else max(0.0, target))

    def set_rate(self, rate: float) -> None:
        """Playback speed: the nearest of SPEEDS (0.5× to 2×). The pitch stays."""
        self.speed_combo.setCurrentIndex(min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - rate)))

    def rate(self) -> float:
        return SPEEDS[self.speed_combo.currentIndex()]

    def step_rate(self, steps: int) -> None:
        """The next faster (``steps`` > 0) or slower speed of the list."""
        index = min(max(self.speed_combo.currentIndex() + steps, 0), len(SPEEDS) - 1)
        self.set_rate(SPEEDS[index])

    def play(self) -> None:
        if not self.is_available():
            return
        self.play_requested.emit()
        if self._loaded:
            self._request_play.emit()
        else:
            self._play_when_loaded = True

    def pause(self) -> None:
        self._play_when_loaded = False
        self._pause_at_ms = None
        self._request_pause.emit()

    def toggle_playback(self) -> None:
        if self.is_playing() or self._play_when_loaded:
            self.pause()
        else:
            self.play()

    def is_playing(self) -> bool:
        return self._media is not None and self._media.playbackState().name == "PlayingState"

    def position_seconds(self) -> float:
        """Where the player is, or is about to be after a seek that has not reached it yet."""
        return self._position_ms / 1000

    def duration_seconds(self) -> float:
        return self._media.duration() / 1000 if self._media is not None else 0.0

    def shutdown(self) -> None:
        """Stop and let go of the file."""
        self.load(None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # Internals

    def _set_available(self, available: bool) -> None:
        self.play_button.setEnabled(available)
        self.slider.setEnabled(available)
        self.speed_combo.setEnabled(available)
        self.time_label.setVisible(available)
        self.message_label.setVisible(not available)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._show_playing(self._playing)  # the icon is drawn in the palette's colours: draw it again
        super().changeEvent(event)

    def _show_playing(self, playing: bool) -> None:
        self._playing = playing
        self.play_button.setIcon(media_icon("pause" if playing else "play", self.palette()))
        self.play_button.setToolTip("Pause" if playing else "Play")

    def _on_slider_action(self, _action: int) -> None:
        # sliderPosition already holds where the click or drag goes; value() does not yet
        self.seek(self.slider.sliderPosition() / 1000)

    def _on_speed_chosen(self, index: int) -> None:
        self._request_rate.emit(SPEEDS[index])
        self.rate_changed.emit(SPEEDS[index])

    def _on_player_position(self, milliseconds: int) -> None:
        if self._pause_at_ms is not None:
            # Positions from before the seek to the span can still arrive: the span counts once it is reached.
            if self._span_start_ms - 250 <= milliseconds < self._pause_at_ms + 500:
                self._span_reached = True
            if self._span_reached and milliseconds >= self._pause_at_ms:
                self.pause()
        self._on_position(milliseconds)

    def _on_position(self, milliseconds: int) -> None:
        self._position_ms = milliseconds
        if not self.slider.isSliderDown():
            self.slider.setValue(milliseconds)
        self._update_time_label()
        self.position_changed.emit(milliseconds / 1000)

    def _on_duration(self, milliseconds: int) -> None:
        self.slider.setRange(0, max(0, milliseconds))
        self.slider.setPageStep(max(1000, milliseconds // 20))
        self.slider.setSingleStep(1000)
        # wide enough for any time up to the duration, so the slider does not jitter as digits change
        widest = format_clock(milliseconds / 1000).translate(WIDEST_DIGITS)
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance(f"{widest} / {widest}"))
        self._update_time_label()
        self.duration_changed.emit(milliseconds / 1000)

    def _update_time_label(self) -> None:
        duration = self.slider.maximum() / 1000
        self.time_label.setText(f"{format_clock(self._position_ms / 1000)} / {format_clock(duration)}")

    def _on_playback_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state.name == "PlayingState"
        self._show_playing(playing)
        self.playing_changed.emit(playing)

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        # statuses of the previous file can arrive after load() asked for the next one (stop() turns EndOfMedia
        # into LoadedMedia): only a load that started after load() counts
        if self.media_player.source() != self._source:
            return
        if status.name == "LoadingMedia":
            self._loading_seen = True
        if self._loaded or not self._loading_seen or status.name not in SEEKABLE:
            return
        self._loaded = True
        if self._pending_seek_ms is not None:
            self._request_position.emit(self._pending_seek_ms)
            self._pending_seek_ms = None
        if self._play_when_loaded:
            self._play_when_loaded = False
            self._request_play.emit()

    def _on_has_video(self, has_video: bool) -> None:
        if self.media_player.source() == self._source:  # not a late word about the file shown before
            self.video.setVisible(has_video and not self._source.isEmpty())

    def _on_error(self, error: QMediaPlayer.Error, description: str) -> None:
        if error.name == "NoError":
            return
        self._request_stop.emit()
        self.message_label.setText(f"Cannot play this file: {description}" if description else UNAVAILABLE)
        self._set_available(False)
