"""Who spoke when: the whole recording as a strip, one thin row per speaker (by the names given in review), a
playhead; clicking seeks."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from stt_studio.engine.result import TranscriptionResult
from stt_studio.ui.clock import format_clock, format_precise
from stt_studio.ui.speakers import SpeakerPalette, blend

TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
MIN_TICK_SPACING = 80  # pixels between time labels
LANE_GAP = 3
MARGIN = 6
AXIS_GAP = 4
PLAYHEAD_REACH = 6  # pixels either side of the playhead that a move repaints
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


@dataclass(frozen=True)
class _Layout:
    track: QRectF
    """Where time runs: right of the labels, above the axis."""
    lanes: list[QRectF]
    label_width: int


class SpeakerTimeline(QWidget):
    """The lanes, turns and time axis are drawn once into a pixmap (again after a resize, a new transcript or a
    palette change); moving the playhead, many times a second while playing, only blits two thin strips."""

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
        self._layout: _Layout | None = None
        self._static: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    # Content

    def set_transcript(self, result: TranscriptionResult, speakers: SpeakerPalette, position: float = 0.0) -> None:
        self._speakers = speakers
        self._lanes, self._bars = _lanes_and_bars(result, speakers)
        ends = [bar.end for bar in self._bars]
        self._duration = result.duration if result.duration > 0 else max(ends, default=0.0)
        self._position = position
        self._invalidate()
        self.updateGeometry()

    def clear(self) -> None:
        self._lanes, self._bars, self._duration, self._position = [], [], 0.0, 0.0
        self._painted_colors = set()
        self._invalidate()
        self.updateGeometry()

    def set_position(self, seconds: float) -> None:
        """Move the playhead; repaints only the strips under its old and new place."""
        old_x, self._position = self.x_at(self._position), seconds
        new_x = self.x_at(seconds)
        if round(old_x) != round(new_x):
            for x in (old_x, new_x):
                self.update(QRect(round(x) - PLAYHEAD_REACH, 0, 2 * PLAYHEAD_REACH + 1, self.height()))

    def position(self) -> float:
        return self._position

    def duration(self) -> float:
        return self._duration

    def lane_titles(self) -> list[str]:
        """The rows' titles, top to bottom: the speakers' names."""
        return [lane.title for lane in self._lanes]

    def colors_used(self) -> set[str]:
        """The turn colors (``#rrggbb``) drawn by the last full paint."""
        return set(self._painted_colors)

    # Geometry

    def sizeHint(self) -> QSize:
        return QSize(600, self._height_for(min(max(len(self._lanes), 1), LANES_IN_HINT)))

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self._height_for(min(max(len(self._lanes), 1), LANES_IN_MINIMUM)))

    def _lane_height(self) -> int:
        return self.fontMetrics().height() + 2

    def _axis_height(self) -> int:
        return QFontMetrics(self._small_font()).height() + 6

    def _height_for(self, lanes: int) -> int:
        return MARGIN + lanes * self._lane_height() + (lanes - 1) * LANE_GAP + AXIS_GAP + self._axis_height()

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return font

    def _geometry(self) -> _Layout:
        if self._layout is None:
            metrics = self.fontMetrics()
            # +2: elidedText() elides a text given exactly its own advance
            widest = max((metrics.horizontalAdvance(lane.title) + 2 for lane in self._lanes), default=0)
            label_width = min(widest, MAX_LABEL_WIDTH) + 2 * MARGIN
            bottom = self.height() - self._axis_height() - AXIS_GAP
            track = QRectF(label_width, MARGIN, max(1, self.width() - label_width - MARGIN), max(1, bottom - MARGIN))
            count = max(len(self._lanes), 1)
            height = min(max(2.0, (track.height() - (count - 1) * LANE_GAP) / count), self._lane_height())
            lanes = [
                QRectF(track.left(), track.top() + i * (height + LANE_GAP), track.width(), height)
                for i in range(len(self._lanes))
            ]
            self._layout = _Layout(track, lanes, label_width)
        return self._layout

    def x_at(self, seconds: float) -> float:
        track = self._geometry().track
        if self._duration <= 0:
            return track.left()
        return track.left() + track.width() * min(max(seconds / self._duration, 0.0), 1.0)

    def seconds_at(self, x: float) -> float:
        track = self._geometry().track
        return self._duration * min(max((x - track.left()) / track.width(), 0.0), 1.0)

    def _invalidate(self) -> None:
        self._layout = None
        self._static = None
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._invalidate()
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._invalidate()
        super().changeEvent(event)

    # Painting

    def paintEvent(self, event: QPaintEvent) -> None:
        ratio = self.devicePixelRatioF()
        if self._static is None or self._static.devicePixelRatio() != ratio:
            self._static = self._render_static(ratio)
        painter = QPainter(self)
        painter.setClipRect(event.rect())
        painter.drawPixmap(0, 0, self._static)
        self._paint_playhead(painter)
        painter.end()

    def _render_static(self, ratio: float) -> QPixmap:
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        palette = self.palette()
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.WindowText)
        painter.setFont(self.font())
        self._paint_lanes(painter, window, text)
        self._paint_bars(painter)
        self._paint_axis(painter, window, text)
        painter.end()
        return pixmap

    def _paint_lanes(self, painter: QPainter, window: QColor, text: QColor) -> None:
        layout = self._geometry()
        track_color = blend(window, text, 0.07)
        metrics = self.fontMetrics()
        label_width = layout.label_width - 2 * MARGIN
        for lane, rect in zip(self._lanes, layout.lanes, strict=True):
            painter.fillRect(rect, track_color)
            if rect.height() >= metrics.height() * 0.8:
                label = metrics.elidedText(lane.title, Qt.TextElideMode.ElideRight, label_width)
                painter.setPen(self._speakers.text_color(lane.speaker, window))
                label_rect = QRectF(MARGIN, rect.top(), label_width, rect.height())
                painter.drawText(label_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)

    def _paint_bars(self, painter: QPainter) -> None:
        self._painted_colors = set()
        if self._duration <= 0:
            return
        layout = self._geometry()
        left, scale = layout.track.left(), layout.track.width() / self._duration
        spans_of: list[list[tuple[float, float]]] = [[] for _ in layout.lanes]
        for bar in self._bars:
            spans_of[bar.lane].append((bar.start, bar.end))
        for index, rect in enumerate(layout.lanes):
            color = self._speakers.color(self._lanes[index].speaker)
            for x0, x1 in _merged_pixel_spans(spans_of[index], left, scale):
                painter.fillRect(QRectF(x0, rect.top(), x1 - x0, rect.height()), color)
                self._painted_colors.add(color.name())

    def _paint_axis(self, painter: QPainter, window: QColor, text: QColor) -> None:
        if self._duration <= 0:
            return
        track = self._geometry().track
        step = _tick_step(self._duration, track.width())
        font = self._small_font()
        metrics = QFontMetrics(font)
        painter.setFont(font)
        painter.setPen(QPen(blend(window, text, 0.6), 1))
        tick_top = track.bottom() + 2
        for tick in range(int(self._duration // step) + 1):
            seconds = tick * step
            x = self.x_at(seconds)
            painter.drawLine(QPointF(x, tick_top), QPointF(x, tick_top + 3))
            label = format_clock(seconds)
            width = metrics.horizontalAdvance(label)
            label_left = min(max(x - width / 2, track.left()), self.width() - width - 1)
            painter.drawText(QPointF(label_left, tick_top + 3 + metrics.ascent() + 1), label)

    def _paint_playhead(self, painter: QPainter) -> None:
        if self._duration <= 0:
            return
        track = self._geometry().track
        x = self.x_at(self._position)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.WindowText), 2))
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
        if self._duration <= 0 or x < self._geometry().track.left() - MARGIN:
            return False
        seconds = self.seconds_at(x)
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
        if self._duration <= 0 or x < self._geometry().track.left():
            return ""
        seconds = self.seconds_at(x)
        for index, rect in enumerate(self._geometry().lanes):
            if rect.top() <= y <= rect.bottom():
                for bar in self._bars:
                    if bar.lane == index and bar.start <= seconds <= bar.end:
                        span = f"{format_precise(bar.start)} \u2013 {format_precise(bar.end)}"
                        return f"{self._lanes[index].title} · {span}"
        return format_precise(seconds)


def _merged_pixel_spans(spans: list[tuple[float, float]], left: float, scale: float) -> list[tuple[float, float]]:
    """Time spans as pixel spans, each at least MIN_BAR_WIDTH wide, with those that touch on screen merged
    (a long recording has thousands of turns and a few hundred pixels)."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        x0 = left + start * scale
        x1 = max(left + end * scale, x0 + MIN_BAR_WIDTH)
        if merged and x0 <= merged[-1][1] + 0.5:
            merged[-1] = (merged[-1][0], max(merged[-1][1], x1))
        else:
            merged.append((x0, x1))
    return merged


def _tick_step(duration: float, width: float) -> float:
    fitting = max(1.0, width / MIN_TICK_SPACING)
    return float(next((step for step in TICK_STEPS if duration / step <= fitting), TICK_STEPS[-1]))


def _lanes_and_bars(result: TranscriptionResult, speakers: SpeakerPalette) -> tuple[list[_Lane], list[_Bar]]:
    """One row per speaker with a bar per segment of theirs: what the transcript says, so every change made in
    review (a segment given to another speaker, two speakers merged, one added) shows here as in the table. (The
    diarization's own turns, overlaps included, stay in the JSON and RTTM exports.) A transcript with no speakers
    at all is one neutral row of its segments."""
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
