"""The window names the model and device that really run (issue 26, item 1): offline, large-v3 asked for and not
downloaded is the bundled base on this machine's CPU, and every place that mentions the model says so."""

from __future__ import annotations

from pathlib import Path

import httpx
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QWidget
from pytestqt.qtbot import QtBot

from stt_studio.engine.pipeline import cuda_available
from stt_studio.jobs.models import JobStatus, WorkerInfo
from stt_studio.ui.models.queue_model import Column
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.views.settings_dialog import SettingsDialog
from tests.desktop import Desktop, wait_until
from tests.live import KEY, RemoteServer
from tests.modes import open_window

WHY = "large-v3 is not available offline"
IN_USE = f"base — {WHY}"


def _shown(widget: QWidget) -> list[str]:
    """The texts a person sees in ``widget``: its visible labels and the current text of its visible lists."""
    labels = [w.text() for w in widget.findChildren(QLabel) if w.isVisibleTo(widget) and w.text()]
    return labels + [c.currentText() for c in widget.findChildren(QComboBox) if c.isVisibleTo(widget)]


def test_offline_the_window_names_the_model_and_device_that_run(desktop: Desktop, short_wav: Path) -> None:
    qapp = desktop.app
    Preferences(model="large-v3", device="cuda").save(desktop.base.config_dir)  # a new user's defaults, offline
    window = open_window(desktop, "local", None)
    bar = window.batch_options
    assert bar.model_combo.currentText() == "large-v3"
    assert f"Runs {IN_USE}" in _shown(bar), _shown(bar)
    wait_until(qapp, lambda: window.model_label.text() == f"Model: {IN_USE}", 60, f"the worker's report: {IN_USE}")

    window.add_paths([short_wav])
    wait_until(qapp, lambda: bool(window.queue_model.jobs()), 30, "the job in the queue")
    index = window.queue_model.index(0, Column.MODEL)
    assert index.data() == "base" and index.data(Qt.ItemDataRole.ToolTipRole) == IN_USE
    job_id = window.queue_model.job(0).job_id
    done = lambda: window.queue_model.job(0).status.is_final  # noqa: E731
    wait_until(qapp, done, 180, "the job to finish")
    assert window.queue_model.job(0).status == JobStatus.COMPLETED
    assert index.data() == "base" and index.data(Qt.ItemDataRole.ToolTipRole) == IN_USE
    assert window.queue_model.job(0).model == "base"  # the worker's word for what produced the result

    window.open_job(job_id)
    transcript = window.transcript_view
    wait_until(qapp, lambda: getattr(transcript.job(), "job_id", None) == job_id, 30, "the transcript")
    warning = transcript.header.warnings_label.text()
    assert f"{WHY}, so the bundled base model was used instead." in warning and "snapshot" not in warning

    window.open_settings()
    dialog = window.settings_dialog
    shown = _shown(dialog)
    assert dialog.model_combo.currentText() == "large-v3"  # what is asked for stays editable…
    assert f"In use now: {IN_USE}" in shown, shown  # …beside what runs
    assert "Not downloaded, and offline mode is on: the bundled base model runs instead." in shown, shown
    if cuda_available():
        assert "In use now: GPU (CUDA), float16" in shown, shown
    else:
        assert "In use now: CPU, int8 — no CUDA GPU was found on this machine" in shown, shown
        assert dialog.device_combo.currentText() == "GPU (CUDA) — none found"
    dialog.reject()
    desktop.quit(window)


def test_a_model_chosen_for_the_next_files_is_forecast_until_a_worker_has_loaded_it(tmp_path: Path) -> None:
    from stt_studio.ui.model_in_use import ModelInUse, ModelsInUse

    models = ModelsInUse(tmp_path, offline=True)
    assert models.for_model("large-v3") == ModelInUse("base", WHY)
    assert models.for_model("tiny.en") == ModelInUse("tiny.en")  # bundled: runs as itself
    assert ModelsInUse(tmp_path, offline=False).for_model("large-v3") == ModelInUse("large-v3")  # downloaded
    assert ModelsInUse(None, offline=True).for_model("large-v3") == ModelInUse("large-v3")  # a server's: unknown
    report = WorkerInfo(name="w", pid=1, model="base", device="cpu", compute_type="int8",
                        requested_model="small", unavailable_reason="small could not be downloaded")  # fmt: skip
    assert models.use_reports([report]) and not models.use_reports([report])
    assert models.for_model("small").label == "base — small could not be downloaded"
    assert models.for_model("base") == ModelInUse("base")


def test_a_remote_window_names_the_models_and_device_the_servers_workers_run(
    desktop: Desktop, remote_server: RemoteServer
) -> None:
    """GET /queue/stats says what each worker runs (the server's truth, a folder by its name); the window shows
    it for a server's queue as for this computer's."""
    stats = httpx.get(f"{remote_server.url}/queue/stats", headers={"X-API-Key": KEY}).json()
    runs = [(w["model"], w["device"], w["compute_type"]) for w in stats["worker_models"]]
    assert runs == [("tiny.en", "cpu", "int8")], stats
    window = open_window(desktop, "remote", remote_server)
    wait_until(desktop.app, lambda: window.model_label.text() == "Model: tiny.en", 30, "the server's worker report")
    assert window.device_label.text() == "Device: CPU (int8)"
    desktop.quit(window)


def test_settings_name_the_model_in_use_only_where_it_is_not_the_one_asked_for(qtbot: QtBot, tmp_path: Path) -> None:
    report = WorkerInfo(name="w", pid=1, model="tiny.en", device="cpu", compute_type="int8", requested_device="cpu")
    dialog = SettingsDialog(Preferences(model="tiny.en", device="cpu"), None, models_dir=tmp_path, in_use=report)
    qtbot.addWidget(dialog)
    shown = _shown(dialog)
    assert "In use now: CPU, int8" in shown and not [text for text in shown if text.startswith("In use now: tiny")]
    assert dialog.device_combo.itemText(0) == "GPU (CUDA)"  # CPU chosen: nothing to say about a GPU
