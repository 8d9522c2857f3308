"""The real desktop window, offscreen, with real workers and tiny.en on espeak-ng speech: drop a folder, watch
progress, read a two-speaker transcript, play, export, cancel, retry, remove, close and reopen.

The queue test runs in both modes (tests/modes.py): on this machine's queue (the embedded Valkey and the window's
worker process) and connected to a keyed ``serve`` on loopback (uploads, SSE, the server's library). The watched
folder belongs to this machine only."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import docx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.review.words import WordRef
from stt_studio.ui.models.library_model import Column as LibraryColumn
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import Desktop, drop_paths, wait_until
from tests.modes import MODES, Mode, open_window
from tests.speech import (
    SENTENCES,
    SHORT_CLIP_WER_BOUND,
    VOCABULARY,
    VOCABULARY_SENTENCES,
    dialogue,
    speech_clip,
    vocabulary_found,
    wer,
)

pytestmark = [pytest.mark.slow, pytest.mark.no_qt_log]  # media threads log while pytest-qt swaps its handler

DIALOGUE = [
    (0, "Good morning, I would like to book a table for two people tonight."),
    (1, "Of course. We have a table free at eight o'clock by the window."),
    (0, "That sounds perfect, thank you very much."),
]


def _jobs(window: MainWindow) -> dict[str, JobView]:
    return {job.filename or job.job_id: job for job in window.queue_model.jobs()}


def _wait_status(app: QApplication, window: MainWindow, name: str, status: JobStatus, timeout: float = 300) -> None:
    def reached() -> bool:
        return name in _jobs(window) and _jobs(window)[name].status == status

    wait_until(
        app, reached, timeout, f"{name} to be {status.value}: {[(n, j.status) for n, j in _jobs(window).items()]}"
    )


def _library_names(window: MainWindow) -> set[str]:
    model = window.library_view.model
    return {model.entry(r).filename for r in range(model.rowCount())}


def _select(window: MainWindow, names: list[str]) -> None:
    window.queue_view.select_jobs([_jobs(window)[name].job_id for name in names])


def _library_statuses(window: MainWindow) -> dict[str, JobStatus]:
    model = window.library_view.model
    return {model.entry(r).filename: model.entry(r).status for r in range(model.rowCount())}


@pytest.mark.parametrize("mode", MODES)
def test_desktop_end_to_end(
    mode: Mode, request: pytest.FixtureRequest, desktop: Desktop, tmp_path: Path, sentences_wav: Path
) -> None:
    qapp = desktop.app
    server = request.getfixturevalue("remote_server") if mode == "remote" else None
    window = open_window(desktop, mode, server)

    # --- a folder with three recordings and a text file -------------------------------------------------------
    inbox = tmp_path / "inbox"
    speech_clip(inbox, SENTENCES[:2], "first")
    speech_clip(inbox, SENTENCES[2:4], "second")
    talk = dialogue(tmp_path / "talk", DIALOGUE, "dialogue")
    shutil.copy(talk.path, inbox / "dialogue.wav")
    for leftover in inbox.glob("*_[0-9]*.wav"):
        leftover.unlink()
    for leftover in inbox.glob("silence_*.wav"):
        leftover.unlink()
    (inbox / "notes.txt").write_text("not audio")
    progress: dict[str, list[int]] = defaultdict(list)

    def record(views: list[JobView]) -> None:
        for v in views:
            progress[v.job_id].append(v.progress)

    window.service.jobs_updated.connect(record)
    window.batch_options.diarize_check.setChecked(True)

    drop_paths(window, [inbox])
    wait_until(qapp, lambda: len(_jobs(window)) == 3, 60, "three jobs")
    assert set(_jobs(window)) == {"first.wav", "second.wav", "dialogue.wav"}
    notices = [n.title + " ".join(n.details) for n in window.notices.notices]
    assert any("notes.txt" in text and "not an audio" in text for text in notices), notices

    for name in ("first.wav", "second.wav", "dialogue.wav"):
        _wait_status(qapp, window, name, JobStatus.COMPLETED)
    for job_id, values in progress.items():
        assert values == sorted(values), f"progress of {job_id} went down: {values}"
        assert values[-1] == 100

    # --- the two-speaker transcript, its colors, its timeline, the player -------------------------------------
    job = _jobs(window)["dialogue.wav"]
    window.open_job(job.job_id)
    view = window.transcript_view
    wait_until(qapp, lambda: view.result() is not None and view.result().text != "", 30, "the transcript")  # type: ignore[union-attr]
    result = view.result()
    assert result is not None
    assert wer(talk.text, result.text) <= SHORT_CLIP_WER_BOUND, result.text
    model = view.segments_model
    colors = {model.speakers.color(model.segment(r).speaker).name() for r in range(model.rowCount())}
    assert len(colors) == 2, colors
    view.timeline.grab()  # paint it
    assert view.timeline.colors_used() == colors  # one color per speaker, the same in the table and the timeline
    second = result.segments[1]
    table = view.segments_view
    first_word = model.row_word(WordRef(1, 0))  # segment 1's first word, in its speaker turn's row
    index = model.index(first_word.row, 2)
    word_rect = view.text_delegate.word_rect(index, table.visualRect(index), first_word.word, table)
    assert word_rect is not None
    QtBot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=word_rect.center().toPoint())
    # a click on a segment's text plays from the word under the pointer (tests/test_review_ui.py checks which)
    wait_until(qapp, lambda: second.start - 0.3 <= view.player.position_seconds() <= second.end + 0.3, 10,
               f"the player in {second.start:.2f}–{second.end:.2f} s")  # fmt: skip
    view.player.pause()

    # --- export two jobs to srt and docx ---------------------------------------------------------------------
    window.tabs.setCurrentWidget(window.queue_view)
    _select(window, ["first.wav", "dialogue.wav"])
    out = tmp_path / "exported"
    window.export_selected()
    dialog = window.exports.dialog
    assert dialog is not None
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt in ("srt", "docx"))
    dialog.folder_edit.setText(str(out))
    dialog.ok_button.click()
    wait_until(qapp, lambda: len(list(out.glob("*"))) == 4, 30, "four exported files")
    srt = (out / "first.srt").read_text()
    cues = re.findall(r"^\d+\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+?)(?:\n\n|\Z)", srt, re.M | re.S)
    assert cues and wer(" ".join(SENTENCES[:2]), " ".join(re.sub(r"\[.*?\]: ", "", c[2]) for c in cues)) <= 0.25
    document = "\n".join(p.text for p in docx.Document(str(out / "dialogue.docx")).paragraphs)
    said = re.findall(r"[\w']+", result.text.casefold())
    assert set(said) <= set(re.findall(r"[\w']+", document.casefold())), document
    assert "Speaker 1" in document and "Speaker 2" in document, document  # what the window shows, too

    # --- cancel a running job; the next one starts ------------------------------------------------------------
    long_copy = shutil.copy(sentences_wav, tmp_path / "long.wav")
    short_copy = shutil.copy(inbox / "first.wav", tmp_path / "third.wav")
    window.batch_options.diarize_check.setChecked(False)
    window.add_paths([Path(long_copy), Path(short_copy)])  # one batch: queued in this order
    _wait_status(qapp, window, "long.wav", JobStatus.PROCESSING, 60)
    _select(window, ["long.wav"])
    window.cancel_action.trigger()
    _wait_status(qapp, window, "long.wav", JobStatus.CANCELED, 30)
    _wait_status(qapp, window, "third.wav", JobStatus.COMPLETED, 120)

    # --- retry the canceled job; remove a finished one; a file added twice is asked about ---------------------
    canceled_id = _jobs(window)["long.wav"].job_id
    _select(window, ["long.wav"])
    window.retry_action.trigger()
    wait_until(qapp, lambda: _jobs(window)["long.wav"].job_id != canceled_id, 30, "the retried job")
    _wait_status(qapp, window, "long.wav", JobStatus.COMPLETED, 180)
    _select(window, ["third.wav"])
    window.remove_action.trigger()
    window._confirm_box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(qapp, lambda: "third.wav" not in _jobs(window), 30, "the removed job to go")
    wait_until(qapp, lambda: "third.wav" not in _library_names(window), 30, "the removed job to leave the library")
    assert Path(short_copy).exists()  # the user's audio is kept

    # --- the library search finds a word said in a transcript, not in any file name ---------------------------
    library = window.library_view
    library.search.setText("appointment")  # said in first.wav and long.wav (SENTENCES[1])

    def shown() -> set[str]:
        return {library.proxy.index(row, LibraryColumn.FILE).data() for row in range(library.proxy.rowCount())}

    wait_until(qapp, lambda: library.proxy.transcripts_searched and shown() == {"first.wav", "long.wav"}, 30,
               f"the transcript search to find first.wav and long.wav: {shown()}")  # fmt: skip
    library.search.clear()
    window.add_paths([inbox / "first.wav"])
    wait_until(qapp, lambda: any("added before" in n.title for n in window.notices.notices), 30, "the question")
    assert list(_jobs(window)).count("first.wav") == 1

    # --- the vocabulary of the next files reaches the decoder -------------------------------------------------
    vocabulary = speech_clip(tmp_path / "vocabulary", VOCABULARY_SENTENCES, "vocabulary")
    window.batch_options.prompt_edit.setText(", ".join(VOCABULARY) + ".\x07")  # a control character pasted in
    window.add_paths([vocabulary])
    _wait_status(qapp, window, "vocabulary.wav", JobStatus.COMPLETED, 120)
    prompted = _jobs(window)["vocabulary.wav"]
    assert prompted.options is not None and prompted.options.prompt == ", ".join(VOCABULARY) + "."
    future = window.spawn(window.service.result(prompted.job_id))
    wait_until(qapp, future.done, 30, "the transcript")
    assert len(vocabulary_found(future.result().text)) >= 2, future.result().text
    window.batch_options.prompt_edit.clear()

    # --- settings survive; closing and reopening loses no job -------------------------------------------------
    window.open_settings()
    settings_dialog = window.settings_dialog
    settings_dialog.language_combo.setCurrentText("en")
    settings_dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    wait_until(qapp, lambda: window.preferences.default_language == "en", 10, "the settings to apply")
    running = Path(shutil.copy(sentences_wav, tmp_path / "running.wav"))
    waiting = Path(shutil.copy(inbox / "second.wav", tmp_path / "waiting.wav"))
    window.add_paths([running, waiting])
    _wait_status(qapp, window, "running.wav", JobStatus.PROCESSING, 60)
    done: list[bool] = []
    window.quit_finished.connect(lambda: done.append(True))
    window.request_quit()
    if mode == "local":  # this machine's jobs: asked whether to stop after the current one
        quit_box = window.closing.box
        assert isinstance(quit_box, QMessageBox)
        stop = next(b for b in quit_box.buttons() if b.text() == "Stop after current job")
        stop.click()
    # remote: the server's jobs go on without the window, so it closes without asking
    wait_until(qapp, lambda: bool(done), 300, "the app to quit")
    if mode == "local":
        assert _jobs(window)["waiting.wav"].status == JobStatus.QUEUED  # stopped after the running job

    window = open_window(desktop, mode, server)  # remote: the last connection resumes
    assert window.preferences.default_language == "en"
    assert window.batch_options.language_combo.currentData() == "en"
    expected = {"first.wav", "second.wav", "dialogue.wav", "running.wav", "long.wav", "waiting.wav"}

    def all_done() -> bool:
        statuses = _library_statuses(window)
        return expected <= set(statuses) and all(statuses[n] == JobStatus.COMPLETED for n in expected)

    wait_until(qapp, all_done, 300, f"the library to list every job as completed: {_library_statuses(window)}")
    desktop.quit(window)


def test_a_watched_folder_queues_each_new_file_once(desktop: Desktop, tmp_path: Path) -> None:
    qapp = desktop.app
    window = open_window(desktop, "local", None)
    watched = tmp_path / "watched"
    watched.mkdir()
    first = speech_clip(tmp_path / "clips", SENTENCES[:2], "first")
    second = speech_clip(tmp_path / "clips", SENTENCES[2:4], "second")
    window.open_settings()
    window.settings_dialog.watched_edit.setText(str(watched))
    window.settings_dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    wait_until(qapp, lambda: window.preferences.watched_folder == watched, 10, "the watched folder setting")
    shutil.copy(first, watched / "dropped-in.wav")
    _wait_status(qapp, window, "dropped-in.wav", JobStatus.COMPLETED, 120)
    desktop.quit(window)

    window = open_window(desktop, "local", None)  # across a restart, too
    shutil.copy(second, watched / "later.wav")
    _wait_status(qapp, window, "later.wav", JobStatus.COMPLETED, 120)
    assert "dropped-in.wav" not in _jobs(window), "a watched file was queued twice"
    library = window.library_view
    dropped = [r for r in range(library.model.rowCount()) if library.model.entry(r).filename == "dropped-in.wav"]
    assert len(dropped) == 1
    desktop.quit(window)
