"""Who spoke when: the whole recording as a strip, one thin row per speaker, a playhead; clicking seeks."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from stt_studio.engine.result import TranscriptionResult
from stt_studio.ui.clock import format_clock, format_precise
from stt_studio.ui.speakers import SpeakerPalette, blend

TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
MIN_TICK_SPACING = 80  # pixels between time labels
LANE_GAP = 3
MARGIN = 6
MAX_LABEL_WIDTH = 120
MIN_BAR_WIDTH = 1.5  # a turn of a few milliseconds still shows
LANES_IN_MINIMUM = 4  # the minimum height fits this many speakers at full row height
LANES_IN_HINT = 6  # more than this share the hinted height with thinner rows
NO_SPEAKER_LANE = "Speech"  # a transcript without diarization: one row, neutral
UNASSIGNED_LANE = "Unassigned"  # segments that diarization gave no speaker


@dataclass(frozen=True)
class _Lane:
    title: str
    speaker: str | None


@dataclass(frozen=True)
class _Bar:
    lane: int
    start: float
    end: float


class SpeakerTimeline(QWidget):
    seek_requested = Signal(float)
    """Seconds: the user clicked or dragged on the strip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._speakers = SpeakerPalette()
        self._lanes: list[_Lane] = []
        self._bars: list[_Bar] = []
        self._duration = 0.0
        self._position = 0.0
        self._painted_colors: set[str] = set()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    # Content

    def set_transcript(self, result: TranscriptionResult, speakers: SpeakerPalette) -> None:
        self._speakers = speakers
        self._lanes, self._bars = _lanes_and_bars(result, speakers)
        ends = [bar.end for bar in self._bars]
        self._duration = result.duration if result.duration > 0 else max(ends, default=0.0)
        self._position = 0.0
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self._lanes, self._bars, self._duration, self._position = [], [], 0.0, 0.0
        self._painted_colors = set()
        self.updateGeometry()
        self.update()

    def set_position(self, seconds: float) -> None:
        """Move the playhead; repaints only the strips under its old and new place."""
        old_x, self._position = self._x_of(self._position), seconds
        new_x = self._x_of(seconds)
        if round(old_x) != round(new_x):
            for x in (old_x, new_x):
                self.update(QRect(round(x) - 6, 0, 13, self.height()))

    def position(self) -> float:
        return self._position

    def duration(self) -> float:
        return self._duration

    def colors_used(self) -> set[str]:
        """The turn colors (``#rrggbb``) drawn by the last paint."""
        return set(self._painted_colors)

    # Geometry

    def sizeHint(self) -> QSize:
        return QSize(600, self._height_for(min(max(len(self._lanes), 1), LANES_IN_HINT)))

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self._height_for(min(max(len(self._lanes), 1), LANES_IN_MINIMUM)))

    def _lane_height(self) -> int:
        return self.fontMetrics().height() + 2

    def _axis_height(self) -> int:
        return self._small_font_metrics().height() + 6

    def _height_for(self, lanes: int) -> int:
        return MARGIN + lanes * self._lane_height() + (lanes - 1) * LANE_GAP + 4 + self._axis_height()

    def _label_width(self) -> int:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(lane.title) for lane in self._lanes), default=0)
        return min(widest, MAX_LABEL_WIDTH) + 2 * MARGIN

    def _track(self) -> QRectF:
        """Where time runs: right of the labels, above the axis."""
        left = self._label_width()
        bottom = self.height() - self._axis_height() - 4
        return QRectF(left, MARGIN, max(1, self.width() - left - MARGIN), max(1, bottom - MARGIN))

    def _x_of(self, seconds: float) -> float:
        track = self._track()
        if self._duration <= 0:
            return track.left()
        return track.left() + track.width() * min(max(seconds / self._duration, 0.0), 1.0)

    def _seconds_at(self, x: float) -> float:
        track = self._track()
        return self._duration * min(max((x - track.left()) / track.width(), 0.0), 1.0)

    def _lane_rects(self) -> list[QRectF]:
        track = self._track()
        count = max(len(self._lanes), 1)
        height = max(2.0, (track.height() - (count - 1) * LANE_GAP) / count)
        height = min(height, self._lane_height())
        return [
            QRectF(track.left(), track.top() + i * (height + LANE_GAP), track.width(), height)
            for i in range(len(self._lanes))
        ]

    def _small_font_metrics(self) -> QFontMetrics:
        return QFontMetrics(self._small_font())

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return font

    # Painting

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.WindowText)
        painter.setClipRect(event.rect())
        lanes = self._lane_rects()
        self._paint_lanes(painter, lanes, window, text)
        self._paint_bars(painter, lanes)
        self._paint_axis(painter, text)
        self._paint_playhead(painter, text)
        painter.end()

    def _paint_lanes(self, painter: QPainter, lanes: list[QRectF], window: QColor, text: QColor) -> None:
        track_color = blend(window, text, 0.07)
        metrics = self.fontMetrics()
        label_width = self._label_width() - 2 * MARGIN
        for lane, rect in zip(self._lanes, lanes, strict=True):
            painter.fillRect(rect, track_color)
            if rect.height() >= metrics.height() * 0.8:
                label = metrics.elidedText(lane.title, Qt.TextElideMode.ElideRight, label_width)
                painter.setPen(self._speakers.text_color(lane.speaker, window))
                label_rect = QRectF(MARGIN, rect.top(), label_width, rect.height())
                painter.drawText(label_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)

    def _paint_bars(self, painter: QPainter, lanes: list[QRectF]) -> None:
        self._painted_colors = set()
        if self._duration <= 0:
            return
        for bar in self._bars:
            lane = lanes[bar.lane]
            left, right = self._x_of(bar.start), self._x_of(bar.end)
            color = self._speakers.color(self._lanes[bar.lane].speaker)
            painter.fillRect(QRectF(left, lane.top(), max(right - left, MIN_BAR_WIDTH), lane.height()), color)
            self._painted_colors.add(color.name())

    def _paint_axis(self, painter: QPainter, text: QColor) -> None:
        if self._duration <= 0:
            return
        track = self._track()
        step = _tick_step(self._duration, track.width())
        font = self._small_font()
        metrics = QFontMetrics(font)
        painter.setFont(font)
        painter.setPen(QPen(blend(self.palette().color(QPalette.ColorRole.Window), text, 0.6), 1))
        tick_top = track.bottom() + 2
        seconds = 0.0
        while seconds <= self._duration + 1e-6:
            x = self._x_of(seconds)
            painter.drawLine(QPointF(x, tick_top), QPointF(x, tick_top + 3))
            label = format_clock(seconds)
            width = metrics.horizontalAdvance(label)
            left = min(max(x - width / 2, track.left()), self.width() - width - 1)
            painter.drawText(QPointF(left, tick_top + 3 + metrics.ascent() + 1), label)
            seconds += step

    def _paint_playhead(self, painter: QPainter, text: QColor) -> None:
        if self._duration <= 0:
            return
        track = self._track()
        x = self._x_of(self._position)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(text, 2))
        painter.drawLine(QPointF(x, track.top() - 2), QPointF(x, track.bottom() + 2))

    # Interaction

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._seek_to(event.position().x()):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self._seek_to(event.position().x()):
            event.accept()
            return
        super().mouseMoveEvent(event)

    def _seek_to(self, x: float) -> bool:
        if self._duration <= 0 or x < self._track().left() - MARGIN:
            return False
        seconds = self._seconds_at(x)
        self.set_position(seconds)
        self.seek_requested.emit(seconds)
        return True

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            tip = self._tooltip_at(event.pos().x(), event.pos().y())
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def _tooltip_at(self, x: float, y: float) -> str:
        if self._duration <= 0 or x < self._track().left():
            return ""
        seconds = self._seconds_at(x)
        for index, rect in enumerate(self._lane_rects()):
            if rect.top() <= y <= rect.bottom():
                for bar in self._bars:
                    if bar.lane == index and bar.start <= seconds <= bar.end:
                        span = f"{format_precise(bar.start)} \u2013 {format_precise(bar.end)}"
                        return f"{self._lanes[index].title} · {span}"
        return format_precise(seconds)


def _tick_step(duration: float, width: float) -> float:
    fitting = max(1.0, width / MIN_TICK_SPACING)
    return float(next((step for step in TICK_STEPS if duration / step <= fitting), TICK_STEPS[-1]))


def _lanes_and_bars(result: TranscriptionResult, speakers: SpeakerPalette) -> tuple[list[_Lane], list[_Bar]]:
    """Rows from the diarization's turns when there are any, else from the segments' speakers; a transcript with
    no speakers at all is one neutral row of its segments."""
    spans: list[tuple[str | None, float, float]]
    if result.speaker_turns:
        spans = [(turn.speaker, turn.start, turn.end) for turn in result.speaker_turns]
    else:
        spans = [(segment.speaker, segment.start, segment.end) for segment in result.segments]
    present = {speaker for speaker, _, _ in spans}
    if present <= {None}:
        return [_Lane(NO_SPEAKER_LANE, None)], [_Bar(0, start, end) for _, start, end in spans]
    known = [label for label in speakers.speakers if label in present]
    others = sorted(label for label in present if label is not None and label not in known)
    ordered: list[str | None] = [*known, *others]
    if None in present:
        ordered.append(None)
    lane_of = {speaker: index for index, speaker in enumerate(ordered)}
    lanes = [_Lane(speakers.display_name(speaker) or UNASSIGNED_LANE, speaker) for speaker in ordered]
    return lanes, [_Bar(lane_of[speaker], start, end) for speaker, start, end in spans]
