"""The first-run welcome step: the real dialog, the real speed probe (the bundled tiny.en on pyannote's real speech
sample, in a child process), the real download child against the stand-in hub serving the real tiny weights, and the
window's first start (shown once, remembered, reachable again from Help)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from stt_studio.engine.cpu import cpu_count
from stt_studio.engine.download_plan import partial_bytes
from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.engine.model_catalog import model_status
from stt_studio.engine.models import bundled_files
from stt_studio.engine.speed_probe import MachineReport, expected_real_time_factor, report_from_json
from stt_studio.processes import HELPER_PARENT_PID_ENV
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window, load_preferences
from stt_studio.ui.model_downloads.downloader import ModelDownloader
from stt_studio.ui.preferences import PREFERENCES_FILE, Preferences
from stt_studio.ui.views.main_window import MainWindow
from stt_studio.ui.welcome.dialog import WelcomeDialog
from stt_studio.ui.welcome.recommendation import QUALITY_ORDER, WELCOME_MODELS, Hardware, recommend
from tests import live
from tests.desktop import desktop_app, desktop_env, qasync_loop, release_loop, wait_until
from tests.hub_server import FakeHub, running

PROBE_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def machine() -> MachineReport:
    """This machine, measured once by the same child process the dialog runs."""
    out = subprocess.run([sys.executable, "-m", "stt_studio.engine.speed_probe"], capture_output=True, text=True,
                         timeout=300, check=True).stdout  # fmt: skip
    return report_from_json(json.loads(out.splitlines()[-1]))


def test_it_measures_this_machine_and_recommends_a_model(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = WelcomeDialog(ModelDownloader(tmp_path, offline=True))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.measuring and dialog.hardware_label.text().startswith("Looking at this machine")
    qtbot.waitUntil(lambda: not dialog.measuring, timeout=PROBE_TIMEOUT_MS)
    report = dialog.report
    assert report is not None and report.probe is not None, report
    probe = report.probe
    assert probe.device == "cpu" and probe.audio_seconds == 10.0 and 0 < probe.seconds < 60
    cores = cpu_count()
    assert dialog.hardware_label.text() == f"No NVIDIA GPU found: models run on the CPU ({cores} CPU cores)."
    assert dialog.probe_label.text().startswith("Measured: the bundled tiny.en model transcribed 10 s of speech in ")
    speeds = {name: dialog.speed_labels[name].text() for name in WELCOME_MODELS}
    assert all("real time" in text and "1 h of audio" in text for text in speeds.values()), speeds
    factors = [expected_real_time_factor(name, probe) for name in WELCOME_MODELS]
    assert factors == sorted(factors)  # each bigger model slower here
    # the most accurate model measured to run at least 4× faster than real time here (no GPU: no memory limit)
    quick = [name for name in QUALITY_ORDER if expected_real_time_factor(name, probe) <= 0.25]
    expected = quick[0] if quick else "base"
    assert dialog.recommended == expected == recommend(Hardware.of(report.facts, cores), probe)
    assert dialog.selected() == expected
    rate = float(speeds[expected].removeprefix("about ").split("×")[0])
    assert rate >= 4 or expected == "base", speeds
    assert dialog.radios[expected].text() == f"{expected} (recommended)"


def test_the_bundled_model_works_at_once_offline(qtbot: QtBot, tmp_path: Path, machine: MachineReport) -> None:
    dialog = WelcomeDialog(ModelDownloader(tmp_path, offline=True), report=machine)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        dialog.bundled_button.click()
    assert chosen.args == ["base"] and dialog.chosen == "base" and dialog.result() == WelcomeDialog.DialogCode.Accepted
    assert not (tmp_path / "hub").exists()  # nothing downloaded


def test_offline_another_model_is_refused_in_a_plain_sentence(
    qtbot: QtBot, tmp_path: Path, machine: MachineReport
) -> None:
    dialog = WelcomeDialog(ModelDownloader(tmp_path, offline=True), report=machine)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.radios["small"].setChecked(True)
    assert dialog.choose_button.text() == "Download and use small"
    dialog.choose_button.click()
    assert dialog.progress_box is not None
    assert dialog.progress_box.text_label.text().startswith("Offline mode is on (HF_HUB_OFFLINE or STT_OFFLINE)")
    assert dialog.isVisible() and dialog.chosen is None


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The real tiny.en weights served as 'small' (slowly), so the welcome step's choice downloads real weights."""
    weights = {p.name: p.read_bytes() for p in bundled_files("tiny.en")}
    with running(FakeHub({"Systran/faster-whisper-small": weights}, bytes_per_second=6_000_000)) as stand_in:
        monkeypatch.setenv("HF_ENDPOINT", stand_in.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        yield stand_in


def test_choosing_another_model_downloads_it_with_progress_then_uses_it(
    qtbot: QtBot, tmp_path: Path, machine: MachineReport, hub: FakeHub
) -> None:
    downloader = ModelDownloader(tmp_path, offline=False)
    dialog = WelcomeDialog(downloader, report=machine)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.radios["small"].setChecked(True)
    fractions: list[float] = []
    downloader.progressed.connect(lambda _name, progress: fractions.append(progress.fraction))
    with qtbot.waitSignal(dialog.model_chosen, timeout=120_000) as chosen:
        dialog.choose_button.click()
        assert dialog.progress_box is not None and dialog.progress_box.bar.isVisible()
        assert not dialog.choose_button.isEnabled()  # one download at a time
        qtbot.waitUntil(lambda: len({f for f in fractions if 0 < f < 1}) >= 2, timeout=60_000)
        assert " of 78 MB · " in dialog.progress_box.text_label.text()
    assert chosen.args == ["small"] and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert model_status("small", tmp_path).available


def close_window(qapp: QApplication, window: MainWindow) -> None:
    """Let the window finish what it started (the New files bar saves its choice a moment after a change: the
    welcome's model changes it), then delete it before the test's event loop goes."""
    wait_until(qapp, lambda: not window.new_files_memory._timer.isActive(), 10, "the New files bar's save")
    wait_until(qapp, lambda: not window._tasks, 30, "the window's tasks")
    window.deleteLater()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def first_start(qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A first start on private folders, its models folder too (these windows start no worker; a download here
    must not reach the models the other tests share)."""
    return desktop_env(monkeypatch, tmp_path, tmp_path / "models")


def test_shown_once_on_a_first_start_then_from_help(qapp: QApplication, first_start: Settings) -> None:
    loop = qasync_loop(desktop_app(qapp))
    try:
        assert not load_preferences(first_start).welcome_shown  # no preferences file yet
        window = build_window(Settings())
        window.models.welcome_if_first_start()
        dialog = window.models.welcome_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.bundled_button.click()
        saved_file = window.config_dir / PREFERENCES_FILE
        # (no file before: Preferences.load would say "shown" by default)
        wait_until(qapp, lambda: saved_file.exists() and window.preferences.model == "base", 30, "the choice applied")
        saved = Preferences.load(window.config_dir)
        assert saved.welcome_shown and saved.model == "base" and window.preferences.model == "base"
        close_window(qapp, window)

        again = build_window(Settings())  # the next start
        again.models.welcome_if_first_start()
        assert again.models.welcome_dialog is None
        again.help.welcome_action.trigger()
        reopened = again.models.welcome_dialog
        assert reopened is not None and reopened.isVisible()
        reopened.skip_button.click()  # Skip keeps the model
        qapp.processEvents()
        assert again.preferences.model == "base"
        close_window(qapp, again)
    finally:
        release_loop(loop)


def test_settings_models_in_remote_mode_says_whose_models_it_lists(
    qapp: QApplication, first_start: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = qasync_loop(desktop_app(qapp))
    try:
        window = build_window(Settings())
        local = window.models.open_models()
        assert local.remote_label.isHidden()
        local.reject()
        monkeypatch.setattr(window, "service", object())  # what use_service sets while on a server's queue
        remote = window.models.open_models()
        assert not remote.remote_label.isHidden()
        assert remote.remote_label.text().startswith("The window shows another machine's queue now")
        assert "GET /models" in remote.remote_label.text()
        remote.reject()
        close_window(qapp, window)
    finally:
        release_loop(loop)


def test_quitting_ends_a_download_that_the_next_start_resumes(
    qapp: QApplication, first_start: Settings, hub: FakeHub
) -> None:
    loop = qasync_loop(desktop_app(qapp))
    try:
        window = build_window(Settings())
        downloader = window.models.downloader
        assert downloader.start("small")
        wait_until(qapp, lambda: (downloader.last_progress("small") or _none()).fraction > 0.1, 60, "progress")
        process = downloader._running["small"].process
        window.quit_finished.emit()  # the end of quit_now, once the workers and the queue are down
        assert not downloader.is_running("small") and process.state() == process.ProcessState.NotRunning
        assert downloader.models_dir == first_start.resolved_models_dir
        assert partial_bytes("Systran/faster-whisper-small", downloader.models_dir) > 0
        close_window(qapp, window)
    finally:
        release_loop(loop)


def _none() -> DownloadProgress:
    return DownloadProgress("", 0, 1)


def _helpers_of(parent: int) -> list[int]:
    """The window's helper processes (speed probe, downloads): they carry its pid in STT_HELPER_PARENT_PID."""
    return live.processes_with_env(HELPER_PARENT_PID_ENV, str(parent))


def test_a_killed_window_leaves_no_probe_or_download_running(tmp_path: Path, settings: Settings, hub: FakeHub) -> None:
    """The real app on a first start opens the welcome step, whose speed probe runs in a child; SIGKILL the app:
    the child goes at once (the probe itself takes far longer here). A download child (from the stand-in hub,
    slowly) started by a process that is then killed goes the same way."""
    env = live.service_env(tmp_path / "data", settings.resolved_models_dir, QT_QPA_PLATFORM="offscreen",
                           STT_CONFIG_DIR=str(tmp_path / "config"))  # fmt: skip
    app = live.start(["gui"], env, tmp_path / "app.log")
    try:
        probe = live.wait_for(lambda: _helpers_of(app.pid), 120, "the welcome step's speed probe")
        assert b"stt_studio.engine.speed_probe" in Path(f"/proc/{probe[0]}/cmdline").read_bytes()
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(30)
    live.wait_for(lambda: not any(live.process_alive(p) for p in probe), 5, "the probe to end with the window")

    hub.bytes_per_second = 500_000  # minutes for the whole model
    starter = subprocess.Popen(  # a stand-in for the window: starts a download child as QProcess does, then dies
        [sys.executable, "-c", "import os, subprocess, sys, time; subprocess.Popen([sys.executable, '-m', "
         "'stt_studio.engine.download_child', 'small', sys.argv[1]], env={**os.environ, "
         f"'{HELPER_PARENT_PID_ENV}': str(os.getpid())}}); time.sleep(600)", str(tmp_path / "models")])  # fmt: skip
    child = live.wait_for(lambda: _helpers_of(starter.pid), 30, "the download child")
    live.wait_for(lambda: partial_bytes("Systran/faster-whisper-small", tmp_path / "models") > 0, 60, "downloading")
    starter.kill()
    starter.wait(30)
    live.wait_for(lambda: not any(map(live.process_alive, child)), 5, "the download child to end with its starter")


def test_on_a_gpu_the_recommendation_fits_its_free_memory() -> None:
    """Plain logic over device facts as data (no GPU here): the most accurate quick model whose float16 weights and
    overhead fit the free memory; the hardware line names the card."""
    from stt_studio.engine.device import DeviceFacts, GpuFacts
    from stt_studio.engine.speed_probe import SpeedProbe

    def on(free_mb: float) -> Hardware:
        gpu = GpuFacts(0, "NVIDIA H100 80GB HBM3", (9, 0), free_mb, 81_559.0, frozenset({"float16"}))
        return Hardware.of(DeviceFacts(1, True, "12.8", ("sm_90",), (gpu,)), 16)

    fast = SpeedProbe("cuda", "float16", 10.0, 0.05)  # tiny.en at 200× real time
    assert on(79_000).describe() == "GPU: NVIDIA H100 80GB HBM3, 77.1 GB of its memory free."
    assert recommend(on(79_000), fast) == "large-v3"
    assert recommend(on(3_000), fast) == "large-v3-turbo"  # large-v3 needs 3.1 GB of weights + 1.4 GB
    assert recommend(on(1_500), fast) == "small"
    slow_cpu = SpeedProbe("cpu", "int8", 10.0, 1.5)
    assert recommend(Hardware(None, 0.0, 2), slow_cpu) == "base" and recommend(Hardware(None, 0.0, 2), None) == "base"
