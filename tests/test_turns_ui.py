"""The transcript read as a conversation, in the real window (offscreen) with its real worker (tiny.en, CPU) on
espeak-ng speech: a row per speaker turn, the speaker named once per turn, each sentence's times on hover, and
editing a word, splitting and merging, the playing word, find and the low-confidence pass on the right word of a
turn's sentence; View → Group by speaker turn goes back to a row per segment and is remembered.

The dialogue is transcribed without speaker detection; its transcript is then arranged with the review's own edits
(merge, split at the known turn boundaries, add speakers, assign them) into one segment per line said, by
speakers A, A, B, A: four segments, three turns. Rows and words are worked out here from the segments' speakers,
not with the model's mapping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage, QPalette
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from stt_studio.engine.result import TranscriptionResult, Word
from stt_studio.jobs.models import JobStatus
from stt_studio.review.words import WordRef
from stt_studio.settings import Settings
from stt_studio.ui.clock import format_clock, format_precise
from stt_studio.ui.editing import commands
from stt_studio.ui.models.segments_model import Column
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.views.transcript_view import TranscriptView
from tests.desktop import Desktop, desktop_app, desktop_env, wait_until
from tests.modes import open_window
from tests.speech import SENTENCES, Dialogue, dialogue

pytestmark = [pytest.mark.slow, pytest.mark.no_qt_log]  # media threads log while pytest-qt swaps its handler

LINES = [(0, SENTENCES[0]), (0, SENTENCES[1]), (1, SENTENCES[2]), (0, SENTENCES[3])]
"""Speaker A twice, then B, then A: three turns."""
NAMES = ("Ada", "Ben")


@dataclass
class Session:
    desktop: Desktop
    window: MainWindow
    talk: Dialogue
    arranged: TranscriptionResult
    root: Path
    grouped_at_start: bool
    """Whether a first start's window showed a row per turn, with the View menu's item checked."""

    @property
    def app(self) -> QApplication:
        return self.desktop.app

    @property
    def view(self) -> TranscriptView:
        return self.window.transcript_view


def _arrange(window: MainWindow, talk: Dialogue) -> TranscriptionResult:
    """One segment per line said, each with its speaker, made with the review's edits."""
    review = window.transcript_view.review
    result = window.transcript_view.result()
    assert result is not None
    while len(result.segments) > 1:
        assert review.edit(commands.MergeSegments, 0)
        result = window.transcript_view.result()
        assert result is not None
    words = result.segments[0].words
    for (_, previous_end, _), (start, _, _) in reversed(list(zip(talk.turns, talk.turns[1:], strict=False))):
        boundary = (previous_end + start) / 2
        assert review.edit(commands.SplitSegment, 0, next(i for i, w in enumerate(words) if w.start >= boundary))
    labels = []
    for name in NAMES:
        before = window.transcript_view.result()
        assert before is not None
        add = commands.AddSpeaker(window.transcript_view.document, before, name)
        window.transcript_view.document.push(add)
        labels.append(add.label)
    for row, (who, _) in enumerate(LINES):
        assert review.edit(commands.SetSpeaker, row, labels[who])
    arranged = window.transcript_view.result()
    assert arranged is not None and len(arranged.segments) == len(LINES)
    assert all(len(segment.words) >= 5 for segment in arranged.segments), [s.text for s in arranged.segments]
    return arranged


@pytest.fixture(scope="module")
def session(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("turns-ui")
    patch = pytest.MonkeyPatch()
    desktop = Desktop(desktop_app(qapp), desktop_env(patch, root, settings.resolved_models_dir))
    try:
        window = open_window(desktop, "local", None)
        window.resize(1280, 800)
        grouped_at_start = window.transcript_view.is_grouped() and window.group_by_turn.action.isChecked()
        talk = dialogue(root / "talk", LINES, "turns", pause_seconds=0.9)
        window.add_paths([talk.path])

        def job_id() -> str | None:
            return next((job.job_id for job in window.queue_model.jobs() if job.filename == talk.path.name), None)

        def done() -> bool:
            return any(
                j.filename == talk.path.name and j.status == JobStatus.COMPLETED for j in window.queue_model.jobs()
            )

        wait_until(desktop.app, done, 400, "the dialogue to be transcribed")
        shown = job_id()
        assert shown is not None
        window.open_job(shown)
        view = window.transcript_view
        wait_until(desktop.app, lambda: window._shown_job == shown and view.result() is not None, 60, "the transcript")
        wait_until(desktop.app, view.player.is_loaded, 30, "the media to load")
        yield Session(desktop, window, talk, _arrange(window, talk), root, grouped_at_start)
    finally:
        desktop.close()
        patch.undo()


# --- helpers -----------------------------------------------------------------------------------------------------
def _fresh(s: Session) -> TranscriptionResult:
    """The arranged transcript shown with a fresh history, grouped, paused at 0, the segments focused."""
    if not s.window.group_by_turn.action.isChecked():
        s.window.group_by_turn.action.setChecked(True)
    s.view.document.load(s.arranged)
    s.view.review.visit(None)  # F3 goes on from no word an earlier test visited
    s.view.player.pause()
    s.view.player.seek(0.0)
    s.view.review.set_threshold(0.6)
    s.view.find_edit.clear()
    s.app.processEvents()
    _focus_segments(s)
    return s.arranged


def _focus_segments(s: Session) -> None:
    if QApplication.activeWindow() is not s.window:
        s.window.activateWindow()
        wait_until(s.app, lambda: QApplication.activeWindow() is s.window, 5, "the window to be active")
    s.view.segments_view.setFocus()


def _key(s: Session, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    _focus_segments(s)
    QtBot.keyClick(s.view.segments_view, key, modifiers)
    s.app.processEvents()


def _turns(result: TranscriptionResult) -> list[list[int]]:
    """The segments of each turn: runs of one speaker."""
    turns: list[list[int]] = []
    for row, segment in enumerate(result.segments):
        if turns and result.segments[turns[-1][-1]].speaker == segment.speaker:
            turns[-1].append(row)
        else:
            turns.append([row])
    return turns


def _shown_at(result: TranscriptionResult, ref: WordRef) -> WordRef:
    """Where the transcript's word ``ref`` is in the grouped view: (its turn's row, its place in the turn)."""
    for row, segments in enumerate(_turns(result)):
        if ref.row in segments:
            before = sum(len(result.segments[other].words) for other in segments if other < ref.row)
            return WordRef(row, before + ref.word)
    raise AssertionError(ref)


def _word_rect(s: Session, shown: WordRef) -> QRect:
    table = s.view.segments_view
    index = s.view.segments_model.index(shown.row, Column.TEXT)
    rect = s.view.text_delegate.word_rect(index, table.visualRect(index), shown.word, table)
    assert rect is not None, shown
    return rect.toAlignedRect()


def _click_word(s: Session, ref: WordRef) -> None:
    shown = _shown_at(s.view.result(), ref)  # type: ignore[arg-type]
    s.view.segments_view.scrollTo(s.view.segments_model.index(shown.row, Column.TEXT))
    QtBot.mouseClick(s.view.segments_view.viewport(), Qt.MouseButton.LeftButton, pos=_word_rect(s, shown).center())
    s.app.processEvents()


def _share_painted(image: QImage, rect: QRect, colors: set[int]) -> float:
    """The share of ``rect``'s pixels in ``image`` painted in one of ``colors`` (RGB)."""
    inside = rect.intersected(image.rect())
    pixels = [
        image.pixel(x, y) & 0xFFFFFF
        for x in range(inside.left(), inside.right())
        for y in range(inside.top(), inside.bottom())
    ]
    return sum(pixel in colors for pixel in pixels) / max(1, len(pixels))


def _most_common(image: QImage, rect: QRect) -> int:
    """The color (RGB) most of ``rect`` is painted in: its background."""
    inside = rect.intersected(image.rect())
    pixels = [
        image.pixel(x, y) & 0xFFFFFF
        for x in range(inside.left(), inside.right())
        for y in range(inside.top(), inside.bottom())
    ]
    return Counter(pixels).most_common(1)[0][0]


def _highlight_colors(s: Session) -> set[int]:
    palette = s.view.segments_view.palette()
    return {
        palette.color(role).rgb() & 0xFFFFFF
        for role in (QPalette.ColorRole.Highlight, QPalette.ColorRole.HighlightedText)
    }


def _word(result: TranscriptionResult, ref: WordRef) -> Word:
    return result.segments[ref.row].words[ref.word]


def _plain(result: TranscriptionResult, segment: int) -> int:
    """A word in the middle of ``segment`` made of letters only."""
    words = result.segments[segment].words
    return next(
        i for i in range(2, len(words) - 1) if words[i].word.strip().isalpha() and len(words[i].word.strip()) > 3
    )


# --- one row per turn -----------------------------------------------------------------------------------------------
def test_a_row_per_speaker_turn_with_the_name_once_and_each_sentences_times_on_hover(session: Session) -> None:
    s = session
    assert s.grouped_at_start  # the default
    result = _fresh(s)
    model, table = s.view.segments_model, s.view.segments_view
    assert [segment.speaker is not None for segment in result.segments] == [True] * 4
    assert _turns(result) == [[0, 1], [2], [3]]
    assert model.rowCount() == 3
    assert [model.data(model.index(row, Column.SPEAKER)) for row in range(3)] == ["Ada", "Ben", "Ada"]
    assert [model.data(model.index(row, Column.START)) for row in range(3)] == [
        format_clock(result.segments[first].start) for first in (0, 2, 3)
    ]
    first_turn = model.data(model.index(0, Column.TEXT))
    assert first_turn == f"{result.segments[0].text.strip()} {result.segments[1].text.strip()}"

    # hovering a word of the turn's second sentence gives that sentence's own times
    ref = WordRef(1, 1)
    rect = _word_rect(s, _shown_at(result, ref))
    event = QHelpEvent(QEvent.Type.ToolTip, rect.center(), table.viewport().mapToGlobal(rect.center()))
    QApplication.sendEvent(table.viewport(), event)
    second = result.segments[1]
    assert QToolTip.text() == (
        f"Ada · {format_precise(second.start)} \u2013 {format_precise(second.end)} ({second.end - second.start:.2f} s)"
    )

    # the Start column gives the second sentence's time beside the line it starts on
    starts = s.view.starts_delegate.sentence_starts(model.index(0, Column.START), table)
    assert [segment for _, segment in starts] == [0, 1], starts
    second_line = _word_rect(s, _shown_at(result, WordRef(1, 0)))
    assert second_line.top() > table.visualRect(model.index(0, Column.TEXT)).top() + 2  # not the turn's first line
    table.selectionModel().clear()  # a flat background: no selection, no current cell
    cell = table.visualRect(model.index(0, Column.START))
    image = table.viewport().grab().toImage()
    beside = QRect(cell.left(), second_line.top(), cell.width(), second_line.height())
    assert _share_painted(image, beside, {_most_common(image, beside)}) < 0.97, "a time beside the second sentence"

    # View → Group by speaker turn: off is a row per segment again, and the choice is remembered
    s.window.group_by_turn.action.setChecked(False)
    assert model.rowCount() == 4
    assert [model.data(model.index(row, Column.SPEAKER)) for row in range(4)] == ["Ada", "Ada", "Ben", "Ada"]
    wait_until(
        s.app,
        lambda: not Preferences.load(s.window.config_dir).group_by_turn,
        10,
        "the choice saved",
    )
    s.window.group_by_turn.action.setChecked(True)
    assert model.rowCount() == 3
    wait_until(s.app, lambda: Preferences.load(s.window.config_dir).group_by_turn, 10, "the choice saved")


# --- editing --------------------------------------------------------------------------------------------------------
def test_editing_a_word_in_a_turns_second_sentence_changes_that_word_and_undo_reverts_it(session: Session) -> None:
    s = session
    original = _fresh(s)
    position = _plain(original, 1)
    _click_word(s, WordRef(1, position))  # the second sentence of the first turn
    s.view.player.pause()
    _key(s, Qt.Key.Key_F2)
    editor = s.view.open_editor()
    assert editor is not None and editor.row == 1
    assert editor.toPlainText() == original.segments[1].text.strip()
    # over the second sentence's own lines: the turn's first line (the first sentence's start) stays in sight
    turn_cell = s.view.segments_view.visualRect(s.view.segments_model.index(0, Column.TEXT))
    sentence_top = _word_rect(s, _shown_at(original, WordRef(1, 0))).top()
    assert sentence_top > turn_cell.top() + 2
    assert editor.geometry().top() >= sentence_top - 2 and editor.geometry().left() == turn_cell.left()
    tokens = [w.word.strip() for w in original.segments[1].words]
    tokens[position] = "zebra"
    editor.selectAll()
    QtBot.keyClicks(editor, " ".join(tokens))
    QtBot.keyClick(editor, Qt.Key.Key_Return)
    s.app.processEvents()

    edited = s.view.result()
    assert edited is not None and s.view.open_editor() is None
    assert edited.segments[1].words[position].word == "zebra"
    assert (edited.segments[1].words[position].start, edited.segments[1].words[position].end) == (
        original.segments[1].words[position].start,
        original.segments[1].words[position].end,
    )
    assert [edited.segments[i] for i in (0, 2, 3)] == [original.segments[i] for i in (0, 2, 3)]
    assert s.view.segments_model.rowCount() == 3
    assert "zebra" in s.view.segments_model.data(s.view.segments_model.index(0, Column.TEXT))

    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.view.result().segments == original.segments  # type: ignore[union-attr]
    assert "zebra" not in s.view.segments_model.data(s.view.segments_model.index(0, Column.TEXT))


def test_split_and_merge_in_a_turn_keep_every_word_and_the_turns(session: Session) -> None:
    s = session
    original = _fresh(s)
    tokens = [w.word.strip() for w in original.segments[1].words]
    s.view.show_row(1)
    _key(s, Qt.Key.Key_F2)
    editor = s.view.open_editor()
    assert editor is not None and editor.row == 1
    cursor = editor.textCursor()
    cursor.setPosition(len(" ".join(tokens[:3])) + 1)  # before the 4th word
    editor.setTextCursor(cursor)
    QtBot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    s.app.processEvents()

    split = s.view.result()
    assert split is not None and len(split.segments) == 5
    assert [w.word.strip() for w in split.segments[1].words] == tokens[:3]
    assert [w.word.strip() for w in split.segments[2].words] == tokens[3:]
    assert [w for seg in split.segments for w in seg.words] == [w for seg in original.segments for w in seg.words]
    assert s.view.segments_model.rowCount() == 3  # both halves are still Ada's first turn

    s.view.show_row(1)
    _key(s, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    merged = s.view.result()
    assert merged is not None and len(merged.segments) == 4
    assert merged.segments[1].words == original.segments[1].words
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.view.result().segments == original.segments  # type: ignore[union-attr]

    # merging Ben's sentence into the turn before it, then undoing it, changes the turns and brings them back
    s.view.show_row(1)
    _key(s, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert len(s.view.result().segments) == 3  # type: ignore[union-attr]
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.view.segments_model.rowCount() == 3
    assert [s.view.segments_model.data(s.view.segments_model.index(r, Column.SPEAKER)) for r in range(3)] == [
        "Ada",
        "Ben",
        "Ada",
    ]


# --- playback --------------------------------------------------------------------------------------------------------
def test_the_playing_word_of_a_turns_second_sentence_is_the_one_highlighted(session: Session) -> None:
    s = session
    result = _fresh(s)
    model = s.view.segments_model
    colors = _highlight_colors(s)
    s.view.segments_view.clearSelection()
    for ref in (WordRef(1, 2), WordRef(1, len(result.segments[1].words) - 2), WordRef(3, 1)):
        word = _word(result, ref)
        s.view.player.seek((word.start + word.end) / 2)
        s.app.processEvents()
        assert model.playing_word == ref
        shown = _shown_at(result, ref)
        s.view.segments_view.clearSelection()
        image = s.view.segments_view.viewport().grab().toImage()
        here = _share_painted(image, _word_rect(s, shown), colors)
        neighbour = _share_painted(image, _word_rect(s, WordRef(shown.row, shown.word - 1)), colors)
        assert here > 0.4 and neighbour < 0.1, (ref, here, neighbour)

    # played through the first turn into the second: every reported position highlights the word said then
    samples: list[tuple[float, WordRef | None]] = []
    s.view.player.position_changed.connect(lambda t: samples.append((t, model.playing_word)))
    start = result.segments[1].start
    s.view.player.play_from(start)
    wait_until(s.app, s.view.player.is_playing, 10, "playback")
    samples.clear()
    until = result.segments[2].start + 1.0
    wait_until(s.app, lambda: any(t >= until for t, _ in samples), 30, "playback into Ben's turn")
    s.view.player.pause()
    played = [(t, ref) for t, ref in samples if start < t <= until]
    assert len(played) >= 10

    def expected(seconds: float) -> WordRef | None:
        found = None
        for row, segment in enumerate(result.segments):
            for position, word in enumerate(segment.words):
                if word.start <= seconds:
                    found = WordRef(row, position)
        if found is None or seconds >= max(result.segments[found.row].end, _word(result, found).end):
            return None
        return found

    assert [ref for _, ref in played] == [expected(t) for t, _ in played]
    assert {ref.row for _, ref in played if ref is not None} >= {1, 2}


# --- find and the low-confidence pass --------------------------------------------------------------------------------
def test_find_and_the_low_confidence_pass_land_on_the_word_in_a_turns_sentence(session: Session) -> None:
    s = session
    result = _fresh(s)
    model = s.view.segments_model
    position = _plain(result, 1)
    needle = result.segments[1].words[position].word.strip()
    assert needle.casefold() not in result.segments[0].text.casefold()
    s.view.find_edit.setText(needle)
    s.app.processEvents()
    assert s.view.found_word() == WordRef(1, position)
    assert s.view.segments_view.currentIndex().row() == 0 and s.view.current_row() == 1
    image = s.view.segments_view.viewport().grab().toImage()
    found_at = _word_rect(s, _shown_at(result, WordRef(1, position)))
    assert image.pixelColor(found_at.topLeft() + QPoint(1, 1)).rgb() & 0xFFFFFF == QColor("#f5c518").rgb() & 0xFFFFFF
    s.view.find_edit.clear()

    # the pass, from the turn's second sentence on: words of it and of the last turn are left to check
    checked = [WordRef(1, position), WordRef(3, _plain(result, 3))]
    threshold = max(_word(result, ref).score or 0.0 for ref in checked) + 1e-6
    since = result.segments[1].words[0].start - 0.05
    lowest = sorted(
        (w.start, WordRef(r, i))
        for r, seg in enumerate(result.segments)
        for i, w in enumerate(seg.words)
        if (w.score or 0.0) < threshold and w.start > since
    )
    s.view.review.set_threshold(threshold)
    s.view.player.seek(since)
    wait_until(s.app, lambda: abs(s.view.player.position_seconds() - since) < 0.05, 10, "the player there")
    visits = [ref for _, ref in lowest][:4]
    assert {ref.row for ref in visits} & {1, 3}, visits  # words whose turn's row is not their segment's number
    for expected in visits:
        _key(s, Qt.Key.Key_F3)
        ref = s.view.review.visited()
        assert ref == expected
        assert s.view.segments_view.currentIndex().row() == _shown_at(result, ref).row
        assert s.view.current_row() == ref.row
        end = _word(result, ref).end

        def stopped_after(end: float = end) -> bool:
            return not s.view.player.is_playing() and s.view.player.position_seconds() >= end

        wait_until(s.app, stopped_after, 10, f"playback to stop after {ref}")
        s.app.processEvents()
        assert model.playing_word == ref
    s.view.player.pause()
    last = s.view.review.visited()
    assert last is not None
    _key(s, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # marked checked: that word, in that sentence
    after = s.view.result()
    assert after is not None and _word(after, last).checked
    assert sum(w.checked for seg in after.segments for w in seg.words) == 1
