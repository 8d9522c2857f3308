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
