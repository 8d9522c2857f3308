"""The desktop's transcript view, driven offscreen with real speech and the real media player, and the review's
parts (the model's row updates, word hit-testing, the words to check) on made-up transcripts."""

from __future__ import annotations

import asyncio
import os
import wave
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from stt_studio.client import ServerUnreachableError
from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn, TranscriptionResult, Word
from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.review import StoredTranscript, TranscriptInvalidError, TranscriptVersionError
from stt_studio.review.editing import edit_segment_text, merge_with_next, split_segment
from stt_studio.review.words import WordRef
from stt_studio.ui.clock import format_clock, format_precise
from stt_studio.ui.editing.autosave import AutoSaver, SaveState
from stt_studio.ui.models.segments_model import WORDS_ROLE, Column, SegmentsTableModel
from stt_studio.ui.speakers import NEUTRAL_COLOR, SPEAKER_COLORS, SpeakerPalette, contrast
from stt_studio.ui.views.player import UNAVAILABLE
from stt_studio.ui.views.transcript_view import EMPTY_TITLE, TranscriptView, details_line
from tests.desktop import qasync_loop, release_loop, wait_until
from tests.speech import SENTENCES, Voice, concat_with_pauses, speak

# pytest-qt's capture of Qt messages swaps a Python message handler in and out around every test; the media
# backend warns from its own threads ("No audio device detected") and one landing during a swap calls a
# released handler: a segfault (seen 2 in 15 runs). Qt's own handler is used here instead.
pytestmark = pytest.mark.no_qt_log

PAUSE = 0.6
VOICES = {"SPEAKER_00": Voice(pitch=30, speed=170), "SPEAKER_01": Voice(pitch=80, speed=150)}
LINES = [  # (speaker, text): every line is spoken by that speaker's voice
    ("SPEAKER_00", SENTENCES[0]),
    ("SPEAKER_01", SENTENCES[1]),
    ("SPEAKER_00", SENTENCES[2]),
    ("SPEAKER_01", SENTENCES[3]),
]
JOB = JobView(
    job_id="job-1",
    status=JobStatus.COMPLETED,
    filename="conversation.wav",
    completed_at=datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc),
)


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return float(audio.getnframes() / audio.getframerate())


def build_conversation(directory: Path) -> tuple[Path, TranscriptionResult]:
    """A wav of two espeak-ng voices taking turns, and the transcript whose times match it."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = [speak(text, directory / f"line_{i}.wav", VOICES[who]) for i, (who, text) in enumerate(LINES)]
    wav = concat_with_pauses(parts, directory / "conversation.wav", pause_seconds=PAUSE)
    segments: list[Segment] = []
    start = 0.0
    for i, ((who, text), part) in enumerate(zip(LINES, parts, strict=True)):
        end = start + _seconds(part)
        segments.append(Segment(id=i, start=round(start, 3), end=round(end, 3), text=f" {text}", speaker=who))
        start = end + PAUSE
    duration = _seconds(wav)
    summaries = [
        SpeakerSummary(speaker=who, speaking_time=sum(s.end - s.start for s in segments if s.speaker == who))
        for who in VOICES
    ]
    result = TranscriptionResult(
        text=" ".join(text for _, text in LINES),
        language="en",
        duration=duration,
        segments=segments,
        processing_time=duration * 0.12,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=summaries,
        speaker_turns=[SpeakerTurn(start=s.start, end=s.end, speaker=s.speaker or "") for s in segments],
    )
    return wav, result


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TranscriptionResult]:
    wav, result = build_conversation(tmp_path_factory.mktemp("conversation"))
    assert result.duration >= 6
    return wav, result


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TranscriptView]:
    widget = TranscriptView()
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.player.shutdown()


@pytest.fixture
def shown(view: TranscriptView, conversation: tuple[Path, TranscriptionResult]) -> TranscriptView:
    wav, result = conversation
    view.show_transcript(JOB, result, wav)
    return view


def _reported_positions(view: TranscriptView) -> list[float]:
    """Seconds, as the media player itself reports them from now on (not the bar's own idea of where it is)."""
    reported: list[float] = []
    view.player.media_player.positionChanged.connect(lambda ms: reported.append(ms / 1000))
    return reported


def _reaches(reported: list[float], seconds: float) -> bool:
    return any(abs(position - seconds) <= 0.3 for position in reported)


def _click_row(qtbot: QtBot, view: TranscriptView, row: int) -> None:
    table = view.segments_view
    rect = table.visualRect(view.segments_model.index(row, Column.TEXT))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


# The view


def test_two_speakers_get_two_colors_in_the_table_and_the_timeline(shown: TranscriptView) -> None:
    model = shown.segments_model
    speaker_column = [model.index(row, Column.SPEAKER) for row in range(model.rowCount())]
    names = [model.data(index) for index in speaker_column]
    assert names == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]
    model.set_playing_row(None)  # the playing highlight changes row 0's colors
    foregrounds = [model.data(index, Qt.ItemDataRole.ForegroundRole).name() for index in speaker_column]
    assert len(set(foregrounds)) == 2 and foregrounds[0] == foregrounds[2]
    tints = {model.data(index, Qt.ItemDataRole.BackgroundRole).name() for index in speaker_column}
    assert len(tints) == 2

    shown.timeline.repaint()
    expected = {shown.segments_model.speakers.color(who).name() for who in VOICES}
    assert shown.timeline.colors_used() == expected


def test_clicking_a_segment_plays_from_its_start(
    qtbot: QtBot, shown: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    start = conversation[1].segments[1].start
    assert start > 2.5  # playing through from 0 could not reach it within the wait below
    reported = _reported_positions(shown)
    _click_row(qtbot, shown, 1)
    qtbot.waitUntil(lambda: _reaches(reported, start), timeout=2000)
    qtbot.waitUntil(shown.player.is_playing, timeout=2000)
    assert shown.segments_model.playing_row == 1


def test_enter_on_a_segment_plays_it(
    qtbot: QtBot, shown: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    start = conversation[1].segments[2].start
    reported = _reported_positions(shown)
    shown.segments_view.setFocus()
    shown.segments_view.setCurrentIndex(shown.segments_model.index(2, Column.TEXT))
    qtbot.keyClick(shown.segments_view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _reaches(reported, start), timeout=2000)
    qtbot.waitUntil(shown.player.is_playing, timeout=2000)


def test_the_playing_row_follows_the_player(
    qtbot: QtBot, shown: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    segments = conversation[1].segments
    qtbot.waitUntil(lambda: shown.player.media_player.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia)
    shown.resize(700, 330)  # too short for every row: following must scroll
    qtbot.wait(50)
    for row in (3, 0, 2):
        middle = (segments[row].start + segments[row].end) / 2
        shown.player.seek(middle)
        assert shown.segments_model.playing_row == row
        assert abs(shown.timeline.position() - middle) < 0.3
        visible = shown.segments_view.viewport().rect()
        assert visible.intersects(shown.segments_view.visualRect(shown.segments_model.index(row, Column.TEXT)))
    pause = segments[1].end + PAUSE / 2
    shown.player.seek(pause)
    qtbot.waitUntil(lambda: shown.segments_model.playing_row is None, timeout=2000)
    shown.player.play()  # real playback carries the highlight from the pause into the next segment
    qtbot.waitUntil(lambda: shown.segments_model.playing_row == 2, timeout=3000)


def test_clicking_the_timeline_seeks(
    qtbot: QtBot, shown: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    timeline = shown.timeline
    reported = _reported_positions(shown)
    target = conversation[1].segments[2].start + 0.5
    x = round(timeline.x_at(target))
    with qtbot.waitSignal(timeline.seek_requested) as blocker:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, timeline.height() // 3))
    seconds_per_pixel = timeline.seconds_at(x + 1) - timeline.seconds_at(x)
    assert abs(blocker.args[0] - target) <= seconds_per_pixel
    qtbot.waitUntil(lambda: _reaches(reported, target), timeout=2000)
    assert shown.segments_model.playing_row == 2


def test_find_selects_matches_and_counts_them(qtbot: QtBot, shown: TranscriptView) -> None:
    texts = [segment.text.casefold() for segment in shown.result().segments]  # type: ignore[union-attr]
    expected = [row for row, text in enumerate(texts) if "er" in text]
    assert 3 <= len(expected) < len(texts)

    def selected() -> list[int]:
        return [index.row() for index in shown.segments_view.selectionModel().selectedRows()]

    qtbot.keyClicks(shown.find_edit, "ER")  # case does not matter
    count = shown.find_bar.count_label
    assert count.text() == f"1 of {len(expected)}"
    assert selected() == [expected[0]]
    assert shown.segments_model.matches == frozenset(expected)
    qtbot.keyClick(shown.find_edit, Qt.Key.Key_Return)
    assert (count.text(), selected()) == (f"2 of {len(expected)}", [expected[1]])
    qtbot.keyClick(shown.find_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert (count.text(), selected()) == (f"1 of {len(expected)}", [expected[0]])
    shown.find_bar.previous_button.click()  # wraps to the last
    assert (count.text(), selected()) == (f"{len(expected)} of {len(expected)}", [expected[-1]])

    shown.find_edit.setText("zebra crossing")
    assert count.text() == "No matches" and not shown.segments_model.matches
    shown.find_edit.clear()
    assert count.text() == ""


@pytest.mark.parametrize("media", [None, Path("/nonexistent/gone.wav")])
def test_without_media_the_player_is_disabled_and_says_so(
    shown: TranscriptView, conversation: tuple[Path, TranscriptionResult], media: Path | None
) -> None:
    shown.show_transcript(JOB, conversation[1], media)
    player = shown.player
    assert not player.play_button.isEnabled() and not player.slider.isEnabled()
    assert player.message_label.isVisible() and player.message_label.text() == UNAVAILABLE
    assert shown.segments_model.rowCount() == 4  # the transcript is still there


def test_header_details_and_warnings(shown: TranscriptView, conversation: tuple[Path, TranscriptionResult]) -> None:
    header = shown.header
    assert header.title_label.text() == "conversation.wav"
    assert "tiny.en" in header.details_label.text() and "RTF 0.12" in header.details_label.text()
    assert "2 speakers" in header.details_label.text()
    assert not header.warnings_label.isVisible()

    warned = conversation[1].model_copy(update={"warnings": ["Diarization failed: <pyannote> ran out of memory"]})
    shown.show_transcript(JOB, warned, conversation[0])
    assert header.warnings_label.isVisible()
    assert "&lt;pyannote&gt; ran out of memory" in header.warnings_label.text()


def test_the_details_name_the_compute_type_when_the_result_knows_it(
    conversation: tuple[Path, TranscriptionResult],
) -> None:
    result = conversation[1].model_copy(update={"device": "cuda", "compute_type": "int8_float32"})
    assert details_line(result, 2, None).startswith("tiny.en · CUDA int8_float32 · en · ")
    older = conversation[1].model_copy(update={"compute_type": None})  # saved before results recorded it
    assert details_line(older, 2, None).startswith("tiny.en · CPU · en · ")


def test_an_uncertain_number_of_speakers_is_said_in_the_details(
    shown: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    note = (
        "Number of speakers uncertain: 1 of the voices is heard only briefly. To find speakers again with a "
        'number, add the file again with "Find speakers" set to it.'
    )
    doubtful = conversation[1].model_copy(update={"speaker_count_note": note})
    shown.show_transcript(JOB, doubtful, conversation[0])
    details = shown.header.details_label.text()
    assert "2 speakers" in details and details.endswith("\n" + note)  # on a line of its own
    shown.show_transcript(JOB, conversation[1], conversation[0])
    assert "uncertain" not in shown.header.details_label.text()


def test_empty_state_until_a_transcript_is_shown(
    view: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    assert view.is_empty() and view.empty_state.isVisible()
    assert view.empty_state.title_label.text() == EMPTY_TITLE
    assert not view.segments_view.isVisible()
    view.show_transcript(JOB, conversation[1], conversation[0])
    assert not view.is_empty() and view.segments_view.isVisible()
    view.clear()
    assert view.is_empty() and view.segments_model.rowCount() == 0
    assert not view.player.is_available()


def test_a_transcript_without_speakers_is_one_neutral_row(
    view: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    plain = conversation[1].model_copy(
        update={
            "segments": [s.model_copy(update={"speaker": None}) for s in conversation[1].segments],
            "speakers": None,
            "speaker_turns": None,
        }
    )
    view.show_transcript(JOB, plain, None)
    assert view.segments_view.isColumnHidden(Column.SPEAKER)
    view.timeline.repaint()
    assert view.timeline.colors_used() == {QColor(NEUTRAL_COLOR).name()}


def test_rows_fit_their_wrapped_text_and_columns_their_longest_time(qtbot: QtBot, view: TranscriptView) -> None:
    long_text = " ".join(SENTENCES[:4])
    result = _segments((0.0, 1.0), (1.0, 5.0), (3725.0, 3726.0)).model_copy(update={"duration": 3730.0})
    result.segments[1].text = long_text
    view.resize(520, 600)
    view.show_transcript(JOB, result, None)
    table, model = view.segments_view, view.segments_model
    qtbot.waitUntil(lambda: table.rowHeight(1) > 2 * table.rowHeight(0))
    assert table.rowHeight(0) == table.rowHeight(2)  # one line each
    wrapped = table.visualRect(model.index(1, Column.TEXT))
    assert (
        wrapped.height()
        >= table.fontMetrics().boundingRect(wrapped.adjusted(4, 0, -4, 0), Qt.TextFlag.TextWordWrap, long_text).height()
    )
    assert table.columnWidth(Column.START) >= table.sizeHintForIndex(model.index(2, Column.START)).width()

    view.resize(1000, 600)  # wider: fewer lines
    narrow_height = table.rowHeight(1)
    qtbot.waitUntil(lambda: table.rowHeight(1) < narrow_height)


def test_screenshot(shown: TranscriptView, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    assert shown.grab().save(str(path))
    assert path.stat().st_size > 10_000  # a real rendering, not a blank image


# The parts


def _segments(*spans: tuple[float, float]) -> TranscriptionResult:
    segments = [Segment(id=i, start=a, end=b, text=f"s{i}") for i, (a, b) in enumerate(spans)]
    return TranscriptionResult(
        text="", language="en", duration=10, segments=segments, processing_time=1,
        model="m", device="cpu", word_timestamps="whisper",
    )  # fmt: skip


def test_segment_at_time_finds_the_segment_playing_then(qtbot: QtBot) -> None:
    model = SegmentsTableModel()
    model.set_result(_segments((0.5, 2.0), (2.0, 3.0), (4.0, 6.0)), SpeakerPalette())
    at = model.segment_at_time
    assert [at(0.2), at(0.5), at(1.99), at(2.0), at(3.5), at(4.0), at(5.9), at(6.0)] == [
        None, 0, 0, 1, None, 2, 2, None,
    ]  # fmt: skip


def test_set_playing_row_repaints_only_the_two_rows_that_changed(qtbot: QtBot) -> None:
    model = SegmentsTableModel()
    model.set_result(_segments(*[(i, i + 1.0) for i in range(6)]), SpeakerPalette())
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last, _roles: changed.append((first.row(), last.row())))
    model.set_playing_row(1)
    model.set_playing_row(4)
    model.set_playing_row(4)
    assert changed == [(1, 1), (1, 1), (4, 4)]
    playing = model.data(model.index(4, Column.TEXT), Qt.ItemDataRole.BackgroundRole)
    assert playing != model.data(model.index(1, Column.TEXT), Qt.ItemDataRole.BackgroundRole)
    assert "0:04.00" in model.data(model.index(4, Column.START), Qt.ItemDataRole.ToolTipRole)


def test_speaker_palette_is_stable_and_readable_on_light_and_dark(qtbot: QtBot) -> None:
    labels = [f"SPEAKER_{i:02d}" for i in range(len(SPEAKER_COLORS))]
    palette = SpeakerPalette(labels)
    assert [palette.color(label).name() for label in labels] == list(SPEAKER_COLORS)
    assert palette.display_name("SPEAKER_00") == "Speaker 1" and palette.display_name("Alice") == "Alice"
    assert palette.color(None).name() == NEUTRAL_COLOR
    assert palette.color("newcomer").name() == SPEAKER_COLORS[0]  # the tenth label wraps around
    for base, text in ((QColor("#ffffff"), QColor("#000000")), (QColor("#2a2a2a"), QColor("#e6e6e6"))):
        for label in [*labels, None]:
            assert contrast(palette.text_color(label, base), base) >= 4.5
            tint = palette.tint(label, base)
            assert tint != base and contrast(text, tint) >= 6


def test_clock_formats() -> None:
    assert [format_clock(s) for s in (0, 12.9, 225, 3725)] == ["0:00", "0:12", "3:45", "1:02:05"]
    assert format_precise(12.345) == "0:12.35" or format_precise(12.345) == "0:12.34"
    assert format_precise(3725.5) == "1:02:05.50"


# Review: the parts (fast; the real window, worker and speech are in test_review_ui.py)


def _worded(*texts: str, gap: float = 0.5) -> TranscriptionResult:
    """Segments whose words take 0.3 s each, 0.1 s apart, the segments ``gap`` apart; scores 0.9 but every
    third word 0.3."""
    segments, t = [], 0.0
    for i, text in enumerate(texts):
        words = []
        for j, token in enumerate(text.split()):
            words.append(Word(word=token, start=round(t, 3), end=round(t + 0.3, 3), score=0.3 if j % 3 == 2 else 0.9))
            t += 0.4
        segments.append(Segment(id=i, start=words[0].start, end=words[-1].end, text=text, words=words,
                                speaker=f"SPEAKER_{i % 2:02d}"))  # fmt: skip
        t += gap
    return TranscriptionResult(
        text=" ".join(texts), language="en", duration=t, segments=segments, processing_time=1,
        model="m", device="cpu", word_timestamps="whisper",
    )  # fmt: skip


def test_update_result_changes_only_the_rows_that_differ(qtbot: QtBot) -> None:
    model = SegmentsTableModel()
    before = _worded("one two three four", "five six seven", "eight nine ten")
    model.set_result(before, SpeakerPalette.for_result(before))
    events: list[tuple[str, int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: events.append(("inserted", first, last)))
    model.rowsRemoved.connect(lambda _parent, first, last: events.append(("removed", first, last)))
    model.dataChanged.connect(lambda first, last, _roles: events.append(("changed", first.row(), last.row())))
    model.modelReset.connect(lambda: events.append(("reset", 0, 0)))
    split = split_segment(before, 0, 2)
    assert model.update_result(split, SpeakerPalette.for_result(split)) == range(0, 2)
    assert events == [("inserted", 1, 1), ("changed", 0, 0)]  # the rows after it only got new ids: untouched
    assert [model.segment(r).text for r in range(4)] == ["one two", "three four", "five six seven", "eight nine ten"]
    events.clear()
    merged = merge_with_next(split, 0)
    model.update_result(merged, SpeakerPalette.for_result(merged))
    assert events == [("removed", 1, 1), ("changed", 0, 0)]
    events.clear()
    renamed = merged.model_copy(update={"speaker_names": {"SPEAKER_01": "Dr. Chen"}})
    model.update_result(renamed, SpeakerPalette.for_result(before).updated(renamed))
    assert events == [("changed", 0, 2)]  # the Speaker column, every row
    assert model.data(model.index(1, Column.SPEAKER)) == "Dr. Chen"


def test_the_playing_word_repaints_only_its_rows(qtbot: QtBot) -> None:
    model = SegmentsTableModel()
    result = _worded("one two three", "four five six", "seven eight")
    model.set_result(result, SpeakerPalette())
    changed: list[tuple[int, list[int]]] = []
    model.dataChanged.connect(lambda first, _last, roles: changed.append((first.row(), list(roles))))
    model.set_playing_word(WordRef(0, 1))
    model.set_playing_word(WordRef(0, 2))
    model.set_playing_word(WordRef(2, 0))
    model.set_playing_word(WordRef(2, 0))
    assert changed == [(0, [WORDS_ROLE]), (0, [WORDS_ROLE]), (0, [WORDS_ROLE]), (2, [WORDS_ROLE])]


def test_a_click_finds_the_word_drawn_there(view: TranscriptView) -> None:
    result = _worded("The quick brown fox jumps over the lazy dog near the river bank today", "short one")
    view.resize(420, 600)
    view.show_transcript(JOB, result, None)
    table, model = view.segments_view, view.segments_model
    wait_until(QApplication.instance(), lambda: table.rowHeight(0) > table.rowHeight(1), 5, "the long row wrapped")  # type: ignore[arg-type]
    index = model.index(0, Column.TEXT)
    cell = table.visualRect(index)
    rects = [view.text_delegate.word_rect(index, cell, w, table) for w in range(len(result.segments[0].words))]
    assert all(rect is not None for rect in rects)
    assert len({round(rect.top()) for rect in rects if rect}) >= 2  # on more than one line
    for w, rect in enumerate(rects):
        assert rect is not None
        point = rect.center()
        x, y = point.x() - cell.left(), point.y() - cell.top()
        assert view.text_delegate.word_at(index, cell.width(), x, y, table) == w


def test_the_words_to_check_are_counted_and_the_threshold_changes_them(view: TranscriptView) -> None:
    result = _worded("a b c d e f", "g h i")  # every third word scored 0.3
    view.show_transcript(JOB, result, None)
    assert view.review.to_check() == [WordRef(0, 2), WordRef(0, 5), WordRef(1, 2)]
    assert view.review_bar.count_label.text() == "<b>3</b> words to check (F3)"
    view.review.set_threshold(0.2)
    assert view.review_bar.count_label.text() == "No words left to check"
    view.review.set_threshold(0.95)
    assert len(view.review.to_check()) == 9


def test_edits_without_a_storage_are_undoable_and_not_saved(view: TranscriptView) -> None:
    result = _worded("one two three", "four five six")
    view.show_transcript(JOB, result, None)
    assert view.review.saver is None and not view.review_actions.revert.isEnabled()
    view.review.edit_text(0, "one 2 three")
    assert view.segments_model.segment(0).text == "one 2 three"
    view.review.edit_text(1, "   ")  # empty: the segment goes
    assert view.segments_model.rowCount() == 1
    view.document.undo_stack.undo()
    view.document.undo_stack.undo()
    assert view.result() == result
    view.player.seek(result.duration + 1)
    view.review.merge_with_next()  # nothing selected, nothing playing: nothing to merge
    assert view.result() == result
    view.player.seek(0.1)
    view.review.merge_with_next()  # the segment playing
    assert view.segments_model.rowCount() == 1


def test_player_speed_and_skips_stay_in_range(
    view: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    player = view.player
    view.show_transcript(JOB, conversation[1], conversation[0])
    assert player.rate() == 1.0 and player.media_player.pitchCompensation()
    for _ in range(10):
        player.step_rate(1)
    assert player.rate() == 2.0 and player.speed_combo.currentText() == "2×"
    player.set_rate(0.6)  # the nearest step
    assert player.rate() == 0.5
    player.set_rate(1.0)
    player.seek(1.0)
    player.skip(-5)
    assert player.position_seconds() == 0.0


def test_speaker_names_come_from_the_result(qtbot: QtBot) -> None:
    result = _worded("one two", "three four").model_copy(update={"speaker_names": {"SPEAKER_01": "Dr. Chen"}})
    palette = SpeakerPalette.for_result(result)
    assert [palette.display_name(label) for label in palette.speakers] == ["Speaker 1", "Dr. Chen"]
    assert palette.display_name("SPEAKER_01") == result.speaker_name("SPEAKER_01")
    merged = result.model_copy(update={"segments": [s.model_copy(update={"speaker": "SPEAKER_01"})
                                                    for s in result.segments]})  # fmt: skip
    updated = palette.updated(merged)
    assert updated.present(merged) == ["SPEAKER_01"]
    assert updated.color("SPEAKER_01") == palette.color("SPEAKER_01")  # colors stay put


class _MemoryStorage:
    """A transcript store in memory with versions, as the JobService's (fast; the real one: test_review_ui.py)."""

    def __init__(self, result: TranscriptionResult) -> None:
        self.result = result
        self.etag = '"v0"'
        self.saved: list[TranscriptionResult] = []

    async def transcript(self, job_id: str) -> StoredTranscript:
        return StoredTranscript(self.result, self.etag, reviewed=bool(self.saved), reviewed_at=None)

    async def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str:
        if etag is not None and etag != self.etag:
            raise TranscriptVersionError(self.etag)
        self.saved.append(result)
        self.result, self.etag = result, f'"v{len(self.saved)}"'
        return self.etag

    async def revert_transcript(self, job_id: str, etag: str | None) -> StoredTranscript:
        raise NotImplementedError


def _state(saver: AutoSaver) -> SaveState:
    return saver.state  # read afresh (a plain attribute read is narrowed by mypy across the waits)


def test_autosave_waits_for_a_pause_and_never_overwrites_another_save(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    loop = qasync_loop(app)
    try:
        first = _worded("one two three")
        storage = _MemoryStorage(first)
        saver = AutoSaver(storage, asyncio.ensure_future, delay_ms=100)
        saver.attach("job", storage.etag, reviewed=False)
        edits = [edit_segment_text(first, 0, f"one two {n}") for n in range(3)]
        for edit in edits:  # a burst of edits: one save, of the last
            saver.schedule(edit)
        assert _state(saver) == SaveState.PENDING
        wait_until(app, lambda: saver.state == SaveState.SAVED, 5, "the save")
        assert storage.saved == [edits[-1]] and saver.etag == storage.etag

        storage.etag = '"elsewhere"'  # saved by someone else since
        conflicts: list[str] = []
        saver.conflict.connect(conflicts.append)
        saver.schedule(first)
        wait_until(app, lambda: saver.state == SaveState.CONFLICT, 5, "the conflict")
        assert conflicts == ['"elsewhere"'] and len(storage.saved) == 1
        saver.schedule(edits[0])  # more edits wait for the user's choice
        app.processEvents()
        assert _state(saver) == SaveState.CONFLICT
        done = asyncio.ensure_future(saver.overwrite(conflicts[0]))
        wait_until(app, done.done, 5, "the overwrite")
        assert storage.saved[-1] == edits[0] and _state(saver) == SaveState.SAVED

        saver.schedule(edits[1])
        done = asyncio.ensure_future(saver.flush())  # at once, not after the pause
        wait_until(app, done.done, 5, "the flush")
        assert storage.saved[-1] == edits[1]
    finally:
        release_loop(loop)


class _FlakyStorage(_MemoryStorage):
    """Fails the next ``failures`` saves as a server restarting would, or refuses one as invalid."""

    def __init__(self, result: TranscriptionResult) -> None:
        super().__init__(result)
        self.failures = 0
        self.invalid = False

    async def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str:
        if self.invalid:
            raise TranscriptInvalidError("segment 1: starts after it ends")
        if self.failures:
            self.failures -= 1
            raise ServerUnreachableError("Cannot reach http://gpu-box:8000: connection refused")
        return await super().save_transcript(job_id, result, etag)


def test_a_failed_save_keeps_the_edits_and_tries_again(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    loop = qasync_loop(app)
    try:
        first = _worded("one two three")
        storage = _FlakyStorage(first)
        saver = AutoSaver(storage, asyncio.ensure_future, delay_ms=50, retry_ms=200)
        saver.attach("job", storage.etag, reviewed=False)
        failures: list[str] = []
        saver.failed.connect(failures.append)
        storage.failures = 2
        edit = edit_segment_text(first, 0, "one two four")
        saver.schedule(edit)
        wait_until(app, lambda: saver.state == SaveState.FAILED, 5, "the failed save")
        assert saver.unsaved and "connection refused" in (saver.failure or "")
        wait_until(app, lambda: saver.state == SaveState.SAVED, 5, "the saves tried again until one works")
        assert storage.saved == [edit] and len(failures) == 2 and not saver.unsaved

        storage.invalid = True  # the store refuses it: kept, not tried again by itself (the next edit may fix it)
        bad = edit_segment_text(edit, 0, "one two five")
        saver.schedule(bad)
        wait_until(app, lambda: saver.state == SaveState.FAILED, 5, "the refused save")
        app.processEvents()
        assert saver.unsaved and saver.failure == "segment 1: starts after it ends"
        storage.invalid = False
        done = asyncio.ensure_future(saver.flush())  # quitting (or showing another transcript) tries once more
        wait_until(app, done.done, 5, "the flush")
        assert storage.saved[-1] == bad and _state(saver) == SaveState.SAVED and not saver.unsaved
    finally:
        release_loop(loop)


def test_following_the_playback_pauses_while_the_user_scrolls(
    qtbot: QtBot, view: TranscriptView, conversation: tuple[Path, TranscriptionResult]
) -> None:
    result = _worded(*[f"line {n} has a few words in it" for n in range(60)])
    view.resize(600, 400)
    view.show_transcript(JOB, result, conversation[0])  # some audio to play
    table = view.segments_view
    qtbot.waitUntil(lambda: table.verticalScrollBar().maximum() > 0)
    last = result.segments[-1].words[1]
    view.player.seek(last.start + 0.01)
    assert table.verticalScrollBar().value() > 0  # followed to the end

    table.scrollToTop()
    wheel = QWheelEvent(QPointF(50, 50), QPointF(table.viewport().mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                        QPoint(0, -120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(table.viewport(), wheel)
    assert not view.is_following()
    scrolled = table.verticalScrollBar().value()
    view.player.seek(result.segments[-2].words[1].start + 0.01)  # the highlight moves, the view stays
    assert view.segments_model.playing_word == WordRef(58, 1)
    assert table.verticalScrollBar().value() == scrolled
    view.player.play()  # playing again follows again
    assert view.is_following()
    view.player.pause()
