"""Voice library → Add voice… on the real window and dialog, with real speech (clips of pyannote's two-speaker
sample) and the real speaker model: on this computer's library folder, and on a real keyed ``serve``'s library over
REST. What the dialog shows is checked against what the library holds on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtWidgets import QApplication

from stt_studio.ui.connections import THIS_COMPUTER, Profile
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.voices.add_dialog import AddVoiceDialog
from stt_studio.ui.voices.controller import VoiceLibraryController
from stt_studio.voices.library import VoiceLibrary
from tests.desktop import wait_until
from tests.live import KEY, RemoteServer
from tests.sample_clips import BOTH_LONGER, SPEAKER91_LONG, cut, silence
from tests.test_voice_library_window import opened, rows, window  # noqa: F401 (the window fixture)

pytestmark = pytest.mark.slow


def settle(app: QApplication, controller: VoiceLibraryController) -> None:
    task = controller.last_task
    assert task is not None
    wait_until(app, task.done, 180, "the voice library to answer")  # the first clip loads the speaker models
    task.result()


def add(app: QApplication, controller: VoiceLibraryController, dialog: AddVoiceDialog) -> None:
    before = controller.last_task
    dialog.add_button.click()
    assert controller.last_task is not before, "Add asked nothing"
    settle(app, controller)


def test_add_voice_from_a_file_picks_one_of_several_voices_after_consent(
    window: MainWindow,  # noqa: F811
    qapp: QApplication,
    tmp_path: Path,
) -> None:
    controller, library_dialog = opened(window, qapp)
    library_dialog.add_voice_button.click()
    dialog = controller.add_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.add_button.isEnabled()  # no file yet

    dialog.set_clip(silence(tmp_path / "quiet.wav", 6.0))
    dialog.name_edit.setText("Ysolde")
    assert not dialog.add_button.isEnabled()  # not before consent is ticked
    dialog.consent_check.setChecked(True)
    add(qapp, controller, dialog)
    assert "Not added: No speech" in dialog.result_label.text()

    dialog.set_clip(cut(tmp_path / "both.ogg", BOTH_LONGER))
    assert dialog.name_edit.text() == "Ysolde" and dialog.speaker_combo.isHidden()
    add(qapp, controller, dialog)
    print("several:", dialog.result_label.text(), [dialog.speaker_combo.itemText(i) for i in range(2)])
    assert "This file holds 2 voices: pick the one to save" in dialog.result_label.text()
    assert not dialog.speaker_combo.isHidden() and dialog.speaker_combo.count() == 2
    library = VoiceLibrary.in_data_dir(tmp_path / "data")
    assert library.voices() == []
    picked = dialog.speaker_combo.itemData(0)  # the most speech: speaker90, 8.4 s
    add(qapp, controller, dialog)
    print("added:", dialog.result_label.text())
    assert "Saved as a new voice “Ysolde”" in dialog.result_label.text()
    (voice,) = library.voices()
    (sample,) = voice.samples
    assert voice.name == "Ysolde" and sample.source == f"file both.ogg ({picked})"
    assert "agreed to have their voice stored" in sample.consent and sample.speech_seconds >= 5.0
    assert library.clip_path(sample).is_file()
    assert [r[0] for r in rows(library_dialog.voices_table)] == ["Ysolde"]
    assert "added from both.ogg" in library_dialog.status_label.text()


def test_add_voice_on_a_server_saves_into_the_servers_library(
    window: MainWindow,  # noqa: F811
    qapp: QApplication,
    tmp_path: Path,
    remote_server: RemoteServer,
) -> None:
    window.server.connections.save(Profile(name="gpu box", url=remote_server.url), KEY)
    switched: asyncio.Future[Any] = window.spawn(window.server.switch_to("gpu box"))
    wait_until(qapp, switched.done, 60, "switching to the server")
    assert switched.result(), "the connection was refused"
    try:
        controller, library_dialog = opened(window, qapp)
        dialog = controller.open_add_voice()
        dialog.set_clip(cut(tmp_path / "speaker91.flac", SPEAKER91_LONG))
        dialog.name_edit.setText("Ysolde")
        dialog.consent_check.setChecked(True)
        add(qapp, controller, dialog)
        print("added on the server:", dialog.result_label.text())
        assert "Saved as a new voice “Ysolde”" in dialog.result_label.text()
        body = httpx.get(f"{remote_server.url}/voices", headers={"Authorization": f"Bearer {KEY}"}, timeout=30).json()
        (voice,) = [v for v in body["voices"] if v["name"] == "Ysolde"]
        assert voice["samples"][0]["source"] == "file speaker91.flac"
        assert "STT Studio's window" in voice["samples"][0]["consent"]
        assert "Ysolde" in [r[0] for r in rows(library_dialog.voices_table)]
    finally:
        back: asyncio.Future[Any] = window.spawn(window.server.switch_to(THIS_COMPUTER))
        wait_until(qapp, back.done, 60, "leaving the server")
