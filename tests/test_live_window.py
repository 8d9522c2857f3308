"""The window's Record action against a real PulseAudio (tests/pulse.py): the source picker, the live text while
espeak-ng speech plays into the null sink ``S`` and the window records its monitor, Stop → a queued job whose
transcript replaces the live draft; no sound server → a sentence in the panel; interrupted recordings offered at
start. Remote mode and quitting while recording: tests/test_live_window_jobs.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PySide6.QtWidgets import QApplication, QMenu, QToolBar

from stt_studio.jobs.models import LibraryEntry
from stt_studio.live.recording import Recording, RecordingInfo, recordings_dir
from stt_studio.live.streaming import Word
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.live.controller import LOCAL_TOOLTIP, REMOTE_TOOLTIP, LiveRecording
from stt_studio.ui.live.draft import QUEUED
from stt_studio.ui.live.interrupted import DISCARD, TRANSCRIBE
from stt_studio.ui.live.live_text import LiveTextView
from stt_studio.ui.live.panel import RecordingPanel
from stt_studio.ui.live.runner import LiveRunner
from stt_studio.ui.service import JobService, ServiceStatus
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import Desktop, desktop_app, desktop_env, qasync_loop, release_loop, wait_until
from tests.pulse import MONITOR, SINK, private_pulseaudio
from tests.speech import SENTENCES, wer
from tests.test_live_cli import LIVE_WER_BOUND, loud_span


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with private_pulseaudio(tmp_path_factory.mktemp("pulse") / "runtime") as env:
        yield env


def use_pulse(monkeypatch: pytest.MonkeyPatch, pulse: dict[str, str]) -> None:
    """The window's clients (pactl, parec) talk to the private PulseAudio."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", pulse["XDG_RUNTIME_DIR"])
    monkeypatch.setenv("HOME", pulse["HOME"])
    monkeypatch.delenv("PULSE_SERVER", raising=False)


@pytest.fixture
def window(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[MainWindow]:
    """A window that is not started (no queue, no worker): for what needs no job."""
    desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-server'}")  # no sound server unless a test gives one
    loop = qasync_loop(desktop_app(qapp))
    window = build_window(Settings())
    yield window
    if window.live.panel is not None:
        window.live.panel.close()
    window.deleteLater()
    release_loop(loop)


def open_panel(app: QApplication, live: LiveRecording) -> RecordingPanel:
    live.action.trigger()
    panel = live.panel
    assert panel is not None
    wait_until(app, lambda: panel.source_combo.count() > 0 or panel.message.isVisibleTo(panel), 30, "the sources")
    return panel


def test_no_sound_server_is_said_in_the_panel_and_the_window_goes_on(window: MainWindow, qapp: QApplication) -> None:
    panel = open_panel(qapp, window.live)
    assert panel.message.isVisibleTo(panel)
    assert panel.message.text().startswith("No sound server answers"), panel.message.text()
    assert "no input device" in panel.message.text()
    assert not panel.record_button.isEnabled() and not panel.stop_button.isEnabled()
    assert window.live.runner is None and window.isEnabled() and window.add_files_action.isEnabled()


def test_the_source_picker_names_the_sources_and_preselects_the_default_input(
    window: MainWindow, qapp: QApplication, monkeypatch: pytest.MonkeyPatch, pulse: dict[str, str]
) -> None:
    use_pulse(monkeypatch, pulse)
    # The default input made the monitor (listed after the microphones): the picker must look for it.
    subprocess.run(["pactl", "set-default-source", MONITOR], env=pulse, check=True)
    try:
        panel = open_panel(qapp, window.live)
    finally:
        subprocess.run(["pactl", "set-default-source", "MIC"], env=pulse, check=True)
    names = [panel.source_combo.itemData(i) for i in range(panel.source_combo.count())]
    labels = [panel.source_combo.itemText(i) for i in range(panel.source_combo.count())]
    assert set(names) >= {MONITOR, "MIC"}
    assert labels[names.index(MONITOR)].endswith("(this computer's sound)")
    assert labels[names.index("MIC")].endswith("(microphone)")
    assert names.index(MONITOR) > names.index("MIC")
    assert panel.source_combo.currentData() == MONITOR
    assert not panel.message.isVisible() and panel.record_button.isEnabled()


def test_record_shortcut_and_where_the_action_is(window: MainWindow) -> None:
    action = window.live.action
    assert action.shortcut().toString() == "Ctrl+Shift+R"
    assert window.reveal_action.shortcut().toString() != "Ctrl+Shift+R"  # no ambiguous shortcut in the queue
    jobs_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Jobs")
    assert isinstance(jobs_menu, QMenu) and action in jobs_menu.actions()
    assert any(action in toolbar.actions() for toolbar in window.findChildren(QToolBar))


class _Remote(JobService):
    def __init__(self) -> None:
        super().__init__()
        self.status = ServiceStatus(True, "remote", 1, 0, 0)

    async def library(self) -> list[LibraryEntry]:
        return []


def test_remote_mode_keeps_record_and_says_where_the_live_text_comes_from(window: MainWindow) -> None:
    window.use_service(_Remote(), "server")
    assert window.live.action.isEnabled() and window.live.action.toolTip() == REMOTE_TOOLTIP
    window.use_service(window._local, "this computer")
    assert window.live.action.isEnabled() and window.live.action.toolTip() == LOCAL_TOOLTIP


def _words(text: str, start: float) -> list[Word]:
    return [Word(start + i, start + i + 0.5, f" {w}") for i, w in enumerate(text.split())]


def test_live_text_greys_provisional_words_and_follows_the_end_until_scrolled_up(qapp: QApplication) -> None:
    view = LiveTextView()
    view.resize(300, 120)
    view.show()
    for n in range(40):
        view.add_final(_words(f"Sentence number {n} is final.", n * 10))
        qapp.processEvents()
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()
    view.set_provisional(_words("maybe these words", 500))
    assert view.toPlainText().endswith("is final. maybe these words")
    fragment = view.document().lastBlock().begin()
    colours = set()
    while not fragment.atEnd():
        colours.add(
            (fragment.fragment().text().strip()[:5], fragment.fragment().charFormat().foreground().color().name())
        )
        fragment += 1
    assert len({c for _, c in colours}) == 2, colours  # final and provisional in different colours

    bar.setValue(0)  # the user scrolls up to read
    view.add_final(_words("More final words.", 600))
    assert bar.value() == 0 and not view.following
    bar.setValue(bar.maximum())  # and back to the end: it follows again
    view.add_final(_words("Even more.", 700))
    assert bar.value() == bar.maximum() and view.following
    view.close()


UNFLUSHED_SECONDS = 0.3


def _interrupted(data_dir: Path, seconds: float) -> RecordingInfo:
    """A recording left as a killed app leaves it: samples on disk, never stopped, its lock free, and its last
    0.3 s written after the header's last update (a kill between two flushes)."""
    recording = Recording(data_dir, MONITOR, started_at=datetime.now(timezone.utc))
    recording.write(np.full(int(16_000 * seconds), 0.1, dtype=np.float32))
    recording.write(np.full(int(16_000 * UNFLUSHED_SECONDS), 0.1, dtype=np.float32))
    recording._file.flush()  # type: ignore[union-attr]
    recording._file.close()  # type: ignore[union-attr]
    recording._lock.release()
    return recording.info


def test_interrupted_recordings_are_offered_once_at_start(desktop: Desktop) -> None:
    data_dir = desktop.base.data_dir
    transcribe_me = _interrupted(data_dir, 3.0)
    discard_me = _interrupted(data_dir, 1.0)
    window = desktop.open()
    app = desktop.app

    def offers() -> list[str]:
        return [n.title for n in window.notices.notices if n.title.startswith("An interrupted recording: ")]

    wait_until(app, lambda: len(offers()) == 2, 120, "the offers")
    assert any(title.startswith("An interrupted recording: 3 s from ") for title in offers())
    assert all(title.endswith(" — transcribe it?") for title in offers())
    by_size = {n.title.split(": ")[1].split(" from")[0]: n for n in window.notices.notices if n.title in offers()}
    by_size["1 s"].buttons[DISCARD].click()
    assert not discard_me.path.exists() and not (recordings_dir(data_dir) / f"{discard_me.id}.json").exists()
    by_size["3 s"].buttons[TRANSCRIBE].click()
    wait_until(app, lambda: any(j.filename == transcribe_me.path.name for j in window.queue_model.jobs()), 60,
               "the recording queued")  # fmt: skip
    assert offers() == []
    assert soundfile.info(str(transcribe_me.path)).frames == 3 * 16_000 + int(16_000 * UNFLUSHED_SECONDS)
    info = RecordingInfo.from_json((recordings_dir(data_dir) / f"{transcribe_me.id}.json").read_text())
    assert info.state == "stopped"  # not offered again at the next start


@pytest.mark.slow
def test_recording_from_the_window_shows_live_text_and_queues_the_recording(
    desktop: Desktop, monkeypatch: pytest.MonkeyPatch, pulse: dict[str, str], short_wav: Path
) -> None:
    use_pulse(monkeypatch, pulse)
    app = desktop.app
    window = desktop.open()
    panel = open_panel(app, window.live)
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(MONITOR))
    panel.record_button.click()
    wait_until(app, lambda: panel.status.text().startswith("Recording to "), 60, "the recording to start")
    runner = window.live.runner
    assert runner is not None and runner.recording is not None
    path = runner.recording.path
    player = subprocess.Popen(["paplay", "-d", SINK, str(short_wav)], env=pulse)
    wait_until(app, lambda: player.poll() is not None, 60, "the speech to be played")
    assert player.returncode == 0
    wait_until(app, lambda: bool(panel.live_text.final_text), 120, "live text")
    assert panel.meter.value() >= 0
    wait_until(app, lambda: runner.seconds() > 0, 5, "audio")
    app.processEvents()
    spoken = " ".join(SENTENCES[:2])
    # Let the worker catch up with the last words (it decodes every second), then stop.
    wait_until(app, lambda: wer(spoken, panel.live_text.final_text + " " + panel.live_text.provisional_text) <= 0.5,
               60, "the live text to catch up")  # fmt: skip
    draft = window.live.draft
    assert draft is not None and window.growing.panel.currentWidget() is draft  # the transcript's place
    assert draft.text.final_text == panel.live_text.final_text
    panel.stop_button.click()
    wait_until(app, lambda: bool(window.live.queued_job_ids), 300, "the recording queued as a job")
    live_text = panel.live_text.final_text
    assert wer(spoken, live_text) <= LIVE_WER_BOUND, live_text
    assert_draft_replaced_by_the_job(app, window, window.live.queued_job_ids[0], spoken)

    job = window.queue_model.job_by_id(window.live.queued_job_ids[0])
    assert job is not None and job.filename == path.name
    played, rate = soundfile.read(str(short_wav), dtype="float32")
    recorded, recorded_rate = soundfile.read(str(path), dtype="float32")
    assert recorded_rate == 16_000
    assert loud_span(recorded, recorded_rate) == pytest.approx(loud_span(played, rate), abs=0.5)
    assert len(recorded) / recorded_rate >= len(played) / rate
    assert panel.status.text().startswith("Saved ")


def assert_draft_replaced_by_the_job(
    app: QApplication, window: MainWindow, job_id: str, spoken: str, *, live_text: bool = True
) -> None:
    """While the recording's job runs the live draft stays in the transcript's place; when it is done the job is
    selected and its transcript takes the place."""
    draft = window.live.draft
    assert draft is not None and window.live.draft_job_id in (job_id, None)
    if window.live.draft_job_id == job_id:  # (not yet done)
        assert window.growing.panel.currentWidget() is draft and draft.title.text() == QUEUED
        assert bool(draft.text.final_text) == live_text
    view = window.transcript_view
    wait_until(app, lambda: (job := view.job()) is not None and job.job_id == job_id and view.result() is not None,
               300, "the job's transcript in the draft's place")  # fmt: skip
    assert window.growing.panel.currentWidget() is view
    assert window.queue_view.selected_job_ids() == [job_id]
    result = view.result()
    assert result is not None
    assert wer(spoken, result.text) <= LIVE_WER_BOUND, result.text


def test_pause_in_the_panel_pauses_the_recording(window: MainWindow, tmp_path: Path) -> None:
    """Pause/Resume reach the recording: audio written while paused is dropped (the session then sends none to
    the live worker either), and the button says which it does."""
    live = window.live
    live.open()
    panel = live.panel
    assert panel is not None
    runner = LiveRunner(window._local.settings, window._local.open_live_stream, live)
    runner.recording = Recording(tmp_path, MONITOR)
    live.runner = runner
    panel.show_recording()
    chunk = np.zeros(1600, dtype=np.float32)
    runner.recording.write(chunk)
    panel.pause_button.click()
    assert runner.recording.paused and panel.pause_button.text() == "Resume"
    runner.recording.write(chunk)
    panel.pause_button.click()
    assert not runner.recording.paused and panel.pause_button.text() == "Pause"
    runner.recording.write(chunk)
    assert runner.recording.stop().state == "stopped" and runner.seconds() == pytest.approx(0.2)
    live.runner = None
