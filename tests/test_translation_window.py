"""The window's "Translate to English", end to end: German speech dropped with the box ticked and the multilingual
base chosen is queued as a translation, run by the window's worker, and shown as an English transcript that says it
heard German (the transcript's details line and the library's language column)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.ui.models.library_model import Column as LibraryColumn
from stt_studio.ui.models.segments_model import Column
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import Desktop, drop_paths, wait_until
from tests.test_translation import assert_english
from tests.translation_speech import GERMAN

pytestmark = [pytest.mark.slow, pytest.mark.no_qt_log]  # media threads log while pytest-qt swaps its handler


def _job(window: MainWindow, name: str) -> JobView | None:
    return next((job for job in window.queue_model.jobs() if job.filename == name), None)


def test_german_speech_dropped_with_translate_ticked_is_shown_in_english(
    desktop: Desktop, qapp: QApplication, tmp_path: Path
) -> None:
    window = desktop.open()
    wait_until(qapp, lambda: window._local._store is not None, 180, "the local queue to start")
    window.batch_options.model_combo.setCurrentText("base")  # tiny.en, the window's default here, cannot translate
    window.batch_options.translate_check.setChecked(True)
    clip = GERMAN.clip(tmp_path, first=3)
    drop_paths(window, [clip])

    wait_until(qapp, lambda: _job(window, clip.name) is not None, 60, "the job to be queued")
    queued = _job(window, clip.name)
    assert queued is not None and queued.options is not None and queued.options.task == "translate"

    def finished() -> bool:
        job = _job(window, clip.name)
        assert job is None or job.status in (JobStatus.COMPLETED, JobStatus.QUEUED, JobStatus.PROCESSING), job
        return job is not None and job.status == JobStatus.COMPLETED

    wait_until(qapp, finished, 300, "the translation to finish")
    window.open_job(queued.job_id)
    view = window.transcript_view
    wait_until(qapp, lambda: view.segments_model.rowCount() > 0, 30, "the transcript")
    model = view.segments_model
    shown = " ".join(model.data(model.index(row, Column.TEXT)) for row in range(model.rowCount()))
    assert_english(shown)
    assert "de" in view.header.details_label.text().split(" · "), view.header.details_label.text()

    library = window.library_view.model
    wait_until(qapp, lambda: library.rowCount() > 0, 30, "the library to list the job")
    languages = {
        library.entry(row).filename: library.index(row, LibraryColumn.LANGUAGE).data(Qt.ItemDataRole.DisplayRole)
        for row in range(library.rowCount())
    }
    assert languages == {clip.name: "de"}
