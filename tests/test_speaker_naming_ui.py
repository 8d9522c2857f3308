"""Naming speakers from the voice library in the real window with its real worker (tiny.en, the no-token speaker
models), in both modes (tests/modes.py: this machine's queue, or a keyed ``serve``): pyannote's two-speaker sample.

One speaker enrolled (from its turns before 18 s), "Name automatically when sure" off → a new job of the recording
→ the chip suggests the enrolled voice, the other speaker's chip offers to save it; the enrolled voice's sample plays
beside the transcript (fetched from the server in remote mode); Not X, undone with Ctrl+Z;
accepted → its name in the exports; rejected → identify again after enrolling the other speaker: the rejection
holds, the other is suggested; Accept all; undo restores. What was saved is read where the jobs live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from stt_studio.engine.result import TranscriptionResult
from stt_studio.exports.options import ExportOptions
from stt_studio.jobs.models import JobStatus
from stt_studio.settings import Settings
from stt_studio.ui.editing.autosave import SaveState
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.voices.naming import SpeakerNaming
from stt_studio.voices.library import VoiceLibrary
from tests.desktop import Desktop, desktop_app, desktop_env, wait_until
from tests.live import RemoteServer
from tests.modes import MODES, Backend, Mode, backend, open_window
from tests.test_diarization import ENROLLED_TURNS, SAMPLE_DIR, enroll_sample_speakers, reference_speaker

pytestmark = [pytest.mark.slow, pytest.mark.no_qt_log]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def window_and_backend(
    mode: Mode, request: pytest.FixtureRequest, qapp: QApplication, tmp_path: Path, settings: Settings
) -> Iterator[tuple[Desktop, MainWindow, Backend, VoiceLibrary]]:
    server: RemoteServer | None = request.getfixturevalue("remote_server") if mode == "remote" else None
    patch = pytest.MonkeyPatch()
    desktop = Desktop(desktop_app(qapp), desktop_env(patch, tmp_path, settings.resolved_models_dir))
    try:
        window = open_window(desktop, mode, server)
        window.resize(1280, 800)
        data_dir = Path(server.env["STT_DATA_DIR"]) if server is not None else window._local.settings.data_dir
        library = VoiceLibrary.in_data_dir(data_dir)
        yield desktop, window, backend(mode, lambda: window, server), library
    finally:
        desktop.close()
        patch.undo()


def enroll(library: VoiceLibrary, folder: Path, monkeypatch: pytest.MonkeyPatch, speaker: str) -> None:
    monkeypatch.setattr("tests.test_diarization.ENROLLED_TURNS", {speaker: ENROLLED_TURNS[speaker]})
    folder.mkdir(exist_ok=True)
    enroll_sample_speakers(library, folder)


def test_suggest_reject_undo_accept_export_identify_again(
    window_and_backend: tuple[Desktop, MainWindow, Backend, VoiceLibrary],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
) -> None:
    desktop, window, stored, library = window_and_backend
    app = desktop.app
    enroll(library, tmp_path / "clips-91", monkeypatch, "speaker91")
    try:
        window.preferences = window.preferences.model_copy(update={"name_automatically": False})
        window.batch_options.diarize_check.setChecked(True)
        window.add_paths([SAMPLE_DIR / "sample.wav"])

        def job() -> str | None:
            return next((j.job_id for j in window.queue_model.jobs() if j.filename == "sample.wav"), None)

        def completed() -> bool:
            return any(
                j.filename == "sample.wav" and j.status == JobStatus.COMPLETED for j in window.queue_model.jobs()
            )

        wait_until(app, completed, 900, "the sample to be transcribed and diarized")
        job_id = job()
        assert job_id is not None
        window.open_job(job_id)
        view = window.transcript_view
        wait_until(app, lambda: window._shown_job == job_id and view.result() is not None, 60, "the transcript")
        result = view.result()
        assert result is not None and result.speaker_turns is not None and result.speakers is not None
        who = {
            s.speaker: reference_speaker(s.speaker, result.speaker_turns, SAMPLE_DIR / "sample.rttm")
            for s in result.speakers
        }
        label_91 = next(label for label, ref in who.items() if ref == "speaker91")
        label_90 = next(label for label, ref in who.items() if ref == "speaker90")
        naming: SpeakerNaming = window.voice_library.naming
        chips = naming.chips
        assert chips.isVisible()
        assert chips.chips[label_91].kind == "suggested" and chips.buttons[label_91].text().startswith("speaker91? ")
        assert chips.buttons[label_91].text().endswith(" %")
        assert chips.chips[label_90].kind == "unknown" and chips.buttons[label_90].text().endswith("· Save voice…")
        assert naming.accept_all_action.isEnabled() and naming.accept_all_action in window.review_menu.actions()

        # an unknown speaker's chip opens Save voice to library… on that speaker
        chips.buttons[label_90].click()
        dialog = window.voice_library.save_voice.dialog
        assert dialog is not None and dialog.speaker_combo.currentData() == label_90
        dialog.close()

        def choose(label: str, starts: str) -> None:
            chips.buttons[label].click()
            menu = chips.menu
            assert menu is not None and menu.isVisible()
            action = next(a for a in menu.actions() if a.text().startswith(starts))
            action.trigger()
            menu.close()

        wait_until(app, view.player.is_loaded, 60, "the recording to load")
        choose(label_91, "Play this speaker")
        wait_until(app, view.player.is_playing, 30, "the speaker's turn to play")
        view.player.pause()
        assert view.player.position_seconds() >= 14.0, "speaker91's longest clean turn starts after 14 s"

        # beside it, the voice's enrolled sample, through the window's voice service (a server's: fetched)
        view.player.play()
        wait_until(app, view.player.is_playing, 30, "the transcript to play again")
        choose(label_91, "Play speaker91's sample")
        sample_task = naming.last_sample_task
        assert sample_task is not None
        wait_until(app, sample_task.done, 60, "the sample to be fetched")
        sample_task.result()
        sample_bar = naming.sample_player.player
        wait_until(app, sample_bar.is_playing, 30, "the voice's sample to play")
        assert not view.player.is_playing(), "the transcript pauses while the sample plays"
        assert naming.sample_player.title.text() == "speaker91's sample:"
        (voice,) = library.voices()
        played = sample_bar.source_path()
        assert played is not None and played.read_bytes() == library.clip_path(voice.samples[0]).read_bytes()
        assert 2.5 < sample_bar.duration_seconds() < 5.0, "the enrolled 3.2 s of speech, not the 30 s recording"
        naming.sample_player.close_button.click()
        assert naming.sample_player.isHidden()
        wait_until(app, lambda: not sample_bar.is_playing(), 10, "the sample to stop")

        choose(label_91, "Not speaker91")
        assert chips.chips[label_91].kind == "unknown"
        if QApplication.activeWindow() is not window:  # the review's shortcuts are the active window's
            window.activateWindow()
            wait_until(app, lambda: QApplication.activeWindow() is window, 5, "the window to be active")
        view.segments_view.setFocus()
        qtbot.keyClick(view.segments_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z
        app.processEvents()
        assert chips.chips[label_91].kind == "suggested", "undo restores the suggestion"

        choose(label_91, "Accept")
        assert chips.buttons[label_91].text() == "speaker91 ✓"
        assert view.speakers.display_name(label_91) == "speaker91"
        saver = view.review.saver
        assert saver is not None
        wait_until(app, lambda: saver.state == SaveState.SAVED, 60, f"the autosave ({saver.state})")
        saved = stored.stored(job_id).result
        assert saved.speaker_name(label_91) == "speaker91" and saved.speaker_name(label_90).startswith("Speaker ")
        folder = tmp_path / "exports"
        folder.mkdir()
        future = window.spawn(window.service.export([job_id], folder, ["txt", "srt"], ExportOptions()))
        wait_until(app, future.done, 60, "the export")
        for path in folder.iterdir():
            text = path.read_text()
            assert "speaker91" in text and "speaker90" not in text, path.name

        # undo the accept, reject instead; enroll the other speaker; identify again: the rejection holds
        undo = view.review.actions.undo
        assert undo is not None
        undo.trigger()
        assert chips.chips[label_91].kind == "suggested"
        choose(label_91, "Not speaker91")
        enroll(library, tmp_path / "clips-90", monkeypatch, "speaker90")
        task = naming.identify_again()
        assert task is not None
        wait_until(app, task.done, 60, "identify again")
        task.result()
        assert chips.chips[label_90].kind == "suggested" and chips.chips[label_90].voice == "speaker90"
        assert chips.chips[label_91].kind == "unknown", "the rejection is remembered"
        assert naming.accept_all_action.isEnabled()
        naming.accept_all_action.trigger()
        assert chips.buttons[label_90].text() == "speaker90 ✓" and not naming.accept_all_action.isEnabled()
        wait_until(app, lambda: saver.state == SaveState.SAVED, 60, f"the autosave ({saver.state})")
        saved = stored.stored(job_id).result
        assert saved.speaker_name(label_90) == "speaker90"
        summary_91 = next(s for s in saved.speakers or () if s.speaker == label_91)
        assert summary_91.match == "unknown" and summary_91.rejected_voices, "the rejection is kept with the job"

        undo.trigger()  # accept all
        undo.trigger()  # identify again
        assert chips.chips[label_90].kind == "unknown"
        wait_until(app, lambda: saver.state == SaveState.SAVED, 60, f"the autosave ({saver.state})")
        assert TranscriptionResult.model_validate(stored.stored(job_id).result).speaker_name(label_90) != "speaker90"
    finally:
        for voice in library.voices():
            library.delete_voice(voice.id)  # the remote server's later diarized jobs run without a library
