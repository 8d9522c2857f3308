"""The Start column of a speaker turn's row: the time each of its sentences (segments) starts, beside the line where
it starts, the turn's own first; later ones dimmer."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QWidget

from stt_studio.review.words import WordRef
from stt_studio.ui.clock import format_clock
from stt_studio.ui.editing.text_delegate import SegmentTextDelegate
from stt_studio.ui.models.segments_model import Column, SegmentsTableModel
from stt_studio.ui.speakers import blend

ModelIndex = QModelIndex | QPersistentModelIndex
LATER_SENTENCE_SHADE = 0.6
"""How much of the text color the later sentences' times get (the rest is the background)."""


class TurnStartsDelegate(QStyledItemDelegate):
    def __init__(self, model: SegmentsTableModel, text: SegmentTextDelegate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._text = text

    def sentence_starts(self, index: ModelIndex, widget: QTableView) -> list[tuple[int, int]]:
        """(y from the cell's top, segment) of each sentence of ``index``'s row that starts a line of its text (a
        sentence starting on a line another one started is left out)."""
        row = index.row()
        text_index = self._model.index(row, Column.TEXT)
        cell = QRect(0, 0, widget.columnWidth(Column.TEXT), 1)
        starts: list[tuple[int, int]] = []
        for segment in self._model.segments_of(row):
            if not self._model.segment(segment).words:
                continue
            shown = self._model.row_word(WordRef(segment, 0))
            rect = self._text.word_rect(text_index, cell, shown.word, widget)
            if rect is None:
                continue
            y = round(rect.top())
            if not starts or y > starts[-1][0]:
                starts.append((y, segment))
        return starts

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        widget = option.widget  # type: ignore[attr-defined]
        if len(self._model.segments_of(index.row())) < 2 or not isinstance(widget, QTableView):
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)  # background, selection
        rect: QRect = item.rect  # type: ignore[attr-defined]
        palette: QPalette = item.palette  # type: ignore[attr-defined]
        selected = bool(item.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        text_color = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        later_color = blend(palette.color(QPalette.ColorRole.Base), text_color, LATER_SENTENCE_SHADE)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        line_height = item.fontMetrics.height()  # type: ignore[attr-defined]
        painter.save()
        painter.setClipRect(rect)
        painter.setFont(item.font)  # type: ignore[attr-defined]
        for number, (y, segment) in enumerate(self.sentence_starts(index, widget)):
            painter.setPen(text_color if number == 0 or selected else later_color)
            line = QRect(rect.left() + margin, rect.top() + y, rect.width() - 2 * margin, line_height)
            alignment = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
            painter.drawText(line, int(alignment), format_clock(self._model.segment(segment).start))
        painter.restore()
