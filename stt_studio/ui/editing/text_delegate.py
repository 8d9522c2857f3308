"""The Text column: each segment's words laid out with their marks (the word being said, the words left to check),
a click on a word reported, and editing in place (Enter commits, Escape cancels)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QPlainTextEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from stt_studio.engine.result import Segment
from stt_studio.review.editing import tokenize
from stt_studio.review.words import WordRef, needs_check, word_spans
from stt_studio.ui.models.segments_model import MATCH_COLOR, SegmentsTableModel
from stt_studio.ui.speakers import blend, is_dark

ModelIndex = QModelIndex | QPersistentModelIndex

CHECK_COLOR_LIGHT = QColor("#c2410c")  # the wavy underline of a word to check: burnt orange on light…
CHECK_COLOR_DARK = QColor("#fb923c")  # …a lighter orange on dark
CHECK_TINT = 0.22  # and a little of it behind the word
CACHED_LAYOUTS = 4000  # every row of a 2-hour transcript (~1 kB each)
V_PADDING = 1  # pixels above and below the text, as the style's own cells have
EDITOR_MARGIN = 2


@dataclass
class _Laid:
    layout: QTextLayout
    spans: list[tuple[int, int] | None]
    height: float


class SegmentTextDelegate(QStyledItemDelegate):
    text_committed = Signal(int, str)
    """Segment, the text as typed: an edit to make (nothing is written to the model)."""
    word_clicked = Signal(int, int)
    """Segment, word (the transcript's): the left button went down and up on this word."""

    def __init__(self, model: SegmentsTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._cache: OrderedDict[tuple[str, tuple[str, ...], tuple[int, ...], int, str], _Laid] = OrderedDict()
        self._last_font = QFont()
        self._last_font_key = self._last_font.key()
        self._check_color = CHECK_COLOR_LIGHT
        self._check_tint = QColor()
        self.editor: SegmentEditor | None = None
        """The editor while one is open."""
        self.segment_to_edit: Callable[[int], int] = lambda row: model.segments_of(row)[0]
        """Which segment of a row an editor opened on it edits (a turn's rows: one sentence at a time)."""
        self.set_colors(QApplication.palette())
        model.modelReset.connect(self._cache.clear)
        self.closeEditor.connect(lambda closed, _hint: self._forget(closed))

    # --- colors and layout -------------------------------------------------------------------------------------
    def set_colors(self, palette: QPalette) -> None:
        base = palette.color(QPalette.ColorRole.Base)
        self._check_color = CHECK_COLOR_DARK if is_dark(base) else CHECK_COLOR_LIGHT
        self._check_tint = blend(base, self._check_color, CHECK_TINT)
        self._cache.clear()

    def _margin(self, widget: QWidget | None) -> int:
        style = widget.style() if widget is not None else QApplication.style()
        return style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1

    def _font_key(self, font: QFont) -> str:
        if font != self._last_font:  # QFont.key() costs ~20 µs; the font hardly ever changes
            self._last_font, self._last_font_key = QFont(font), font.key()
        return self._last_font_key

    def _laid(self, segment: Segment, width: int, font: QFont) -> _Laid:
        """The segment's text laid out at ``width``. Cached by what is drawn (the text, its words, which are
        marked), so a copy of a segment (a new id, another speaker) reuses the layout of the original."""
        threshold = self._model.threshold
        text = segment.text.strip()
        marked = tuple(i for i, word in enumerate(segment.words) if needs_check(word, threshold))
        key = (text, tuple(word.word for word in segment.words), marked, width, self._font_key(font))
        laid = self._cache.get(key)
        if laid is not None:
            self._cache.move_to_end(key)
            return laid
        layout = QTextLayout(text, font)
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        spans = word_spans(text, segment.words)
        formats = []
        for position in marked:
            span = spans[position]
            if span is not None:
                mark = QTextCharFormat()
                mark.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                mark.setUnderlineColor(self._check_color)
                mark.setBackground(self._check_tint)
                formats.append(_range(span, mark))
        layout.setFormats(formats)
        height = 0.0
        layout.beginLayout()
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(max(1, width))
            line.setPosition(QPointF(0, height))
            height += line.height()
        layout.endLayout()
        laid = _Laid(layout, spans, height)
        self._cache[key] = laid
        if len(self._cache) > CACHED_LAYOUTS:
            self._cache.popitem(last=False)
        return laid

    # --- QStyledItemDelegate ---------------------------------------------------------------------------------------
    def one_line_height(self, option: QStyleOptionViewItem) -> int:
        return int(option.fontMetrics.height()) + 2 * V_PADDING  # type: ignore[attr-defined]

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        margin = self._margin(option.widget)  # type: ignore[attr-defined]
        width = option.rect.width() - 2 * margin  # type: ignore[attr-defined]
        font = option.font  # type: ignore[attr-defined]
        if width <= 0:
            return super().sizeHint(option, index)
        laid = self._laid(self._model.row_segment(index.row()), width, font)
        line = option.fontMetrics.height()  # type: ignore[attr-defined]
        return QSize(option.rect.width(), math.ceil(max(laid.height, line)) + 2 * V_PADDING)  # type: ignore[attr-defined]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""  # type: ignore[attr-defined]
        widget = item.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)  # background, selection
        margin = self._margin(widget)
        rect = item.rect  # type: ignore[attr-defined]
        laid = self._laid(self._model.row_segment(index.row()), rect.width() - 2 * margin, item.font)  # type: ignore[attr-defined]
        palette: QPalette = item.palette  # type: ignore[attr-defined]
        selected = bool(item.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setClipRect(rect)
        painter.setPen(palette.color(role))
        selections = self._selections(index, laid, palette, selected)
        laid.layout.draw(painter, QPointF(rect.left() + margin, rect.top() + V_PADDING), selections)
        painter.restore()

    def _selections(
        self, index: ModelIndex, laid: _Laid, palette: QPalette, selected: bool
    ) -> list[QTextLayout.FormatRange]:
        ranges = []
        found = self._model.current_match_row_word()
        if found is not None and found.row == index.row() and (span := _span(laid, found.word)) is not None:
            mark = QTextCharFormat()
            mark.setBackground(MATCH_COLOR)
            mark.setForeground(QColor("black"))
            ranges.append(_range(span, mark))
        playing = self._model.playing_row_word()
        if playing is not None and playing.row == index.row() and (span := _span(laid, playing.word)) is not None:
            mark = QTextCharFormat()
            # the selection's colors, the other way round on a selected row
            fill, text = QPalette.ColorRole.Highlight, QPalette.ColorRole.HighlightedText
            if selected:
                fill, text = text, fill
            mark.setBackground(palette.color(fill))
            mark.setForeground(palette.color(text))
            ranges.append(_range(span, mark))
        return ranges

    def word_rect(self, index: ModelIndex, cell: QRect, word: int, widget: QWidget | None) -> QRectF | None:
        """Where word ``word`` of ``index``'s row (its place among the row's words: ``row_word``) is drawn in a cell
        at ``cell``; None for a word not in the text."""
        margin = self._margin(widget)
        font = widget.font() if widget is not None else QApplication.font()
        laid = self._laid(self._model.row_segment(index.row()), cell.width() - 2 * margin, font)
        span = laid.spans[word] if 0 <= word < len(laid.spans) else None
        if span is None:
            return None
        line = laid.layout.lineForTextPosition(span[0])
        left, right = _x_of(line, span[0]), _x_of(line, span[1])
        return QRectF(cell.left() + margin + left, cell.top() + V_PADDING + line.y(), right - left, line.height())

    def word_at(self, index: ModelIndex, rect_width: int, x: float, y: float, widget: QWidget | None) -> int | None:
        """The word of ``index``'s row (its place among the row's words) under (x, y), relative to the cell's top
        left; None between words."""
        margin = self._margin(widget)
        font = widget.font() if widget is not None else QApplication.font()
        laid = self._laid(self._model.row_segment(index.row()), rect_width - 2 * margin, font)
        x, y = x - margin, y - V_PADDING
        for number in range(laid.layout.lineCount()):
            line = laid.layout.lineAt(number)
            if line.y() <= y < line.y() + line.height():
                if not 0 <= x <= line.naturalTextWidth():
                    return None
                position = line.xToCursor(x, QTextLine.CursorPosition.CursorOnCharacter)
                for word, span in enumerate(laid.spans):
                    if span is not None and span[0] <= position < span[1]:
                        return word
                return None
        return None

    def editorEvent(
        self, event: QEvent, model: QAbstractItemModel, option: QStyleOptionViewItem, index: ModelIndex
    ) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
        ):
            rect = option.rect  # type: ignore[attr-defined]
            point = event.position()
            word = self.word_at(index, rect.width(), point.x() - rect.left(), point.y() - rect.top(), option.widget)  # type: ignore[attr-defined]
            if word is not None:
                self.word_clicked.emit(*self._model.segment_word(index.row(), word))
        return False  # the view goes on as usual (selection, its clicked signal)

    # --- editing --------------------------------------------------------------------------------------------------
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: ModelIndex) -> QWidget:
        editor = SegmentEditor(parent)
        editor.commit_requested.connect(lambda: self.commit(editor))
        editor.destroyed.connect(lambda: self._forget(editor))
        self.editor = editor
        return editor

    def _forget(self, editor: QWidget) -> None:
        if self.editor is editor:
            self.editor = None

    def commit(self, editor: SegmentEditor) -> None:
        """Take the editor's text as an edit, and close it."""
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.NoHint)

    def discard(self, editor: SegmentEditor) -> None:
        """Close the editor; its text is not taken (not even when it loses the focus while closing)."""
        editor.discarded = True
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.RevertModelCache)

    def setEditorData(self, editor: QWidget, index: ModelIndex) -> None:
        if isinstance(editor, SegmentEditor):
            segment = self.segment_to_edit(index.row())
            editor.setPlainText(self._model.segment(segment).text.strip())
            editor.row = segment

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: ModelIndex) -> None:
        if isinstance(editor, SegmentEditor) and not editor.discarded and 0 <= editor.row < self._model.segment_count():
            text = editor.toPlainText()
            if text.split() != self._model.segment(editor.row).text.split():
                self.text_committed.emit(editor.row, text)

    def helpEvent(
        self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: ModelIndex
    ) -> bool:
        """A turn's sentence under the pointer says its own times (the row's Start is the turn's)."""
        if event is None or event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        rect = option.rect  # type: ignore[attr-defined]
        word = self.word_at(index, rect.width(), event.pos().x() - rect.left(), event.pos().y() - rect.top(), view)
        if word is None:
            return super().helpEvent(event, view, option, index)
        segment = self._model.segment_word(index.row(), word).row
        QToolTip.showText(event.globalPos(), self._model.segment_tooltip(segment), view)
        return True

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        rect = QRect(option.rect)  # type: ignore[attr-defined]
        if isinstance(editor, SegmentEditor):
            segment = editor.row if editor.row >= 0 else self.segment_to_edit(index.row())
            rect = self._sentence_lines(index, rect, segment, option.widget)  # type: ignore[attr-defined]
        editor.setGeometry(rect)
        if isinstance(editor, SegmentEditor):
            editor.row_height = rect.height()
            editor.fit_height()

    def _sentence_lines(self, index: ModelIndex, cell: QRect, segment: int, widget: QWidget | None) -> QRect:
        """The lines of ``cell`` where ``segment``'s words are drawn: a turn's sentence is edited over its own lines,
        the turn's other lines stay in sight (the whole cell for a row of one segment)."""
        words = self._model.segment(segment).words if 0 <= segment < self._model.segment_count() else []
        if len(self._model.segments_of(index.row())) < 2 or not words:
            return cell
        first = self._model.row_word(WordRef(segment, 0))
        last = self._model.row_word(WordRef(segment, len(words) - 1))
        top, bottom = self.word_rect(index, cell, first.word, widget), self.word_rect(index, cell, last.word, widget)
        if top is None or bottom is None:
            return cell
        y = max(cell.top(), math.floor(top.top()) - V_PADDING)
        return QRect(cell.left(), y, cell.width(), max(1, min(cell.bottom() + 1, math.ceil(bottom.bottom())) - y))


class SegmentEditor(QPlainTextEdit):
    """A segment's text being edited: Enter commits, Escape cancels (the delegate's doing), no line breaks."""

    commit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row = -1
        self.row_height = 0
        self.discarded = False
        self.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.document().setDocumentMargin(EDITOR_MARGIN)
        self.textChanged.connect(self.fit_height)

    def fit_height(self) -> None:
        """As tall as its text wrapped at its width, and never shorter than the row it covers: no scrolling."""
        width = self.width() - 2 * self.frameWidth() - 2 * EDITOR_MARGIN
        if width <= 0 or self.row_height <= 0:
            return  # not placed over its row yet
        flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.TextFlag.TextWrapAnywhere)
        text = self.toPlainText() or " "
        needed = self.fontMetrics().boundingRect(0, 0, width, 100_000, flags, text).height() + 2 * EDITOR_MARGIN + 2
        height = max(self.row_height, needed)
        if height != self.height():
            self.resize(self.width(), height)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier)
        ):
            self.commit_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasText():  # pasted line breaks become spaces: a segment is one paragraph
            self.insertPlainText(" ".join(source.text().split()))
            return
        super().insertFromMimeData(source)

    def word_index_at_cursor(self, language: str) -> int:
        """How many words lie before the cursor: where a split at the cursor puts the second segment's start."""
        return len(tokenize(self.toPlainText()[: self.textCursor().position()], language))


def _span(laid: _Laid, word: int) -> tuple[int, int] | None:
    return laid.spans[word] if 0 <= word < len(laid.spans) else None


def _x_of(line: QTextLine, position: int) -> float:
    x = line.cursorToX(position)  # PySide gives (x, position) for C++'s in-out argument
    return float(x[0] if isinstance(x, tuple) else x)  # type: ignore[arg-type]


def _range(span: tuple[int, int], text_format: QTextCharFormat) -> QTextLayout.FormatRange:
    found = QTextLayout.FormatRange()
    found.start = span[0]
    found.length = span[1] - span[0]
    found.format = text_format
    return found
