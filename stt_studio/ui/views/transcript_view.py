"""One finished job's transcript under review: header, review line, speaker timeline, player, find bar and the
segments, a row per speaker turn (``set_grouped``) or per segment.

Rows may be turns, but everything this view says about a "row" (``current_row``, ``show_row``, the word refs) names
the transcript's segments: edits and the review's commands work on segments; the model maps them to its rows.

The parts only talk through this view: the player's position drives the timeline's playhead, the playing row and
the word being said (kept in view unless the user scrolls away); clicks on a word, a row or the timeline seek the
player. Edits go through the ``ReviewController`` (undo, autosave, speakers, the low-confidence pass).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QPainter, QPaintEvent, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.engine.speakers import speaker_count
from stt_studio.jobs.models import JobView
from stt_studio.review.words import WordIndex, WordRef, word_spans
from stt_studio.ui.clock import format_clock
from stt_studio.ui.editing.controller import ReviewController
from stt_studio.ui.editing.review_bar import ReviewBar
from stt_studio.ui.editing.text_delegate import SegmentEditor, SegmentTextDelegate
from stt_studio.ui.models.segments_model import Column, SegmentsTableModel
from stt_studio.ui.speakers import SpeakerPalette, blend, is_dark
from stt_studio.ui.views.find_bar import FindBar
from stt_studio.ui.views.player import PlayerBar
from stt_studio.ui.views.timeline import SpeakerTimeline
from stt_studio.ui.views.turn_gutter import TurnStartsDelegate

ROW_FIT_DELAY_MS = 80
FOLLOW_RESUME_MS = 4000
"""After the user scrolls the segments, the view stops following the playback for this long (or until play)."""
ROWS_FITTED_AT_ONCE = 40
"""Rows measured per turn of the event loop when a transcript opens: a long one does not freeze the window."""
EMPTY_TITLE = "No transcript selected"
EMPTY_HINT = "Select a finished job to read its transcript here."
LIGHT_NOTICE = "background: #fff4ce; color: #5c4400; border: 1px solid #e0b000; border-radius: 4px; padding: 6px;"
DARK_NOTICE = "background: #3d3000; color: #ffe08a; border: 1px solid #8a6d00; border-radius: 4px; padding: 6px;"


class _ElidedLabel(QLabel):
    """A one-line label that elides its text instead of growing the window (long file names)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, self.contentsRect().width())
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(self.contentsRect(), int(self.alignment()), text)
        painter.end()


class TranscriptHeader(QWidget):
    """File name, what produced the transcript and how fast, and any warnings in an amber notice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = _ElidedLabel(self)
        title_font = QFont(self.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.details_label = QLabel(self)
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings_label = QLabel(self)
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextFormat(Qt.TextFormat.RichText)
        self.warnings_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title_label)
        layout.addWidget(self.details_label)
        layout.addSpacing(4)
        layout.addWidget(self.warnings_label)
        self.apply_colors()

    def show_job(self, job: JobView, result: TranscriptionResult, speaker_count: int) -> None:
        title = job.filename or job.job_id
        self.title_label.setText(title)
        self.title_label.setToolTip(title)
        self.details_label.setText(details_line(result, speaker_count, job.completed_at))
        self.warnings_label.setText("<br>".join(f"\u26a0 {html.escape(warning)}" for warning in result.warnings))
        self.warnings_label.setVisible(bool(result.warnings))

    def apply_colors(self, palette: QPalette | None = None) -> None:
        palette = palette if palette is not None else self.palette()
        window = palette.color(QPalette.ColorRole.Window)
        secondary = QPalette(palette)
        secondary.setColor(
            QPalette.ColorRole.WindowText, blend(window, palette.color(QPalette.ColorRole.WindowText), 0.72)
        )
        self.details_label.setPalette(secondary)
        self.warnings_label.setStyleSheet(DARK_NOTICE if is_dark(window) else LIGHT_NOTICE)


def details_line(result: TranscriptionResult, speaker_count: int, completed_at: datetime | None) -> str:
    """e.g. "large-v3 · CUDA float16 · en · 3:45 · processed in 27.0 s · RTF 0.12 · 2 speakers", and on a line of
    its own why the number of speakers is uncertain, when it is. (Results saved before the compute type was recorded
    say the device alone.)"""
    device = f"{result.device.upper()} {result.compute_type}" if result.compute_type else result.device.upper()
    parts = [result.model, device, result.language, format_clock(result.duration)]
    processed = f"processed in {result.processing_time:.1f} s"
    if result.duration > 0:
        processed += f" · RTF {result.processing_time / result.duration:.2f}"
    parts.append(processed)
    if speaker_count:
        parts.append(f"{speaker_count} speaker" + ("s" if speaker_count != 1 else ""))
    if completed_at is not None:
        parts.append(f"completed\u00a0{completed_at.astimezone():%Y-%m-%d\u00a0%H:%M}")  # wraps as one piece
    line = " · ".join(part for part in parts if part)
    if speaker_count and result.speaker_count_note:  # the diarization's doubt about how many speakers there are
        line += "\n" + result.speaker_count_note
    return line


def first_word_matching(segment: Segment, query: str) -> int | None:
    """The word of ``segment`` where ``query`` (as find takes it: trimmed, any case) starts first; None when its
    words do not hold it (text written apart from its words)."""
    needle = query.strip().casefold()
    text = segment.text.strip()
    at = text.casefold().find(needle) if needle else -1
    if at < 0:
        return None
    for word, span in enumerate(word_spans(text, segment.words)):
        if span is not None and span[1] > at:
            return word
    return None


def _has_word(result: TranscriptionResult, ref: WordRef) -> bool:
    return ref.row < len(result.segments) and ref.word < len(result.segments[ref.row].words)


class _EmptyState(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = QLabel(EMPTY_TITLE, self)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.title_label.setFont(font)
        self.hint_label = QLabel(EMPTY_HINT, self)
        self.hint_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for label in (self.title_label, self.hint_label):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        layout.addStretch(1)


class TranscriptView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pages = QStackedWidget(self)
        self.empty_state = _EmptyState(self._pages)
        content = QWidget(self._pages)

        self.header = TranscriptHeader(content)
        self.review_bar = ReviewBar(content)
        self.timeline = SpeakerTimeline(content)
        self.player = PlayerBar(content)
        self.find_bar = FindBar(content)
        self.find_edit = self.find_bar.find_edit
        self.segments_model = SegmentsTableModel(self)
        self.segments_view = QTableView(content)
        self.segments_model.set_grouped(True)
        self.text_delegate = SegmentTextDelegate(self.segments_model, self.segments_view)
        self.text_delegate.segment_to_edit = self._segment_in_row
        self.starts_delegate = TurnStartsDelegate(self.segments_model, self.text_delegate, self.segments_view)
        self._configure_table()

        layout = QVBoxLayout(content)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.header)
        layout.addWidget(self.review_bar)
        layout.addWidget(self.player.video)
        layout.addWidget(self.timeline)
        layout.addWidget(self.player)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.segments_view, 1)

        self._pages.addWidget(self.empty_state)
        self._pages.addWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._pages)

        self._job: JobView | None = None
        self._speakers = SpeakerPalette()
        self._words = WordIndex([])
        self._search_texts: list[str] = []
        self._match_rows: list[int] = []
        self._match_index: int | None = None
        self._word_clicked = False
        self._current_segment: int | None = None
        """The segment of the selected turn the user is on (a word clicked, a match found, a row shown)."""
        self._held: tuple[WordRef, float, float] | None = None
        """A word played on its own (F3): it stays highlighted from ``start`` to ``end`` s, not the words around."""
        self._rows_to_fit: list[int] = []
        self._follow_paused = False
        self._resume_follow = QTimer(self)
        self._resume_follow.setSingleShot(True)
        self._resume_follow.setInterval(FOLLOW_RESUME_MS)
        self._resume_follow.timeout.connect(self._follow_again)

        self.review = ReviewController(self)
        self.document = self.review.document
        self.review_actions = self.review.actions
        self.document.loaded.connect(self._show_loaded)
        self.document.changed.connect(self._show_changed)

        self.player.position_changed.connect(self._follow_position)
        self.player.play_requested.connect(self._follow_again)
        self.player.play_requested.connect(self._release_word)
        self.timeline.seek_requested.connect(self._seek)
        self.segments_view.clicked.connect(self._on_row_clicked)
        self.text_delegate.word_clicked.connect(self._on_word_clicked)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            enter = QShortcut(QKeySequence(key), self.segments_view)
            enter.setContext(Qt.ShortcutContext.WidgetShortcut)
            enter.setWhatsThis("Play the selected segment")  # its name in Help → Keyboard shortcuts
            enter.activated.connect(lambda: self._play_segment(self.current_row()))
        self.segments_view.verticalScrollBar().actionTriggered.connect(lambda _: self._user_scrolled())
        self.segments_view.viewport().installEventFilter(self)
        self.find_bar.query_changed.connect(self._find)
        self.find_bar.next_requested.connect(lambda: self._step_match(1))
        self.find_bar.previous_requested.connect(lambda: self._step_match(-1))
        self.find_bar.install_shortcuts(self)
        self.clear()

    def _configure_table(self) -> None:
        view = self.segments_view
        view.setModel(self.segments_model)
        view.setItemDelegateForColumn(Column.TEXT, self.text_delegate)
        view.setItemDelegateForColumn(Column.START, self.starts_delegate)
        view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setWordWrap(True)
        view.setShowGrid(False)
        view.setFrameShape(QFrame.Shape.StyledPanel)
        # Rows are sized by _fit_rows(), not ResizeToContents: that mode measures every row again whenever any
        # row changes, i.e. on every move of the playing highlight (~0.3 s for 1000 segments).
        view.verticalHeader().hide()
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = view.horizontalHeader()
        header.setSectionResizeMode(Column.START, QHeaderView.ResizeMode.Fixed)  # see _fit_columns()
        header.setSectionResizeMode(Column.SPEAKER, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(Column.TEXT, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.sectionResized.connect(self._on_column_resized)
        self._row_fit_timer = QTimer(self)
        self._row_fit_timer.setSingleShot(True)
        self._row_fit_timer.setInterval(ROW_FIT_DELAY_MS)
        self._row_fit_timer.timeout.connect(self._fit_all_rows)
        self._fit_more_timer = QTimer(self)
        self._fit_more_timer.setSingleShot(True)
        self._fit_more_timer.setInterval(0)
        self._fit_more_timer.timeout.connect(self._fit_some_rows)

    def _on_column_resized(self, column: int, old_width: int, new_width: int) -> None:
        if column == Column.TEXT and old_width != new_width:
            self._row_fit_timer.start()  # restarted while a window resize goes on: rows are fitted once at the end

    def _fit_columns(self) -> None:
        """Start and Speaker as wide as their widest cell, found without measuring every row (ResizeToContents
        samples 1000 rows and could miss the long times at the end): starts only grow, speakers repeat."""
        view, model = self.segments_view, self.segments_model
        header = view.horizontalHeader()
        rows = model.rowCount()
        if rows == 0:
            return
        first_row_of: dict[str | None, int] = {}
        for row in range(rows):
            first_row_of.setdefault(model.row_segment(row).speaker, row)
        for column, sample in ((Column.START, {0, rows - 1}), (Column.SPEAKER, set(first_row_of.values()))):
            cells = [view.sizeHintForIndex(model.index(row, column)).width() for row in sample]
            header.resizeSection(column, max([header.sectionSizeHint(column), *cells]))

    def _fit_all_rows(self) -> None:
        """Each row as tall as its wrapped text at the Text column's width: the rows on screen at once, the others
        a batch per turn of the event loop."""
        rows = self.segments_model.rowCount()
        top = max(0, self.segments_view.rowAt(0))
        self._rows_to_fit = [*range(top, rows), *range(top)][::-1]  # popped from the end: the top row first
        self._fit_some_rows()

    def _fit_some_rows(self) -> None:
        batch = [self._rows_to_fit.pop() for _ in range(min(ROWS_FITTED_AT_ONCE, len(self._rows_to_fit)))]
        self._fit_rows(batch)
        if self._rows_to_fit:
            self._fit_more_timer.start()

    def _fit_rows(self, rows: Iterable[int]) -> None:
        view, model = self.segments_view, self.segments_model
        width = view.columnWidth(Column.TEXT)
        if width <= 0 or model.rowCount() == 0:
            return
        option = QStyleOptionViewItem()
        view.initViewItemOption(option)
        option.rect = QRect(0, 0, width, 1)  # the style wraps only within a valid rect
        plain = view.itemDelegate()
        one_line = max(
            self.text_delegate.one_line_height(option),
            *(plain.sizeHint(option, model.index(0, column)).height() for column in (Column.START, Column.SPEAKER)),
        )
        header = view.verticalHeader()
        header.setDefaultSectionSize(one_line)
        for row in rows:
            if 0 <= row < model.rowCount():
                height = max(one_line, self.text_delegate.sizeHint(option, model.index(row, Column.TEXT)).height())
                if header.sectionSize(row) != height:
                    header.resizeSection(row, height)

    # API

    def show_transcript(
        self, job: JobView, result: TranscriptionResult, media: Path | None, *, etag: str | None = None,
        reviewed: bool = False,
    ) -> None:  # fmt: skip
        """Show ``result`` (version ``etag`` of the job's transcript; ``reviewed``: edited before) and load its
        media. Edits are saved when a storage was given to the ``review`` controller."""
        self._job = job
        self.review.attach(job.job_id, etag, reviewed=reviewed)
        self.player.load(media)
        self.document.load(result)

    def _show_loaded(self, result: TranscriptionResult | None) -> None:
        if result is None:
            self._show_nothing()
            return
        speakers = SpeakerPalette.for_result(result)
        self._speakers = speakers
        self._pages.setCurrentIndex(1)
        self.segments_model.set_result(result, speakers)  # rows start one line high (the default section size)
        self._words = WordIndex(result.segments)
        self._held = None
        self._current_segment = None
        self._show_details(result)
        self.timeline.set_transcript(result, speakers)
        self._search_texts = [segment.text.casefold() for segment in result.segments]
        self._find(self.find_edit.text())
        self._fit_columns()
        # the Text column gets its width when the layout runs, in the event loop: rows are fitted after that
        QTimer.singleShot(0, self, self._fit_all_rows)
        self.segments_view.scrollToTop()
        self._follow_position(self.player.position_seconds())
        self.review.refresh()

    def _show_changed(self, before: TranscriptionResult | None, result: TranscriptionResult) -> None:
        speakers = self._speakers.updated(result)
        self._speakers = speakers
        changed = self.segments_model.update_result(result, speakers)
        self._fit_rows(changed)
        self._fit_columns()  # a speaker renamed may need a wider column
        self._words = WordIndex(result.segments)
        if self._held is not None and not _has_word(result, self._held[0]):
            self._held = None
        if self._current_segment is not None and self._current_segment >= len(result.segments):
            self._current_segment = None
        self._show_details(result)
        self.timeline.set_transcript(result, speakers, self.player.position_seconds())
        self._search_texts = [segment.text.casefold() for segment in result.segments]
        self._refresh_matches()
        self.segments_model.set_playing_row(None)
        self.segments_model.set_playing_word(None)
        self._follow_position(self.player.position_seconds(), scroll=False)
        self.review.refresh()

    def _show_details(self, result: TranscriptionResult) -> None:
        has_speakers = bool(self._speakers.present(result))
        self.segments_view.setColumnHidden(Column.SPEAKER, not has_speakers)
        if self._job is not None:
            self.header.show_job(self._job, result, speaker_count(result) or 0)

    def clear(self) -> None:
        self._job = None
        self.review.attach(None, None, reviewed=False)
        self.player.load(None)
        self.document.load(None)

    def _show_nothing(self) -> None:
        self.segments_model.clear()
        self.timeline.clear()
        self._words = WordIndex([])
        self._search_texts = []
        self._find(self.find_edit.text())
        self._pages.setCurrentIndex(0)
        self.review.refresh()

    def is_empty(self) -> bool:
        return self._pages.currentIndex() == 0

    def result(self) -> TranscriptionResult | None:
        return self.document.result

    def job(self) -> JobView | None:
        return self._job

    @property
    def speakers(self) -> SpeakerPalette:
        return self._speakers

    @property
    def words(self) -> WordIndex:
        return self._words

    def is_grouped(self) -> bool:
        return self.segments_model.grouped

    def set_grouped(self, grouped: bool) -> None:
        """One row per speaker turn, or one per segment; the segment selected stays selected and in view (the
        one playing: in view)."""
        if grouped == self.segments_model.grouped:
            return
        self.review.commit_editor()
        selected = self.segments_view.currentIndex().isValid()
        segment = self.current_row()
        self.segments_model.set_grouped(grouped)
        self._fit_columns()
        QTimer.singleShot(0, self, self._fit_all_rows)
        if segment is not None and selected:
            self.show_row(segment, center=True)
        elif segment is not None:  # the one playing: in view, not selected
            index = self.segments_model.index_of_segment(segment, Column.TEXT)
            self.segments_view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def current_row(self) -> int | None:
        """The selected segment (in a selected turn: the one last clicked, found or shown there, else the one
        playing there, else its first), else the one playing."""
        row = self.segments_view.currentIndex().row()
        if 0 <= row < self.segments_model.rowCount():
            return self._segment_in_row(row)
        return self.segments_model.playing_row

    def _segment_in_row(self, row: int) -> int:
        segments = self.segments_model.segments_of(row)
        for candidate in (self._current_segment, self.segments_model.playing_row):
            if candidate is not None and candidate in segments:
                return candidate
        return segments[0]

    def open_editor(self) -> SegmentEditor | None:
        """The segment editor, while one is open."""
        return self.text_delegate.editor

    def show_row(self, row: int, *, center: bool = False) -> None:
        """Select segment ``row`` (its turn) and scroll it into view (the user's own scrolling is not overridden by
        this)."""
        self._current_segment = row
        index = self.segments_model.index_of_segment(row, Column.TEXT)
        self.segments_view.setCurrentIndex(index)
        hint = QAbstractItemView.ScrollHint.PositionAtCenter if center else QAbstractItemView.ScrollHint.EnsureVisible
        self.segments_view.scrollTo(index, hint)

    # Playback

    def select_segment(self, segment: int) -> None:
        """Select segment ``segment`` (its turn), without scrolling."""
        self._current_segment = segment
        self.segments_view.selectRow(self.segments_model.row_of(segment))

    def scroll_segment_to_top(self, segment: int) -> None:
        """Scroll so that the line where segment ``segment`` starts is at the top (in a turn: not the turn's first
        line)."""
        model, view = self.segments_model, self.segments_view
        index = model.index_of_segment(segment, Column.TEXT)
        view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
        if not model.segment(segment).words:
            return
        cell = view.visualRect(index)
        shown = model.row_word(WordRef(segment, 0))
        word = self.text_delegate.word_rect(index, cell, shown.word, view)
        if word is not None and word.top() - cell.top() > 2:  # the turn's first line
            bar = view.verticalScrollBar()
            bar.setValue(bar.value() + int(word.top() - cell.top()))

    def edit_segment(self, segment: int) -> None:
        """Open the editor on ``segment`` (over its turn's row)."""
        self.show_row(segment)
        self.segments_view.edit(self.segments_model.index_of_segment(segment, Column.TEXT))

    def _on_word_clicked(self, row: int, word: int) -> None:
        self._word_clicked = True  # the row's own click, which comes next, is this one
        self._current_segment = row
        ref = WordRef(row, word)
        self.review.visit(ref)
        start = self._words.word(ref).start
        self.player.play_from(start)
        self._follow_position(start)

    def _on_row_clicked(self, index: QModelIndex) -> None:
        if self._word_clicked:
            self._word_clicked = False
            return
        if 0 <= index.row() < self.segments_model.rowCount():
            self._play_from(self.segments_model.row_segment(index.row()).start)

    def _play_segment(self, segment: int | None) -> None:
        if segment is not None and 0 <= segment < self.segments_model.segment_count():
            self._play_from(self.segments_model.segment(segment).start)

    def _play_from(self, start: float) -> None:
        self.player.play_from(start)
        self._follow_position(start)

    def _seek(self, seconds: float) -> None:
        self.player.seek(seconds)
        self._follow_position(seconds)

    def _follow_position(self, seconds: float, *, scroll: bool = True) -> None:
        # called many times a second while playing: only a changed word costs a repaint (and maybe a scroll)
        self.timeline.set_position(seconds)
        model = self.segments_model
        row = model.segment_at_time(seconds)
        if row != model.playing_row:
            model.set_playing_row(row)
        word = self._words.at(seconds)
        if self._held is not None and self._held[1] <= seconds <= self._held[2]:
            word = self._held[0]
        if word == model.playing_word:
            return
        model.set_playing_word(word)
        if word is not None and scroll and not self._follow_paused:
            self.segments_view.scrollTo(model.index_of_segment(word.row, Column.TEXT))

    def playing_word(self) -> WordRef | None:
        return self.segments_model.playing_word

    def hold_word(self, ref: WordRef, start: float, end: float) -> None:
        """Keep ``ref`` highlighted while the player is between ``start`` and ``end`` s (a word to check played
        with a little around it: the highlight stays on it, also once playback stops after it), until the next
        play or seek elsewhere."""
        self._held = (ref, start, end)
        self._follow_position(self.player.position_seconds())

    def _release_word(self) -> None:
        self._held = None

    def is_following(self) -> bool:
        """Whether the playing word is kept in view (not while the user looks elsewhere)."""
        return not self._follow_paused

    def _user_scrolled(self) -> None:
        self._follow_paused = True
        self._resume_follow.start()

    def _follow_again(self) -> None:
        self._resume_follow.stop()
        self._follow_paused = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.segments_view.viewport() and event.type() == QEvent.Type.Wheel:
            self._user_scrolled()
        return super().eventFilter(watched, event)

    # Find

    def _find(self, query: str) -> None:
        self._refresh_matches()
        self._match_index = None
        if self._match_rows:
            current = self.current_row() or 0
            following = [i for i, row in enumerate(self._match_rows) if row >= current]
            self._select_match(following[0] if following else 0)
        self.find_bar.set_count(self._match_index, len(self._match_rows))

    def _refresh_matches(self) -> None:
        needle = self.find_edit.text().strip().casefold()
        self._match_rows = [row for row, text in enumerate(self._search_texts) if needle and needle in text]
        self.segments_model.set_matches(self._match_rows)
        if self._match_index is not None and self._match_index >= len(self._match_rows):
            self._match_index = None
        if self._match_index is None:
            self.segments_model.set_current_match(None)
        self.find_bar.set_count(self._match_index, len(self._match_rows))

    def _step_match(self, step: int) -> None:
        if not self._match_rows:
            return
        start = self._match_index if self._match_index is not None else (-1 if step > 0 else 0)
        self._select_match((start + step) % len(self._match_rows))
        self.find_bar.set_count(self._match_index, len(self._match_rows))

    def _select_match(self, match_index: int) -> None:
        self._match_index = match_index
        segment = self._match_rows[match_index]
        self._current_segment = segment
        model = self.segments_model
        word = first_word_matching(model.segment(segment), self.find_edit.text())
        model.set_current_match(WordRef(segment, word) if word is not None else None)
        self.segments_view.selectRow(model.row_of(segment))
        self.segments_view.scrollTo(
            model.index_of_segment(segment, Column.TEXT), QAbstractItemView.ScrollHint.PositionAtCenter
        )

    def found_word(self) -> WordRef | None:
        """The word find went to last (marked in its row)."""
        return self.segments_model.current_match

    # Qt

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            # Qt sends PaletteChange to this widget before its children take the new palette: use this one's.
            self.segments_model.set_colors(self.palette())
            self.text_delegate.set_colors(self.palette())
            self.header.apply_colors(self.palette())
            self.review_bar.apply_colors(self.palette())
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_columns()
            self._row_fit_timer.start()
        super().changeEvent(event)
