"""The export dialog, driven offscreen: formats gate OK, chosen() returns what was set, rttm needs diarization."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from stt_studio.exports import FORMATS, ExportOptions, ExportRequest
from stt_studio.ui.views.export_dialog import NOT_DIARIZED_TIP, ExportDialog


def make_dialog(qtbot: QtBot, folder: Path, **kwargs: object) -> ExportDialog:
    dialog = ExportDialog(3, folder, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    return dialog


def click(qtbot: QtBot, widget: QWidget) -> None:
    # Near the left edge: a check box only takes clicks on its indicator and label, not its whole width.
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(6, widget.height() // 2))


def test_a_box_per_format_and_nothing_chosen_at_first(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    assert list(dialog.format_boxes) == list(FORMATS)
    assert dialog.chosen_formats() == []
    assert dialog.folder_edit.text() == str(tmp_path)
    assert not dialog.ok_button.isEnabled()


def test_toggling_formats_and_the_folder_gate_ok(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    dialog.show()
    click(qtbot, dialog.format_boxes["srt"])
    assert dialog.ok_button.isEnabled()
    dialog.folder_edit.clear()
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.folder_edit, str(tmp_path / "out"))
    assert dialog.ok_button.isEnabled()
    click(qtbot, dialog.format_boxes["srt"])
    assert not dialog.ok_button.isEnabled()


def test_chosen_returns_what_was_set(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    dialog.show()
    for fmt in ("docx", "txt", "srt"):
        click(qtbot, dialog.format_boxes[fmt])
    click(qtbot, dialog.speakers_box)
    dialog.line_width_spin.setValue(32)
    dialog.line_count_spin.setValue(2)
    dialog.folder_edit.setText(f"  {tmp_path / 'exports'}  ")
    assert dialog.chosen() == ExportRequest(
        folder=tmp_path / "exports",
        formats=["txt", "srt", "docx"],
        options=ExportOptions(include_speakers=False, include_timestamps=True, max_line_width=32, max_line_count=2),
    )


def test_line_count_only_applies_with_a_line_width(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    assert dialog.line_width_spin.value() == 0 and dialog.line_width_spin.text() == "No limit"
    assert not dialog.line_count_spin.isEnabled()
    dialog.line_width_spin.setValue(40)
    assert dialog.line_count_spin.isEnabled()
    dialog.line_count_spin.setValue(3)
    dialog.line_width_spin.setValue(0)
    assert not dialog.line_count_spin.isEnabled()
    options = dialog.chosen().options
    assert options.max_line_width is None and options.max_line_count is None


def test_rttm_is_disabled_when_no_job_is_diarized(qtbot: QtBot, tmp_path: Path) -> None:
    initial = ExportRequest(tmp_path, ["rttm", "json"])
    undiarized = make_dialog(qtbot, tmp_path, any_diarized=False, initial=initial)
    rttm = undiarized.format_boxes["rttm"]
    assert not rttm.isEnabled() and rttm.toolTip() == NOT_DIARIZED_TIP
    assert undiarized.chosen().formats == ["json"]
    diarized = make_dialog(qtbot, tmp_path, any_diarized=True, initial=initial)
    assert diarized.format_boxes["rttm"].isEnabled()
    assert diarized.chosen().formats == ["json", "rttm"]


def test_the_last_choice_presets_every_field(qtbot: QtBot, tmp_path: Path) -> None:
    last = ExportRequest(
        tmp_path / "last",
        ["vtt", "docx"],
        ExportOptions(include_speakers=False, include_timestamps=False, max_line_width=20, max_line_count=1),
    )
    dialog = make_dialog(qtbot, tmp_path / "default", initial=last)
    assert dialog.chosen() == last
    assert dialog.ok_button.isEnabled()


def test_browse_fills_the_folder(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def pick(_parent: QWidget, _caption: str, start: str) -> str:
        asked.append(start)
        return str(tmp_path / "picked")

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", pick)
    dialog = make_dialog(qtbot, tmp_path)
    dialog.show()
    click(qtbot, dialog.browse_button)
    assert asked == [str(tmp_path)]
    assert dialog.chosen().folder == tmp_path / "picked"


def test_browse_canceled_keeps_the_folder(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: "")
    dialog = make_dialog(qtbot, tmp_path)
    dialog.show()
    click(qtbot, dialog.browse_button)
    assert dialog.folder_edit.text() == str(tmp_path)


def test_ok_accepts(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, initial=ExportRequest(tmp_path, ["txt"]))
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        click(qtbot, dialog.ok_button)


def test_the_guideline_button_fills_every_rule(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, initial=ExportRequest(tmp_path, ["srt", "nvivo"]))
    dialog.show()
    click(qtbot, dialog.rules_box.guideline_button)
    netflix = replace(ExportOptions().with_guideline(), min_cue_seconds=0.833)  # 5/6 s to the millisecond
    assert dialog.chosen() == ExportRequest(tmp_path, ["srt", "nvivo"], netflix)
    assert dialog.ok_button.isEnabled() and dialog.problem_label.isHidden()


def test_contradicting_rules_say_why_and_disable_export(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, initial=ExportRequest(tmp_path, ["vtt"]))
    dialog.show()
    click(qtbot, dialog.rules_box.guideline_button)
    click(qtbot, dialog.speakers_box)  # the dash marks speakers: without them it cannot be
    assert not dialog.ok_button.isEnabled()
    assert dialog.problem_label.isVisible()
    assert dialog.problem_label.text() == "“Speaker dash” needs “Include speakers”: the dash marks a change of speaker"
    click(qtbot, dialog.rules_box.dash_box)
    dialog.rules_box.min_spin.setValue(9.0)  # longer than the guideline's 7 s at most
    assert dialog.problem_label.text() == "“Shortest subtitle” (9) is longer than “Longest subtitle” (7)"
    dialog.rules_box.max_spin.setValue(0)
    assert dialog.ok_button.isEnabled() and dialog.problem_label.isHidden()
    assert dialog.chosen().options.min_cue_seconds == 9.0


def test_the_last_rules_preset_the_box(qtbot: QtBot, tmp_path: Path) -> None:
    rules = ExportOptions(
        max_line_width=30, max_line_count=2, speaker_dash=True, max_chars_per_second=15.0, max_silence_seconds=1.5
    )
    last = ExportRequest(tmp_path, ["srt"], rules)
    assert make_dialog(qtbot, tmp_path, initial=last).chosen() == last
