"""The main window's reactions that need no worker: the status bar and the one-time CPU notice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from stt_studio.jobs.models import WorkerInfo
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.service import ServiceStatus
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import desktop_app, desktop_env, qasync_loop, release_loop, wait_until


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
