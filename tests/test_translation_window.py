"""The window's "Translate to English" reaches the queued job's options."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QApplication

from tests.desktop import Desktop, wait_until


def test_translate_to_english_reaches_the_jobs_options(
    desktop: Desktop, qapp: QApplication, short_wav: Path, tmp_path: Path
) -> None:
    window = desktop.open()
    wait_until(qapp, lambda: window._local._store is not None, 180, "the local queue to start")
    window.batch_options.model_combo.setCurrentText("base")
    window.batch_options.translate_check.setChecked(True)
    window.add_paths([Path(shutil.copy(short_wav, tmp_path / "to-translate.wav"))])

    def queued_task() -> str | None:
        jobs = [job for job in window.queue_model.jobs() if job.filename == "to-translate.wav"]
        return jobs[0].options.task if jobs and jobs[0].options is not None else None

    wait_until(qapp, lambda: queued_task() is not None, 30, "the job to be queued")
    assert queued_task() == "translate"
