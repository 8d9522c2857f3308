"""The options bar for the next files: the vocabulary becomes the jobs' prompt, cleaned of what a paste brings."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from stt_studio.ui.views.batch_options import BatchOptionsBar


def test_the_vocabulary_is_the_prompt_of_the_next_jobs(qtbot: QtBot) -> None:
    bar = BatchOptionsBar()
    qtbot.addWidget(bar)
    assert bar.options().prompt is None
    bar.prompt_edit.setText("  Siobhan,\tDr.\x07 Kowalczyk\u200b  ")  # pasted: a tab, a bell, spaces
    assert bar.options().prompt == "Siobhan, Dr. Kowalczyk\u200b"  # a zero-width space is text, a bell is not
    bar.diarize_check.setChecked(True)
    options = bar.options()
    assert options.enable_diarization and options.prompt == "Siobhan, Dr. Kowalczyk\u200b"
    bar.prompt_edit.setText("   ")
    assert bar.options().prompt is None
    assert bar.prompt_edit.maxLength() == 4096


def test_translate_to_english_is_the_next_jobs_task_with_a_notice_for_a_model_that_cannot(qtbot: QtBot) -> None:
    bar = BatchOptionsBar()
    qtbot.addWidget(bar)
    bar.model_combo.setCurrentText("base")
    assert bar.options().task == "transcribe"
    bar.translate_check.setChecked(True)
    assert bar.options().task == "translate" and bar.translate_note.isHidden()
    bar.diarize_check.setChecked(True)
    assert bar.options().task == "translate"
    for model, reason in (("tiny.en", "is English-only"), ("large-v3-turbo", "was trained without translation")):
        bar.model_combo.setCurrentText(model)
        assert not bar.translate_note.isHidden() and reason in bar.translate_note.text()
    bar.translate_check.setChecked(False)
    assert bar.translate_note.isHidden()
