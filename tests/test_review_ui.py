"""Reviewing a transcript in the real window (offscreen) with its real worker (tiny.en, CPU) on espeak-ng speech:
word-synced playback, keyboard, editing with undo, split and merge, speakers, the low-confidence pass, autosave
with versions, exports, reopening and reverting.

Every test runs twice (tests/modes.py): with the window on this machine's queue, and connected to a keyed ``serve``
on loopback, where the transcripts are read and saved through the REST API. One two-speaker dialogue and one video
are transcribed per mode; each test starts from the engine's transcript (``_fresh`` reverts what the test before
left). What was saved is checked where the jobs live (``Session.backend``), not in the window.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path

import docx
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtMultimedia import QVideoFrame
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from stt_studio.engine.result import TranscriptionResult, Word
from stt_studio.engine.speakers import speaker_count
from stt_studio.jobs.models import JobStatus
from stt_studio.review.words import WordRef
from stt_studio.settings import Settings
from stt_studio.ui.editing.autosave import SaveState
from stt_studio.ui.editing.speaker_dialogs import AddSpeakerDialog, MergeSpeakersDialog, RenameSpeakerDialog
from stt_studio.ui.growing.view import WORDS_ALIGNED
from stt_studio.ui.models.library_model import Column as LibraryColumn
from stt_studio.ui.models.queue_model import Column as QueueColumn
from stt_studio.ui.models.segments_model import Column
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.views.transcript_view import TranscriptView
from stt_studio.ui.views.video_view import VideoView
from tests.desktop import Desktop, StallMeter, desktop_app, desktop_env, placeholder_shortfall, wait_until
from tests.live import RemoteServer
from tests.modes import MODES, Backend, Mode, backend, open_window
from tests.reliability import InjectedFaults
from tests.speech import SENTENCES, Dialogue, dialogue, speech_clip, video_with_audio

pytestmark = [pytest.mark.slow, pytest.mark.no_qt_log]  # media threads log while pytest-qt swaps its handler

DIALOGUE = [
    (0, "Good morning, I would like to book a table for two people tonight."),
    (1, "Of course. We have a table free at eight o'clock by the window."),
    (0, "That sounds perfect, thank you very much."),
]
EXPORT_FORMATS = ("txt", "srt", "vtt", "json", "docx")


@dataclass
class Session:
    desktop: Desktop
    window: MainWindow
    talk: Dialogue
    job_id: str
    video_job_id: str
    root: Path
    mode: Mode
    server: RemoteServer | None
    backend: Backend = field(init=False)

    def __post_init__(self) -> None:
        self.backend = backend(self.mode, lambda: self.window, self.server)  # the window of the moment: tests reopen it

    @property
    def faults(self) -> InjectedFaults:
        """The fault injection of the workers that run this session's jobs (to hold a job in a stage)."""
        return InjectedFaults(self.server.faults_dir if self.server is not None else self.root / "faults")

    @property
    def app(self) -> QApplication:
        return self.desktop.app

    @property
    def view(self) -> TranscriptView:
        return self.window.transcript_view


@pytest.fixture(scope="module", params=MODES)
def session(
    request: pytest.FixtureRequest, qapp: QApplication, tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[Session]:
    mode: Mode = request.param
    server: RemoteServer | None = request.getfixturevalue("remote_server") if mode == "remote" else None
    root = tmp_path_factory.mktemp(f"review-ui-{mode}")
    patch = pytest.MonkeyPatch()
    desktop = Desktop(desktop_app(qapp), desktop_env(patch, root, settings.resolved_models_dir))
    (root / "faults").mkdir()
    patch.setenv("STT_FAULT_INJECTION_DIR", str(root / "faults"))  # the window's workers (Session.faults)
    try:
        window = open_window(desktop, mode, server)
        window.resize(1280, 800)
        talk = dialogue(root / "talk", DIALOGUE, "dialogue")
        video = video_with_audio(speech_clip(root / "clip", SENTENCES[:2], "clip"), root / "clip.mp4")
        window.batch_options.diarize_check.setChecked(True)
        window.add_paths([talk.path])
        wait_until(desktop.app, lambda: _job_id(window, "dialogue.wav") is not None, 60, "the dialogue queued")
        window.batch_options.diarize_check.setChecked(False)
        window.add_paths([video])
        for name in ("dialogue.wav", "clip.mp4"):

            def done(name: str = name) -> bool:
                return _status(window, name) == JobStatus.COMPLETED

            wait_until(desktop.app, done, 400, f"{name} to be transcribed")
        job_id, video_job_id = _job_id(window, "dialogue.wav"), _job_id(window, "clip.mp4")
        assert job_id is not None and video_job_id is not None
        yield Session(desktop, window, talk, job_id, video_job_id, root, mode, server)
    finally:
        desktop.close()
        patch.undo()


# --- helpers -----------------------------------------------------------------------------------------------------
def _job_id(window: MainWindow, name: str) -> str | None:
    return next((job.job_id for job in window.queue_model.jobs() if job.filename == name), None)


def _status(window: MainWindow, name: str) -> JobStatus | None:
    return next((job.status for job in window.queue_model.jobs() if job.filename == name), None)


def _open(s: Session, job_id: str) -> TranscriptionResult:
    s.window.open_job(job_id)
    wait_until(s.app, lambda: s.window._shown_job == job_id and s.view.result() is not None, 60, "the transcript")
    wait_until(s.app, s.view.player.is_loaded, 30, "the media to load")
    result = s.view.result()
    assert result is not None
    return result


def _original(s: Session, job_id: str | None = None) -> TranscriptionResult:
    return s.backend.original(job_id or s.job_id)


def _fresh(s: Session, job_id: str | None = None) -> TranscriptionResult:
    """The job's transcript shown as the engine wrote it (a review left by an earlier test reverted, through the
    Revert action and its confirmation), focus in the segments, playback paused at 0."""
    job_id = job_id or s.job_id
    _open(s, job_id)
    review = s.view.review
    if review.saver is not None and review.saver.state != SaveState.ORIGINAL:
        s.view.review_actions.revert.trigger()
        box = review.revert_box
        assert box is not None
        box.button(QMessageBox.StandardButton.Yes).click()
        wait_until(s.app, lambda: review.saver is not None and review.saver.state == SaveState.ORIGINAL, 30, "revert")
    original = _original(s, job_id)
    assert _timed_words(s.view.result()) == _timed_words(original)
    s.view.player.pause()
    s.view.player.seek(0.0)
    s.view.review.set_threshold(0.6)
    _focus_segments(s)
    return original


def _speaker_cells(s: Session) -> tuple[str, str]:
    """The dialogue's Speakers cell in the queue and in the library, as shown."""
    queue = s.window.queue_model
    row = next(i for i, job in enumerate(queue.jobs()) if job.job_id == s.job_id)
    library = s.window.library_view.model
    library_row = next(i for i in range(library.rowCount()) if library.job_id_at(i) == s.job_id)
    return (
        str(queue.data(queue.index(row, QueueColumn.SPEAKERS))),
        str(library.data(library.index(library_row, LibraryColumn.SPEAKERS))),
    )


def _speakers_everywhere(s: Session, count: int) -> None:
    """The header, the queue's row and the library's row all give the transcript's count of speakers."""
    noun = "speaker" if count == 1 else "speakers"
    assert f"{count} {noun}" in s.view.header.details_label.text(), s.view.header.details_label.text()
    wait_until(s.app, lambda: _speaker_cells(s) == (str(count), str(count)), 30, f"{count} in the queue and library")


def _timed_words(result: TranscriptionResult | None) -> list[tuple[str, float, float, float | None]]:
    assert result is not None
    return [(w.word, w.start, w.end, w.score) for segment in result.segments for w in segment.words]


def _key(s: Session, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed while the segments have the focus (the review's shortcuts are the view's)."""
    _focus_segments(s)
    QtBot.keyClick(s.view.segments_view, key, modifiers)
    s.app.processEvents()


def _focus_segments(s: Session) -> None:
    """The window active again (a dialog closed leaves none active here) and the segments focused."""
    if QApplication.activeWindow() is not s.window:
        s.window.activateWindow()
        wait_until(s.app, lambda: QApplication.activeWindow() is s.window, 5, "the window to be active")
    s.view.segments_view.setFocus()
    assert QApplication.focusWidget() is s.view.segments_view, QApplication.focusWidget()


def _wait_saved(s: Session) -> None:
    saver = s.view.review.saver
    assert saver is not None
    wait_until(s.app, lambda: saver.state == SaveState.SAVED, 30, f"the autosave ({saver.state})")


def _stored(s: Session) -> TranscriptionResult:
    return s.backend.stored(s.job_id).result


def _export(s: Session, name: str, formats: tuple[str, ...] = EXPORT_FORMATS) -> dict[str, str]:
    """Export the dialogue through the export dialog into a new folder; each file's text (docx: its paragraphs)."""
    folder = s.root / "exports" / name
    s.window.export_jobs([s.job_id])
    dialog = s.window.exports.dialog
    assert dialog is not None
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt in formats)
    dialog.folder_edit.setText(str(folder))
    dialog.ok_button.click()
    done = f"Exported {len(formats)} file(s) to {folder}"  # confirmed once every file is written
    wait_until(s.app, lambda: s.window.confirmations.text() == done, 30, "the export")
    assert not any(n.title.startswith("Exported") for n in s.window.notices.notices)
    if "docx" in formats:  # dated by the transcription, not by this export; written by STT Studio
        job = s.window.queue_model.job_by_id(s.job_id)
        assert job is not None and job.completed_at is not None
        completed = job.completed_at if job.completed_at.tzinfo else job.completed_at.replace(tzinfo=timezone.utc)
        document = docx.Document(str(folder / "dialogue.docx"))
        assert f"Transcribed: {completed.astimezone():%Y-%m-%d %H:%M}" in [p.text for p in document.paragraphs]
        assert (document.core_properties.author, document.core_properties.title) == ("STT Studio", "dialogue.wav")
    texts = {}
    for fmt in formats:
        path = folder / f"dialogue.{fmt}"
        texts[fmt] = (
            "\n".join(p.text for p in docx.Document(str(path)).paragraphs) if fmt == "docx" else path.read_text()
        )
    return texts


def _expected_word(result: TranscriptionResult, seconds: float) -> WordRef | None:
    """The word said at ``seconds``, worked out here from the word timings alone: the last word started by then,
    as long as its segment has not ended."""
    found: WordRef | None = None
    for row, segment in enumerate(result.segments):
        for position, word in enumerate(segment.words):
            if word.start <= seconds:
                found = WordRef(row, position)
    if found is None or seconds >= max(result.segments[found.row].end, _word(result, found).end):
        return None
    return found


def _word(result: TranscriptionResult, ref: WordRef) -> Word:
    return result.segments[ref.row].words[ref.word]


def _click_word(s: Session, ref: WordRef) -> None:
    table = s.view.segments_view
    shown = s.view.segments_model.row_word(ref)  # the word's place in its speaker turn's row
    index = s.view.segments_model.index(shown.row, Column.TEXT)
    table.scrollTo(index)
    rect = s.view.text_delegate.word_rect(index, table.visualRect(index), shown.word, table)
    assert rect is not None
    QtBot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center().toPoint())


def _reported(s: Session) -> list[float]:
    """Seconds, as the media player itself reports them from now on."""
    reported: list[float] = []
    s.view.player.media_player.positionChanged.connect(lambda ms: reported.append(ms / 1000))
    return reported


def _plain_word(result: TranscriptionResult, min_words: int = 5) -> tuple[int, int]:
    """A segment with enough words and a word in its middle made of letters only (no punctuation attached)."""
    for row, segment in enumerate(result.segments):
        words = segment.words
        if len(words) >= min_words:
            for position in range(1, len(words) - 1):
                if words[position].word.isalpha() and len(words[position].word) > 2:
                    return row, position
    raise AssertionError(f"no segment of {min_words}+ words: {[s.text for s in result.segments]}")


# --- one speaker count everywhere -------------------------------------------------------------------------------
def test_a_finished_jobs_speakers_column_gives_its_transcripts_count_not_auto(session: Session) -> None:
    s = session
    count = speaker_count(_original(s))
    assert count == 2  # the dialogue's two voices
    wait_until(s.app, lambda: _speaker_cells(s) == ("2", "2"), 30, "the count in the queue and the library")


# --- word-synced playback --------------------------------------------------------------------------------------------
def _follows(s: Session, result: TranscriptionResult, seconds_of_playback: float) -> None:
    """Play from the start; at every position the player reports, the highlighted word is the one the word
    timings say."""
    samples: list[tuple[float, WordRef | None]] = []
    model = s.view.segments_model
    s.view.player.position_changed.connect(lambda t: samples.append((t, model.playing_word)))  # after the view's
    s.view.player.play_from(0.0)
    wait_until(s.app, s.view.player.is_playing, 10, "playback")
    samples.clear()  # the reports of earlier seeks are behind
    wait_until(s.app, lambda: any(t >= seconds_of_playback for t, _ in samples), 30, "playback to go on")
    s.view.player.pause()
    played = [(t, ref) for t, ref in samples if 0 < t <= seconds_of_playback]
    assert len(played) >= 10, samples
    assert [ref for _, ref in played] == [_expected_word(result, t) for t, _ in played]
    words = {ref for _, ref in played if ref is not None}
    assert len(words) >= 4, played


def test_the_highlighted_word_follows_the_player_and_clicking_a_word_seeks(session: Session) -> None:
    s = session
    result = _fresh(s)
    model = s.view.segments_model
    words = [WordRef(r, w) for r, segment in enumerate(result.segments) for w in range(len(segment.words))]
    assert len(words) >= 20 and len(result.segments) >= 3
    for ref in (words[1], words[len(words) // 2], words[-2]):  # seeking: at each word's middle
        word = _word(result, ref)
        middle = (word.start + word.end) / 2
        s.view.player.seek(middle)
        assert model.playing_word == ref == _expected_word(result, middle)
        assert model.playing_row == ref.row
        cell = s.view.segments_view.visualRect(model.index_of_segment(ref.row, Column.TEXT))
        assert s.view.segments_view.viewport().rect().intersects(cell)  # kept in view
    _follows(s, result, 4.0)

    target = WordRef(1, 2)
    reported = _reported(s)
    _click_word(s, target)
    start = _word(result, target).start
    wait_until(s.app, lambda: any(abs(t - start) <= 0.15 for t in reported), 10, f"the player at {start}")
    assert s.view.review.visited() == target
    wait_until(s.app, s.view.player.is_playing, 10, "playback")
    s.view.player.pause()


def test_a_video_file_shows_its_picture_and_plays_with_the_word_highlight(session: Session) -> None:
    s = session
    result = _fresh(s, s.video_job_id)
    assert s.view.player.source_path() == s.root / "clip.mp4"  # the file added: no download in remote mode
    video = s.view.player.video
    assert isinstance(video, VideoView)
    wait_until(s.app, video.isVisible, 10, "the picture's place")
    frames: list[QSize] = []
    sink = video.item.videoSink()

    def count(frame: QVideoFrame) -> None:
        frames.append(frame.size())

    sink.videoFrameChanged.connect(count)
    _follows(s, result, 3.0)
    sink.videoFrameChanged.disconnect(count)
    assert len(frames) >= 10 and frames[0] == QSize(160, 120), frames[:3]  # ~10 fps of the 160×120 test pattern
    picture = video.grab().toImage()
    middle = picture.pixelColor(picture.width() // 2, picture.height() // 2)
    assert middle.saturation() > 100, middle.name()  # a colour bar of the pattern, not the black background

    _open(s, s.job_id)  # an audio file: no picture, no empty black box
    assert not video.isVisible()


def test_keyboard_play_skip_replay_and_speed(session: Session) -> None:
    s = session
    result = _fresh(s)
    player = s.view.player
    _key(s, Qt.Key.Key_Space)
    wait_until(s.app, player.is_playing, 10, "Space to play")
    _key(s, Qt.Key.Key_Space)
    wait_until(s.app, lambda: not player.is_playing(), 10, "Space to pause")

    player.seek(3.0)
    _key(s, Qt.Key.Key_Right)
    assert player.position_seconds() == pytest.approx(8.0, abs=0.05)
    _key(s, Qt.Key.Key_Left)
    assert player.position_seconds() == pytest.approx(3.0, abs=0.05)
    _key(s, Qt.Key.Key_Left)
    assert player.position_seconds() == 0.0  # not before the start

    second = result.segments[1]
    player.seek((second.start + second.end) / 2)
    reported = _reported(s)
    _key(s, Qt.Key.Key_R)  # replay the segment playing
    wait_until(s.app, lambda: any(abs(t - second.start) <= 0.15 for t in reported), 10, "the segment's start")
    player.pause()

    media = player.media_player
    _key(s, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
    wait_until(s.app, lambda: media.playbackRate() == 1.25, 5, "1.25×")
    assert player.speed_combo.currentText() == "1.25×" and media.pitchCompensation()
    for _ in range(6):
        _key(s, Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.ControlModifier)
    wait_until(s.app, lambda: media.playbackRate() == 0.5, 5, "0.5× at the slow end")
    player.set_rate(1.0)
    wait_until(s.app, lambda: media.playbackRate() == 1.0, 5, "1×")


# --- editing ----------------------------------------------------------------------------------------------------
def _edit_row(s: Session, row: int, text: str) -> None:
    """Edit a segment in place: select it, F2, type, Enter."""
    s.view.show_row(row)
    _key(s, Qt.Key.Key_F2)
    editor = s.view.open_editor()
    assert editor is not None and editor.row == row
    editor.selectAll()
    QtBot.keyClicks(editor, text)
    QtBot.keyClick(editor, Qt.Key.Key_Return)
    s.app.processEvents()
    assert s.view.open_editor() is None


def test_correcting_one_word_reaches_every_export_and_undo_restores_it(session: Session) -> None:
    s = session
    original = _fresh(s)
    row, position = _plain_word(original)
    tokens = [w.word for w in original.segments[row].words]
    wrong = tokens[position]
    tokens[position] = "zebra"
    _edit_row(s, row, " ".join(tokens))

    edited = s.view.result()
    assert edited is not None
    new_word, old_word = edited.segments[row].words[position], original.segments[row].words[position]
    assert (new_word.word, new_word.edited, new_word.score) == ("zebra", True, None)
    assert (new_word.start, new_word.end) == (old_word.start, old_word.end)  # the span of the word it replaces
    others = [w for i, w in enumerate(_timed_words(edited)) if w[0] != "zebra"]
    assert others == [w for w in _timed_words(original) if w != (wrong, old_word.start, old_word.end, old_word.score)]

    _wait_saved(s)
    assert _timed_words(_stored(s)) == _timed_words(edited)
    assert _timed_words(_original(s)) == _timed_words(original)  # kept
    phrase = f"{tokens[position - 1]} zebra {tokens[position + 1]}"
    exported = _export(s, "corrected")
    for fmt in ("txt", "srt", "vtt", "docx"):
        assert phrase in exported[fmt], (fmt, exported[fmt])
    data = TranscriptionResult.model_validate(json.loads(exported["json"]))
    assert _timed_words(data) == _timed_words(edited)  # every other word with its exact timing

    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _timed_words(s.view.result()) == _timed_words(original)
    assert s.view.result().segments[row].text == original.segments[row].text  # type: ignore[union-attr]
    _wait_saved(s)
    assert _timed_words(_stored(s)) == _timed_words(original)
    assert phrase not in _export(s, "undone", ("txt",))["txt"]
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)  # redo
    assert s.view.result().segments[row].words[position].word == "zebra"  # type: ignore[union-attr]


def test_split_at_the_cursor_and_merge_keep_every_word_and_its_timing(session: Session) -> None:
    s = session
    original = _fresh(s)
    row = next(r for r, segment in enumerate(original.segments) if len(segment.words) >= 5)
    tokens = [w.word for w in original.segments[row].words]
    rows = s.view.segments_model.segment_count()

    s.view.show_row(row)
    _key(s, Qt.Key.Key_F2)
    editor = s.view.open_editor()
    assert editor is not None
    cursor = editor.textCursor()
    cursor.setPosition(len(" ".join(tokens[:3])) + 1)  # just after the 3rd word's space: before the 4th word
    editor.setTextCursor(cursor)
    QtBot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    s.app.processEvents()

    split = s.view.result()
    assert split is not None and s.view.segments_model.segment_count() == rows + 1
    assert [w.word for w in split.segments[row].words] == tokens[:3]
    assert [w.word for w in split.segments[row + 1].words] == tokens[3:]
    assert _timed_words(split) == _timed_words(original)
    assert split.segments[row + 1].start == original.segments[row].words[3].start

    s.view.show_row(row)
    _key(s, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    merged = s.view.result()
    assert merged is not None and s.view.segments_model.segment_count() == rows
    assert _timed_words(merged) == _timed_words(original)
    assert merged.segments[row].words == original.segments[row].words
    assert (merged.segments[row].start, merged.segments[row].end) == (
        original.segments[row].start,
        original.segments[row].end,
    )
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the merge
    assert s.view.segments_model.segment_count() == rows + 1
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the split (with the editor's text: one step)
    assert s.view.result().segments == original.segments  # type: ignore[union-attr]


def test_delete_and_find_replace_are_undoable(session: Session) -> None:
    s = session
    original = _fresh(s)
    s.view.show_row(0)
    _key(s, Qt.Key.Key_Delete, Qt.KeyboardModifier.ControlModifier)
    assert s.view.result().segments[0].text == original.segments[1].text  # type: ignore[union-attr]
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.view.result().segments == original.segments  # type: ignore[union-attr]

    _key(s, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    bar = s.view.find_bar
    assert bar.replace_edit.isVisible()
    bar.find_edit.setText("table")
    bar.replace_edit.setText("booth")
    bar.replace_button.click()
    after = s.view.result()
    assert after is not None and "table" not in after.text.casefold() and after.text.count("booth") >= 2
    assert "Replaced" in s.view.review_bar.message_label.text()
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.view.result().segments == original.segments  # type: ignore[union-attr]
    bar.find_edit.clear()


# --- speakers ---------------------------------------------------------------------------------------------------
def _speaker_column(s: Session) -> list[str]:
    model = s.view.segments_model
    return [model.data(model.index(row, Column.SPEAKER)) for row in range(model.rowCount())]


def test_renamed_speakers_reach_the_view_the_timeline_and_every_export_and_merging_leaves_one(
    session: Session,
) -> None:
    s = session
    original = _fresh(s)
    labels = sorted({segment.speaker for segment in original.segments if segment.speaker})
    assert len(labels) == 2, f"diarization found {labels}"
    first = original.segments[0].speaker
    assert first is not None

    s.view.show_row(0)
    s.view.review_actions.rename_speaker.trigger()
    dialog = s.view.review.speaker_dialog
    assert isinstance(dialog, RenameSpeakerDialog) and dialog.speaker_combo.currentData() == first
    wait_until(s.app, dialog.isVisible, 5, "the rename dialog")
    dialog.name_edit.clear()
    assert placeholder_shortfall(dialog.name_edit) == 0, dialog.name_edit.placeholderText()
    dialog.name_edit.setText("Dr. Chen")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert _speaker_column(s)[0] == "Dr. Chen"
    assert "Dr. Chen" in s.view.timeline.lane_titles()
    assert "Dr. Chen" in [a.text() for a in s.view.review_actions.speaker_menu.actions()]
    _wait_saved(s)
    exported = _export(s, "renamed")
    for fmt in ("txt", "srt", "vtt", "docx"):
        assert "Dr. Chen" in exported[fmt], (fmt, exported[fmt])
    assert json.loads(exported["json"])["speaker_names"] == {first: "Dr. Chen"}
    srt_speakers = set(re.findall(r"^\[(.+?)\]", exported["srt"], re.M))
    assert "Dr. Chen" in srt_speakers, exported["srt"]

    # a segment given to the other speaker with Alt+<its number in the Change speaker menu>, then the two merged
    other = next(label for label in labels if label != first)
    number = [action.data() for action in s.view.review_actions.speaker_actions()].index(other) + 1
    s.view.show_row(0)
    _key(s, Qt.Key(Qt.Key.Key_0.value + number), Qt.KeyboardModifier.AltModifier)
    assert s.view.result().segments[0].speaker == other  # type: ignore[union-attr]
    s.view.review_actions.merge_speakers.trigger()
    merge = s.view.review.speaker_dialog
    assert isinstance(merge, MergeSpeakersDialog)
    merge.source_combo.setCurrentIndex(merge.source_combo.findData(other))
    merge.into_combo.setCurrentIndex(merge.into_combo.findData(first))
    merge.ok_button.click()
    merged = s.view.result()
    assert merged is not None
    assert {segment.speaker for segment in merged.segments} == {first}
    assert set(_speaker_column(s)) == {"Dr. Chen"}
    assert s.view.timeline.lane_titles() == ["Dr. Chen"]
    assert "1 speaker" in s.view.header.details_label.text()
    assert _timed_words(merged) == _timed_words(original)
    _wait_saved(s)
    data = json.loads(_export(s, "merged", ("json",))["json"])
    assert [entry["speaker"] for entry in data["speakers"]] == [first]

    # a speaker diarization missed, given the first segment
    s.view.show_row(0)
    s.view.review_actions.add_speaker.trigger()
    add = s.view.review.speaker_dialog
    assert isinstance(add, AddSpeakerDialog) and add.assign_check.isChecked()
    add.name_edit.setText("Interviewer")
    add.ok_button.click()
    assert _speaker_column(s)[0] == "Interviewer" and "Interviewer" in s.view.timeline.lane_titles()
    _speakers_everywhere(s, 2)
    _key(s, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # adding and assigning is one step
    assert _speaker_column(s)[0] == "Dr. Chen"
    _speakers_everywhere(s, 1)
    _wait_saved(s)
    reload = s.window.spawn(s.window._reload_library())  # read again where the jobs live: the saved one counts so
    wait_until(s.app, lambda: reload.done() and not s.window.library_view.model.loading, 10, "the library")
    _speakers_everywhere(s, 1)


# --- the low-confidence pass -----------------------------------------------------------------------------------------
def test_the_low_confidence_pass_visits_the_words_under_the_threshold_in_time_order(session: Session) -> None:
    s = session
    original = _fresh(s)
    scored = sorted(
        (w.start, WordRef(r, i), w.score or 0.0)
        for r, segment in enumerate(original.segments)
        for i, w in enumerate(segment.words)
    )
    ranked = sorted(score for *_, score in scored)
    threshold = (ranked[3] + ranked[4]) / 2 if ranked[3] < ranked[4] else ranked[4] + 1e-6
    s.view.review.set_threshold(threshold)
    expected = [ref for _, ref, score in scored if score < threshold]
    assert 4 <= len(expected) < len(scored)
    assert s.view.review_bar.count_label.text().startswith(f"<b>{len(expected)}</b> words to check")

    visited = []
    reported = _reported(s)
    for number, _ in enumerate(expected, 1):
        _key(s, Qt.Key.Key_F3)
        ref = s.view.review.visited()
        visited.append(ref)
        assert ref is not None
        assert s.view.review_bar.count_label.text().startswith(f"<b>{number}</b> of {len(expected)} words to check")
        word = _word(original, ref)
        lead = max(0.0, word.start - 0.3)

        def played(lead: float = lead) -> bool:
            return any(abs(t - lead) <= 0.15 for t in reported)

        def stopped_after(end: float = word.end) -> bool:
            return not s.view.player.is_playing() and s.view.player.position_seconds() >= end

        wait_until(s.app, played, 10, f"{ref} played")
        assert s.view.segments_view.currentIndex().row() == s.view.segments_model.row_of(ref.row)
        wait_until(s.app, stopped_after, 10, f"playback to stop after {ref}")
        s.app.processEvents()  # the positions reported up to the stop
        assert s.view.segments_model.playing_word == ref, (ref, s.view.player.position_seconds(), word)
    assert visited == expected
    _key(s, Qt.Key.Key_F3)  # past the last one: round to the first
    assert s.view.review.visited() == expected[0]
    _key(s, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)  # and back
    assert s.view.review.visited() == expected[-1]
    _key(s, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert s.view.review.visited() == expected[-2]
    s.view.player.pause()

    _key(s, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # mark it checked: it leaves the pass
    assert _word(s.view.result(), expected[-2]).checked  # type: ignore[arg-type]
    assert s.view.review_bar.count_label.text().startswith(f"<b>{len(expected) - 1}</b> words")
    assert s.view.review.to_check() == [ref for ref in expected if ref != expected[-2]]
    _wait_saved(s)
    assert _word(_stored(s), expected[-2]).checked

    s.window.open_settings()  # the threshold is a preference
    dialog = s.window.settings_dialog
    dialog.threshold_spin.setValue(0.0)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    wait_until(s.app, lambda: s.view.review.threshold == 0.0, 10, "the new threshold")
    assert s.window.preferences.low_confidence_threshold == 0.0
    assert s.view.review_bar.count_label.text() == "No words left to check"


# --- versions -------------------------------------------------------------------------------------------------------
def test_a_save_from_elsewhere_is_never_overwritten_silently(session: Session) -> None:
    s = session
    original = _fresh(s)
    row, position = _plain_word(original)
    tokens = [w.word for w in original.segments[row].words]

    def someone_else_saves(name: str) -> None:  # with the version it read
        current = s.backend.stored(s.job_id)
        label = original.segments[0].speaker or "SPEAKER_00"
        renamed = current.result.model_copy(update={"speaker_names": {label: name}})
        s.backend.save_elsewhere(s.job_id, renamed, current.etag)

    someone_else_saves("From the API")
    tokens[position] = "mine"
    _edit_row(s, row, " ".join(tokens))
    review = s.view.review
    wait_until(s.app, lambda: review.conflict_box is not None and review.conflict_box.isVisible(), 30, "the question")
    assert review.saver is not None and review.saver.state == SaveState.CONFLICT
    assert "mine" not in _stored(s).text  # nothing written over the other save
    box = review.conflict_box
    assert box is not None
    keep = next(b for b in box.buttons() if b.text() == "Keep my version")
    keep.click()
    _wait_saved(s)
    assert "mine" in _stored(s).text.split()

    someone_else_saves("Second API save")
    tokens[position] = "again"
    _edit_row(s, row, " ".join(tokens))
    wait_until(s.app, lambda: review.saver is not None and review.saver.state == SaveState.CONFLICT, 30, "conflict")
    box = review.conflict_box
    assert box is not None
    load = next(b for b in box.buttons() if b.text() == "Load saved version")
    load.click()
    wait_until(s.app, lambda: s.view.result() is not None and "Second API save" in _speaker_column(s), 30, "reload")
    assert "again" not in s.view.result().text.split()  # type: ignore[union-attr]
    assert review.saver.state == SaveState.SAVED  # type: ignore[comparison-overlap]  # mypy narrowed it above

    # edits held back by a conflict are never dropped: not by opening another transcript, not by quitting
    someone_else_saves("Third API save")
    tokens[position] = "unsure"
    _edit_row(s, row, " ".join(tokens))
    wait_until(s.app, lambda: review.conflict_box is not box and review.conflict_box.isVisible(), 30, "conflict")  # type: ignore[union-attr]
    asked = review.conflict_box
    assert asked is not None
    asked.button(QMessageBox.StandardButton.Cancel).click()
    for leave, discard_text in ((lambda: s.window.open_job(s.video_job_id), "Open clip.mp4 without them"),
                                (s.window.request_quit, "Quit without them")):  # fmt: skip
        leave()
        wait_until(s.app, _asked_about_unsaved_edits(s), 10, "the question about the edits")
        unsaved = s.window.unsaved_box
        assert unsaved is not None
        assert unsaved.text() == "Your latest edits to dialogue.wav are not saved."
        assert discard_text in [b.text() for b in unsaved.buttons()]
        unsaved.button(QMessageBox.StandardButton.Cancel).click()  # stay: back to the question that decides

        def asked_anew(previous: QMessageBox | None = asked) -> bool:
            return review.conflict_box is not previous and review.conflict_box.isVisible()  # type: ignore[union-attr]

        wait_until(s.app, asked_anew, 10, "the question which version to keep, again")
        assert s.window._shown_job == s.job_id and "unsure" in s.view.result().text.split()  # type: ignore[union-attr]
        asked = review.conflict_box
        asked.button(QMessageBox.StandardButton.Cancel).click()  # type: ignore[union-attr]
    s.window.open_job(s.video_job_id)  # now going on without them
    wait_until(s.app, _asked_about_unsaved_edits(s), 10, "the question about the edits")
    next(b for b in s.window.unsaved_box.buttons() if b.text() == "Open clip.mp4 without them").click()  # type: ignore[union-attr]
    wait_until(s.app, lambda: s.window._shown_job == s.video_job_id, 30, "the other transcript")
    assert "unsure" not in _stored(s).text.split() and not s.window.has_quit  # nothing written over the other save
    _open(s, s.job_id)  # the version saved elsewhere
    assert "unsure" not in s.view.result().text.split() and "Third API save" in _speaker_column(s)  # type: ignore[union-attr]


def _asked_about_unsaved_edits(s: Session) -> Callable[[], bool]:
    return lambda: s.window.unsaved_box is not None and s.window.unsaved_box.isVisible()


def test_edits_survive_closing_and_reopening_and_revert_restores_the_engines_output(session: Session) -> None:
    s = session
    original = _fresh(s)
    row, position = _plain_word(original)
    tokens = [w.word for w in original.segments[row].words]
    tokens[position] = "persisted"
    _edit_row(s, row, " ".join(tokens))
    label = original.segments[0].speaker
    assert label is not None
    s.view.review.rename_speaker(label, "Ms. Lee")
    s.desktop.quit(s.window)  # at once: the autosave has not run yet, quitting saves

    away = s.talk.path.with_suffix(".away")
    if s.mode == "remote":  # the recording is gone from this machine: the window plays the server's copy
        s.talk.path.rename(away)
    s.window = open_window(s.desktop, s.mode, s.server)  # remote: the last connection resumes
    s.window.resize(1280, 800)
    reopened = _open(s, s.job_id)
    if s.mode == "remote":
        played = s.view.player.source_path()
        assert played is not None and played.read_bytes() == away.read_bytes(), played
        away.rename(s.talk.path)
    assert reopened.segments[row].words[position].word == "persisted"
    assert _speaker_column(s)[0] == "Ms. Lee"
    assert s.view.review.saver is not None and s.view.review.saver.state == SaveState.SAVED
    assert "Reviewed" in s.view.review_bar.state_label.text()

    s.view.review_actions.revert.trigger()
    box = s.view.review.revert_box
    assert box is not None
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(s.app, lambda: s.view.review.saver.state == SaveState.ORIGINAL, 30, "the revert")  # type: ignore[union-attr]
    assert s.view.result() == original
    assert s.backend.stored(s.job_id).reviewed is False
    assert _speaker_column(s)[0] != "Ms. Lee"
    assert TranscriptionResult.model_validate(json.loads(_export(s, "reverted", ("json",))["json"])) == original


def _follow_the_held_job(s: Session, audio: Path) -> None:
    """Add ``audio`` (finding speakers: the aligned rows show while they are found), select its job once it is held
    in transcription, with nothing decoded yet, and let it go once the window shows it."""
    s.window.batch_options.diarize_check.setChecked(True)
    s.window.add_paths([audio])
    wait_until(s.app, lambda: _job_id(s.window, audio.name) is not None, 120, "the job to be queued")
    s.window.batch_options.diarize_check.setChecked(False)
    held = s.faults.folder / "held-in-transcribing"
    wait_until(s.app, held.exists, 120, "the job held as it enters transcription")  # the window live meanwhile
    _, held_job = s.faults.held("transcribing", timeout=10)
    assert held_job == _job_id(s.window, audio.name)
    wait_until(s.app, lambda: _status(s.window, audio.name) == JobStatus.PROCESSING, 60, "the job to start")
    s.window.queue_view.select_jobs([held_job])
    wait_until(s.app, lambda: s.window.growing.showing, 30, "the window to follow the job")
    s.faults.release("transcribing")


def test_a_running_job_shows_its_transcript_growing_then_the_finished_one_takes_its_place(
    session: Session, sparse_wav: Path
) -> None:
    """Issue 20, "the transcript as it is made": nine sentences 24 s apart are three batches of chunks; selected in
    the queue while it transcribes, the job's transcript so far shows where the transcript goes and grows a batch at
    a time, with the user's selection and scroll position left where they were; find and playback work on it; when
    the alignment stage ends, the aligned segments (word times) replace the rows in place, the selection and the
    scroll position kept by time, while the speakers are found; once it has finished, its transcript takes the
    place.

    The job is held as it enters transcription until the window follows it: its three batches are decoded in a few
    seconds, and a window that first read the transcript so far after the last of them never saw a next batch (the
    remote mode's timeout under two CI processes: there the window learns that a job started later, through the
    upload, the server's events and a read of the job)."""
    s = session
    growing = s.window.growing
    view = growing.view
    s.faults.hold("transcribing")
    try:
        _follow_the_held_job(s, sparse_wav)
    finally:
        s.faults.release("transcribing")  # whatever happened: no later job waits
    job_id = _job_id(s.window, "sparse.wav")
    assert job_id is not None
    meter = StallMeter()
    meter.start()
    wait_until(s.app, lambda: growing.showing and view.model.rowCount() > 0, 180, "the first batch")
    first = view.model.rowCount()
    assert view.notice.text().startswith("Still transcribing — speakers come at the end")
    assert view.player.source_path() == sparse_wav

    view.find_bar.find_edit.setText("office")  # SENTENCES[1], in the first batch
    assert view.find_bar.count_label.text() == "1 of 1" and view.table.currentIndex().row() == 1
    view.play_row(0)
    assert abs(view.player.position_seconds() - view.model.segments[0].start) < 0.05
    view.player.pause()
    view.table.setFixedHeight(80)  # a few rows on screen: the user scrolls to the last one, then a batch comes
    s.app.processEvents()
    view.table.scrollToBottom()
    scrolled = view.table.verticalScrollBar().value()
    assert scrolled > 0
    wait_until(s.app, lambda: view.model.rowCount() > first, 180, "the next batch")
    assert view.table.currentIndex().row() == 1, "the selection stayed"
    assert view.table.verticalScrollBar().value() == scrolled, "the scroll position stayed"
    streamed = [segment.text for segment in view.model.segments]
    top = view.model.segments[view.table.rowAt(0)].start

    def aligned_or_done() -> bool:
        return view.words_aligned or _status(s.window, "sparse.wav") == JobStatus.COMPLETED

    wait_until(s.app, aligned_or_done, 300, "the aligned segments")
    assert view.words_aligned, "the aligned segments replaced the rows while the speakers were found"
    assert view.notice.text() == WORDS_ALIGNED
    assert all(segment.words for segment in view.model.segments), "the rows are the aligned ones, with word times"
    assert "office" in view.model.segments[view.table.currentIndex().row()].text, "the selection stayed, by time"
    assert view.table.rowAt(0) == view.model.row_at_time(top), "the scroll position stayed, by time"
    assert view.find_bar.count_label.text() == "1 of 1"
    view.play_row(view.table.currentIndex().row())
    assert abs(view.player.position_seconds() - view.model.segments[view.table.currentIndex().row()].start) < 0.05
    view.player.pause()
    meter.stop()
    top = view.model.segments[view.table.rowAt(0)].start

    s.view.segments_view.setFixedHeight(80)  # the finished transcript too: it opens where the user was
    wait_until(s.app, lambda: _status(s.window, "sparse.wav") == JobStatus.COMPLETED, 300, "the job to finish")
    wait_until(s.app, lambda: not growing.showing and s.window._shown_job == job_id, 60, "the finished transcript")
    result = s.view.result()
    assert result is not None
    table, rows = s.view.segments_view, s.view.segments_model

    def back_in_place() -> bool:  # rows are speaker turns: the segment's turn, scrolled to its line
        segment = rows.segment_at_time(top)
        return table.currentIndex().row() >= 0 and segment is not None and table.rowAt(0) == rows.row_of(segment)

    wait_until(s.app, back_in_place, 10, "the finished transcript at the part being read")
    selected = s.view.current_row()
    assert selected is not None and "office" in result.segments[selected].text  # the segment selected while it grew
    table.setMinimumHeight(0)
    table.setMaximumHeight(16777215)
    shown = " ".join(" ".join(streamed).split())
    assert " ".join(result.text.split()).startswith(shown)
    print(f"growing transcript: {first} then {len(streamed)} rows; worst GUI stall {meter.worst * 1000:.0f} ms")
    view.table.setMaximumHeight(16777215)
    view.table.setMinimumHeight(0)
