"""Save voice to library… on the real window in local mode: the transcript's context menu opens the dialog on the
selected segment's speaker, Save waits for the consent box, a name already in the library gets another sample, and
a refusal is shown with its reason. What was saved is checked in the library folder on disk. The jobs are folders as
the worker leaves them (tests/enroll_jobs.py); the REST side: tests/test_voice_enroll.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from stt_studio.engine.diarization.local import local_embedding_fingerprint
from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.voices.save_dialog import CONSENT_NOTE, SaveVoiceDialog
from stt_studio.ui.voices.save_voice import SaveVoiceToLibrary
from stt_studio.voices.library import VoiceLibrary
from tests.desktop import desktop_app, desktop_env, qasync_loop, release_loop, wait_until
from tests.enroll_jobs import files_only_store, finished_job, tone_wav


@pytest.fixture
def window(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[MainWindow]:
    """The real window on a private data folder; its queue is not started: a store over the same folder stands in
    for it (saving a voice reads only the job's files)."""
    desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir)
    loop = qasync_loop(desktop_app(qapp))
    window = build_window(Settings())
    window._local._store = files_only_store(window._local.settings.data_dir)  # type: ignore[attr-defined]
    yield window
    window._local._store = None  # type: ignore[attr-defined]
    window.deleteLater()
    release_loop(loop)


def show_job(window: MainWindow, store: JobStore, job_id: str) -> None:
    job = JobView(job_id=job_id, status=JobStatus.COMPLETED, filename="talk.wav")
    window.transcript_view.show_transcript(job, store.transcript(job_id).result, None)


def save(app: QApplication, saver: SaveVoiceToLibrary, dialog: SaveVoiceDialog) -> str:
    before = saver.last_task
    dialog.save_button.click()
    wait_until(
        app, lambda: (task := saver.last_task) is not before and task is not None and task.done(), 30, "the save"
    )
    assert saver.last_task is not None
    saver.last_task.result()
    return dialog.result_label.text()


def test_saving_a_speaker_needs_consent_then_a_taken_name_adds_a_sample_and_a_refusal_says_why(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    store: JobStore = window._local.store
    library = VoiceLibrary.in_data_dir(window._local.settings.data_dir)
    audio = tone_wav(tmp_path / "talk.wav")
    model = local_embedding_fingerprint()
    job_id = finished_job(store, audio, model, keep_audio=False, names={"SPEAKER_00": "Diane"})  # the user's file
    saver = window.voice_library.save_voice
    assert not saver.action.isEnabled(), "nothing shown: no speaker to save"
    show_job(window, store, job_id)
    assert saver.action.isEnabled() and saver.action in window.review_menu.actions()
    view = window.transcript_view
    view.show_row(4)  # Carol's segment (in her turn's row)
    view.segments_view.customContextMenuRequested.emit(QPoint(5, 5))
    menu = window.find_speakers.context_menu
    assert menu is not None and saver.action in menu.actions()
    menu.close()

    saver.action.trigger()
    dialog = saver.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.speaker_combo.currentData() == "SPEAKER_02", "the selected segment's speaker"
    dialog.speaker_combo.setCurrentIndex(dialog.speaker_combo.findData("SPEAKER_00"))
    assert dialog.name_edit.text() == "Diane", "the name given in review"
    assert dialog.seconds_label.text().startswith("17.0 s")
    assert not dialog.save_button.isEnabled(), "no consent yet"
    dialog.consent_check.setChecked(True)
    assert dialog.save_button.isEnabled()
    dialog.name_edit.setText("   ")
    assert not dialog.save_button.isEnabled(), "no name"
    dialog.name_edit.setText("Diane")
    assert save(qapp, saver, dialog) == "Saved as a new voice “Diane” (17.0 s of speech)"
    (diane,) = library.voices()
    assert [(s.speech_seconds, s.consent, s.source) for s in diane.samples] == [
        (17.0, CONSENT_NOTE, f"job {job_id} speaker SPEAKER_00")
    ]
    assert not dialog.save_button.isEnabled(), "saved: not twice by a second click"

    dialog.speaker_combo.setCurrentIndex(dialog.speaker_combo.findData("SPEAKER_01"))  # 4.5 s alone: too little
    dialog.name_edit.setText("Bob")
    assert "Too little to save" in dialog.seconds_label.text() and not dialog.save_button.isEnabled()

    dialog.speaker_combo.setCurrentIndex(dialog.speaker_combo.findData("SPEAKER_02"))  # 6 s, into Diane's voice
    assert dialog.name_edit.text() == "" and "Under 10 s" in dialog.seconds_label.text()
    dialog.name_edit.setText("dIANE")
    said = save(qapp, saver, dialog)
    assert said.startswith("Added to the existing voice “Diane” as sample 2 (6.0 s of speech)") and "6.0 s" in said
    assert [s.speech_seconds for s in library.get(diane.id).samples] == [17.0, 6.0]
    dialog.close()

    other = finished_job(store, audio, "campplus-192:0000000000000000")  # diarized by an older speaker model
    show_job(window, store, other)
    dialog = saver.open()
    assert dialog is not None
    dialog.consent_check.setChecked(True)
    dialog.name_edit.setText("Diane")
    said = save(qapp, saver, dialog)
    assert said.startswith("Not saved:") and "campplus-192:0000000000000000" in said, said
    assert len(library.get(diane.id).samples) == 2
