"""The main window's reactions that need no worker: the status bar, the one-time CPU notice, and a queue that moves on
while the window waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from stt_studio.jobs.models import JobOptions, JobStatus, JobView, LibraryEntry, WorkerInfo
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.intake import CheckedFile
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.service import JobService, ServiceStatus
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import desktop_app, desktop_env, placeholder_shortfall, qasync_loop, release_loop, wait_until


@pytest.fixture
def window(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[MainWindow]:
    base = desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir)
    monkeypatch.setenv("WHISPER_DEVICE", "cuda")  # what a user without a GPU has by default
    loop = qasync_loop(desktop_app(qapp))
    window = build_window(Settings())
    assert base.config_dir == Settings().config_dir
    yield window
    window.deleteLater()
    release_loop(loop)


def _status(info: WorkerInfo) -> ServiceStatus:
    return ServiceStatus(True, "embedded Valkey", 1, 0, 0, worker_infos=[info])


def test_cpu_notice_once_and_remembered(window: MainWindow, qapp: QApplication) -> None:
    cpu = WorkerInfo(name="w", pid=1, model="large-v3", device="cpu", compute_type="int8")
    window._on_status(_status(cpu))
    window._on_status(_status(cpu))
    notices = [n for n in window.notices.notices if n.title == "Running on the CPU"]
    assert len(notices) == 1 and "real time" in notices[0].details[0]
    assert window.device_label.text() == "Device: CPU (int8)" and window.model_label.text() == "Model: large-v3"
    wait_until(qapp, lambda: Preferences.load(window.config_dir).cpu_notice_shown, 10, "the preference saved")


def test_gpu_in_the_status_bar(window: MainWindow) -> None:
    gpu = WorkerInfo(name="w", pid=1, model="large-v3", device="cuda", compute_type="float16",
                     gpu_name="NVIDIA RTX 4090", gpu_memory_used_mb=5222.4, gpu_memory_total_mb=24564.0)  # fmt: skip
    window._on_status(_status(gpu))
    assert window.device_label.text() == "GPU: NVIDIA RTX 4090 · 5.1/24 GB"
    assert not window.notices.notices


class _RacingService(JobService):
    """A queue whose job starts running while the upload call is still returning (a remote server does this)."""

    def __init__(self) -> None:
        super().__init__()
        self.status = ServiceStatus(True, "test", 1, 0, 0)

    async def submit(self, files: list[CheckedFile], options: JobOptions) -> list[JobView]:
        queued = JobView(job_id="j1", status=JobStatus.QUEUED, filename=files[0].path.name)
        self._absorb([queued])
        self._absorb([queued.model_copy(update={"status": JobStatus.PROCESSING, "progress": 12})])  # its events
        return [queued]  # what the upload answered, before

    async def retry(self, job_ids: list[str]) -> list[JobView]:
        queued = JobView(job_id="j2", status=JobStatus.QUEUED, filename="talk.wav")
        self._absorb([queued, queued.model_copy(update={"status": JobStatus.PROCESSING, "progress": 3})])
        return [queued]

    async def library(self) -> list[LibraryEntry]:
        return []


def test_the_queue_never_shows_a_job_going_back_to_queued(window: MainWindow, tmp_path: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    service = _RacingService()
    window.use_service(service, "racing")
    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"")
    done = window.spawn(window._queue([CheckedFile(audio, 1.0)], JobOptions()))
    wait_until(app, done.done, 10, "the upload")
    job = window.queue_model.job_by_id("j1")
    assert job is not None and (job.status, job.progress) == (JobStatus.PROCESSING, 12)
    done = window.spawn(window._retry(["j1"]))
    wait_until(app, done.done, 10, "the retry")
    job = window.queue_model.job_by_id("j2")
    assert job is not None and (job.status, job.progress) == (JobStatus.PROCESSING, 3)


def test_the_connect_dialog_shows_the_whole_hint_of_every_field(window: MainWindow, qapp: QApplication) -> None:
    window.server.connect_action.trigger()
    dialog = window.server.connect_dialog
    assert dialog is not None
    wait_until(qapp, dialog.isVisible, 5, "the dialog")
    qapp.processEvents()
    shortfalls = {e.placeholderText(): placeholder_shortfall(e) for e in (dialog.name_edit, dialog.url_edit,
                                                                          dialog.key_edit)}  # fmt: skip
    assert shortfalls == dict.fromkeys(shortfalls, 0)
    dialog.reject()
