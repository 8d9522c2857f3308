"""Review → Voice library… on the real window and dialog: on this computer's library folder (local), and on a
real keyed ``serve``'s library over REST (remote, one case). What the dialog shows is checked against what the
library holds on disk, not against what the dialog believes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QTableWidget

from stt_studio.engine.diarization.local import local_embedding_fingerprint
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.connections import THIS_COMPUTER, Profile
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.voices.controller import VoiceLibraryController
from stt_studio.ui.voices.dialog import EMPTY, NEEDS_REFRESH, VoiceLibraryDialog
from stt_studio.voices.library import NewSample, Voice, VoiceLibrary
from tests.desktop import desktop_app, desktop_env, qasync_loop, release_loop, wait_until
from tests.live import KEY, RemoteServer
from tests.sample_clips import SPEAKER91_LONG, cut

OLD_MODEL = "campplus-192:0000000000000000"
"""The fingerprint of a speaker model no longer in use: its voices need a refresh."""


@pytest.fixture
def window(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[MainWindow]:
    """The real window on a private data folder; its queue is never started (the library needs none)."""
    desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir)
    loop = qasync_loop(desktop_app(qapp))
    window = build_window(Settings())
    yield window
    window.deleteLater()
    release_loop(loop)


def enroll(library: VoiceLibrary, clips: Path, name: str, seconds: list[float], model: str) -> Voice:
    """A voice with one sample per entry of ``seconds`` (vectors made up: the window never shows them)."""
    clips.mkdir(parents=True, exist_ok=True)
    voice: Voice | None = None
    for i, length in enumerate(seconds):
        clip = clips / f"{name}-{i}.wav"
        clip.write_bytes(f"RIFF {name} {i}".encode())
        sample = NewSample((1.0, float(i)), model, clip, length, f"job:j{i} speaker SPEAKER_0{i}", f"{name} agreed")
        voice = library.add_voice(name, sample) if voice is None else library.add_sample(voice.id, sample)
    assert voice is not None
    return voice


def seeded(data_dir: Path, clips: Path) -> tuple[VoiceLibrary, Voice, Voice]:
    """Diane (two samples of the model in use) and Bob (one of an older model)."""
    library = VoiceLibrary.in_data_dir(data_dir)
    diane = enroll(library, clips, "Diane", [12.0, 8.5], local_embedding_fingerprint())
    bob = enroll(library, clips, "Bob", [65.0], OLD_MODEL)
    return library, diane, bob


def settle(app: QApplication, controller: VoiceLibraryController) -> None:
    """Wait for the dialog's last request; an error it did not turn into a message fails the test."""
    task = controller.last_task
    assert task is not None
    wait_until(app, task.done, 30, "the voice library to answer")
    task.result()


def opened(window: MainWindow, app: QApplication) -> tuple[VoiceLibraryController, VoiceLibraryDialog]:
    assert window.voice_library.action in window.review_menu.actions()
    window.voice_library.action.trigger()
    controller = window.voice_library.controller
    assert controller is not None
    settle(app, controller)
    return controller, controller.dialog


def rows(table: QTableWidget) -> list[list[str]]:
    return [
        [item.text() if (item := table.item(r, c)) else "" for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def choose(dialog: VoiceLibraryDialog, name: str) -> None:
    names = [row[0] for row in rows(dialog.voices_table)]
    dialog.voices_table.selectRow(names.index(name))


def answer(app: QApplication, dialog: VoiceLibraryDialog, button: str) -> None:
    """Click ``Delete`` or ``Cancel`` in the question the dialog asks before deleting."""
    wait_until(app, lambda: dialog.confirm_box is not None and dialog.confirm_box.isVisible(), 10, "the question")
    box = dialog.confirm_box
    assert box is not None
    if button == "Cancel":
        box.button(QMessageBox.StandardButton.Cancel).click()
    else:
        next(b for b in box.buttons() if b.text() == button).click()
    dialog.confirm_box = None


def canceled(app: QApplication, controller: VoiceLibraryController) -> None:
    """Answer Cancel: no request goes to the library."""
    before = controller.last_task
    answer(app, controller.dialog, "Cancel")
    app.processEvents()
    assert controller.last_task is before, "canceled, yet the library was asked"


def rename(app: QApplication, controller: VoiceLibraryController, name: str) -> None:
    controller.dialog.name_edit.setText(name)
    controller.dialog.rename_button.click()
    settle(app, controller)


def test_an_empty_library_says_so_then_lists_voices_samples_and_which_need_a_refresh(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    controller, dialog = opened(window, qapp)
    assert dialog.pages.currentWidget() is dialog.empty_label and EMPTY in dialog.empty_label.text()
    assert str(tmp_path / "data" / "voices") in dialog.where_label.text()
    assert dialog.export_button.isVisible() and not dialog.export_button.isEnabled()  # nothing to export yet

    library, _diane, _bob = seeded(tmp_path / "data", tmp_path / "clips")
    (library.folder / "voices" / "v_0123456789ab.json").write_text("{")  # damaged: named, the others still listed
    controller.refresh()
    settle(qapp, controller)
    assert dialog.pages.currentWidget() is not dialog.empty_label
    assert not dialog.problems_label.isHidden() and "v_0123456789ab.json" in dialog.problems_label.text()
    assert rows(dialog.voices_table) == [["Bob", "1", "1:05", NEEDS_REFRESH], ["Diane", "2", "20 s", ""]]
    choose(dialog, "Diane")
    samples = rows(dialog.samples_table)
    assert [(r[0], r[2], r[3]) for r in samples] == [
        ("job:j0 speaker SPEAKER_00", "Diane agreed", "12 s"),
        ("job:j1 speaker SPEAKER_01", "Diane agreed", "8 s"),
    ]
    assert all(len(r[1]) == len("2026-12-07 14:05") for r in samples)
    assert dialog.name_edit.text() == "Diane"

    dialog.reject()  # opened again: a new dialog on the library as it is now, the old one let go
    _again, reopened = opened(window, qapp)
    assert reopened is not dialog and rows(reopened.voices_table)[0][0] == "Bob"
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(dialog)


@pytest.mark.slow
def test_refresh_voices_embeds_the_older_samples_real_clips_again(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    """Bob's sample is of an older speaker model and its clip is real speech (pyannote's sample, one speaker):
    Refresh voices embeds it with the model in use (the speaker model loads on the library's thread); Carol's
    clip is gone, so her sample stays as it was and the status line says why."""
    library = VoiceLibrary.in_data_dir(tmp_path / "data")
    clip = cut(tmp_path / "bob.flac", SPEAKER91_LONG)
    bob = library.add_voice("Bob", NewSample((1.0, 0.0), OLD_MODEL, clip, 6.0, "file bob.flac", "Bob agreed"))
    carol = enroll(library, tmp_path / "clips", "Carol", [9.0], OLD_MODEL)
    library.clip_path(carol.samples[0]).unlink()
    controller, dialog = opened(window, qapp)
    assert rows(dialog.voices_table) == [["Bob", "1", "6 s", NEEDS_REFRESH], ["Carol", "1", "9 s", NEEDS_REFRESH]]
    assert dialog.refresh_button.isVisible()

    dialog.refresh_button.click()
    task = controller.last_task
    assert task is not None
    wait_until(qapp, task.done, 300, "the refresh")
    task.result()
    (sample,) = library.get(bob.id).samples
    assert sample.model == local_embedding_fingerprint() and len(sample.embedding) == 192  # CAM++'s vector
    assert rows(dialog.voices_table) == [["Bob", "1", "6 s", ""], ["Carol", "1", "9 s", NEEDS_REFRESH]]
    said = dialog.status_label.text()
    assert said.startswith("Refreshed 1 sample with the speaker model in use now.") and "Carol:" in said, said
    assert library.get(carol.id).samples[0].model == OLD_MODEL
    assert dialog.refresh_button.isVisible()  # Carol still needs one


def test_rename_says_inline_why_a_taken_or_blank_name_is_refused(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    library, diane, bob = seeded(tmp_path / "data", tmp_path / "clips")
    controller, dialog = opened(window, qapp)
    choose(dialog, "Diane")
    for name, reason in (("  bob ", "'Bob' is already in the library"), ("   ", "A voice needs a name")):
        rename(qapp, controller, name)
        assert dialog.name_error.isVisible() and reason in dialog.name_error.text()
        assert library.get(diane.id).name == "Diane" and dialog.status_label.text() == ""
    dialog.name_edit.textEdited.emit("Diane K")  # typing again clears the reason
    assert not dialog.name_error.isVisible()

    rename(qapp, controller, "Diane  Okafor")
    assert library.get(diane.id).name == "Diane Okafor" and library.get(bob.id).name == "Bob"
    assert [row[0] for row in rows(dialog.voices_table)] == ["Bob", "Diane Okafor"]
    assert dialog.chosen_voice() is not None and dialog.chosen_voice().id == diane.id  # type: ignore[union-attr]
    assert not dialog.name_error.isVisible() and "Renamed" in dialog.status_label.text()


def test_deleting_a_sample_or_a_voice_asks_first_and_removes_its_clips(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    library, diane, bob = seeded(tmp_path / "data", tmp_path / "clips")
    controller, dialog = opened(window, qapp)
    choose(dialog, "Diane")
    dialog.samples_table.selectRow(1)
    second = diane.samples[1]
    dialog.delete_sample_button.click()
    canceled(qapp, controller)
    assert len(library.get(diane.id).samples) == 2
    dialog.delete_sample_button.click()
    answer(qapp, dialog, "Delete")
    settle(qapp, controller)
    assert [s.id for s in library.get(diane.id).samples] == [diane.samples[0].id]
    assert not library.clip_path(second).exists() and library.clip_path(diane.samples[0]).exists()
    assert rows(dialog.voices_table)[1][:2] == ["Diane", "1"] and dialog.samples_table.rowCount() == 1

    choose(dialog, "Bob")
    dialog.delete_voice_button.click()
    canceled(qapp, controller)
    assert library.get(bob.id).name == "Bob"
    dialog.delete_voice_button.click()
    answer(qapp, dialog, "Delete")
    settle(qapp, controller)
    assert [v.name for v in library.voices()] == ["Diane"] and not library.clip_path(bob.samples[0]).exists()
    assert [row[0] for row in rows(dialog.voices_table)] == ["Diane"]


def test_export_then_import_brings_the_library_back_and_a_bad_archive_is_refused_plainly(
    window: MainWindow, qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library, diane, bob = seeded(tmp_path / "data", tmp_path / "clips")
    controller, dialog = opened(window, qapp)
    archive = tmp_path / "moved" / "voices.zip"
    archive.parent.mkdir()
    monkeypatch.setattr(dialog, "choose_export_target", lambda: archive)
    dialog.export_button.click()
    settle(qapp, controller)
    assert archive.is_file() and f"Exported 2 voices to {archive}" in dialog.status_label.text()

    for voice in (diane, bob):
        library.delete_voice(voice.id)
    controller.refresh()
    settle(qapp, controller)
    assert dialog.pages.currentWidget() is dialog.empty_label

    not_an_archive = tmp_path / "notes.zip"
    not_an_archive.write_text("meeting notes")
    for source, said in ((not_an_archive, "is not a voice library archive"), (archive, "Imported 2 voices")):
        monkeypatch.setattr(dialog, "choose_import_source", lambda source=source: source)
        dialog.import_button.click()
        settle(qapp, controller)
        assert said in dialog.status_label.text()
    back = {v.name: v for v in library.voices()}
    assert sorted(back) == ["Bob", "Diane"] and len(back["Diane"].samples) == 2
    assert all(library.clip_path(s).read_bytes().startswith(b"RIFF") for v in back.values() for s in v.samples)
    assert rows(dialog.voices_table) == [["Bob", "1", "1:05", NEEDS_REFRESH], ["Diane", "2", "20 s", ""]]


def _server_names(server: RemoteServer) -> dict[str, int]:
    body = httpx.get(f"{server.url}/voices", headers={"Authorization": f"Bearer {KEY}"}, timeout=30).json()
    return {v["name"]: len(v["samples"]) for v in body["voices"]}


def test_on_a_server_the_dialog_lists_renames_and_deletes_the_servers_voices(
    window: MainWindow, qapp: QApplication, tmp_path: Path, remote_server: RemoteServer
) -> None:
    server_data = Path(remote_server.env["STT_DATA_DIR"])
    _library, diane, _bob = seeded(server_data, tmp_path / "server-clips")
    window.server.connections.save(Profile(name="gpu box", url=remote_server.url), KEY)
    switched: asyncio.Future[Any] = window.spawn(window.server.switch_to("gpu box"))
    wait_until(qapp, switched.done, 60, "switching to the server")
    assert switched.result(), "the connection was refused"
    try:
        controller, dialog = opened(window, qapp)
        assert "gpu box" in dialog.where_label.text() and remote_server.url in dialog.where_label.text()
        assert not dialog.export_button.isVisible() and not dialog.import_button.isVisible()
        assert rows(dialog.voices_table) == [["Bob", "1", "1:05", NEEDS_REFRESH], ["Diane", "2", "20 s", ""]]

        choose(dialog, "Diane")
        rename(qapp, controller, "BOB")
        assert "'Bob' is already in the library" in dialog.name_error.text() and dialog.name_error.isVisible()
        rename(qapp, controller, "Diane K")
        assert _server_names(remote_server) == {"Bob": 1, "Diane K": 2}

        choose(dialog, "Diane K")
        dialog.samples_table.selectRow(0)
        dialog.delete_sample_button.click()
        answer(qapp, dialog, "Delete")
        settle(qapp, controller)
        assert _server_names(remote_server) == {"Bob": 1, "Diane K": 1}
        assert rows(dialog.samples_table)[0][0] == "job:j1 speaker SPEAKER_01"

        choose(dialog, "Bob")
        dialog.delete_voice_button.click()
        answer(qapp, dialog, "Delete")
        settle(qapp, controller)
        assert _server_names(remote_server) == {"Diane K": 1} and [r[0] for r in rows(dialog.voices_table)] == [
            "Diane K"
        ]
        assert diane.id == dialog.chosen_voice().id  # type: ignore[union-attr]
    finally:
        back: asyncio.Future[Any] = window.spawn(window.server.switch_to(THIS_COMPUTER))
        wait_until(qapp, back.done, 60, "leaving the server")
