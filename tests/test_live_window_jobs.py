"""Recording from the window in remote mode (a real keyed ``serve``: the audio is captured and kept here, streamed to
its ``/live``; the live text comes back; the server makes the job, whose transcript replaces the live draft), with
the stream dropping midway (the recording goes on and is uploaded), and quitting while recording (the recording is
stopped, kept and queued: here, or by the server in remote mode). Real PulseAudio (tests/pulse.py): espeak-ng
speech played into the null sink, the window records its monitor."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import soundfile
from PySide6.QtWidgets import QApplication

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.live.recording import RecordingInfo, interrupted_recordings, recordings_dir
from stt_studio.ui.connections import Profile
from stt_studio.ui.live.panel import RecordingPanel
from stt_studio.ui.remote_service import RemoteJobService
from stt_studio.ui.views.main_window import MainWindow
from tests import live
from tests.desktop import Desktop, wait_until
from tests.live import KEY, RemoteServer
from tests.pulse import MONITOR, SINK, private_pulseaudio
from tests.speech import SENTENCES, wer
from tests.test_live_cli import LIVE_WER_BOUND, loud_span
from tests.test_live_window import assert_draft_replaced_by_the_job, open_panel, use_pulse

pytestmark = [pytest.mark.slow]
SPOKEN = " ".join(SENTENCES[:2])


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with private_pulseaudio(tmp_path_factory.mktemp("pulse") / "runtime") as env:
        yield env


def _remote_window(desktop: Desktop, server: RemoteServer) -> MainWindow:
    window = desktop.open()
    window.server.connections.save(Profile(name="live box", url=server.url), KEY)
    switched = window.spawn(window.server.switch_to("live box"))
    wait_until(desktop.app, switched.done, 120, "switching to the server")
    assert switched.result() and isinstance(window.service, RemoteJobService)
    return window


def _start_recording(app: QApplication, window: MainWindow) -> tuple[RecordingPanel, Path]:
    panel = open_panel(app, window.live)
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(MONITOR))
    panel.record_button.click()
    wait_until(app, lambda: panel.status.text().startswith("Recording to "), 120, "the recording to start")
    runner = window.live.runner
    assert runner is not None and runner.recording is not None
    return panel, runner.recording.path


def _play(app: QApplication, pulse: dict[str, str], clip: Path) -> None:
    player = subprocess.Popen(["paplay", "-d", SINK, str(clip)], env=pulse)
    wait_until(app, lambda: player.poll() is not None, 60, "the speech to be played")
    assert player.returncode == 0


def _server_job(server: RemoteServer, job_id: str) -> dict[str, object]:
    """The job as the server has it, once it has ended."""
    headers = {"Authorization": f"Bearer {KEY}"}

    def ended() -> dict[str, object] | None:
        job: dict[str, object] = httpx.get(f"{server.url}/jobs/{job_id}", headers=headers, timeout=10).json()
        return job if job["status"] in live.FINAL else None

    return live.wait_for(ended, 300, f"the server's job {job_id}")


def test_remote_recording_streams_to_the_server_and_its_job_replaces_the_draft(
    desktop: Desktop,
    remote_server: RemoteServer,
    monkeypatch: pytest.MonkeyPatch,
    pulse: dict[str, str],
    short_wav: Path,
) -> None:
    use_pulse(monkeypatch, pulse)
    app = desktop.app
    window = _remote_window(desktop, remote_server)
    panel, path = _start_recording(app, window)
    assert panel.status.text().endswith("(live text from the server)")
    _play(app, pulse, short_wav)
    draft = window.live.draft
    assert draft is not None and window.growing.panel.currentWidget() is draft
    wait_until(app, lambda: wer(SPOKEN, f"{draft.text.final_text} {draft.text.provisional_text}") <= 0.5, 180,
               "the server's live text to catch up")  # fmt: skip
    panel.stop_button.click()
    wait_until(app, lambda: bool(window.live.queued_job_ids), 300, "the server's job of the recording")
    print(f"remote live text WER {wer(SPOKEN, draft.text.final_text):.3f}")
    assert wer(SPOKEN, draft.text.final_text) <= LIVE_WER_BOUND, draft.text.final_text
    assert panel.status.text().startswith(f"Saved {path}; the server transcribes it"), panel.status.text()

    job_id = window.live.queued_job_ids[0]
    server_job = _server_job(remote_server, job_id)  # made by the server from the stream (queue=true)
    assert server_job["status"] == "completed"
    assert_draft_replaced_by_the_job(app, window, job_id, SPOKEN)
    # The recording is kept here too, whole, and the job is played from it.
    played, rate = soundfile.read(str(short_wav), dtype="float32")
    recorded, recorded_rate = soundfile.read(str(path), dtype="float32")
    assert loud_span(recorded, recorded_rate) == pytest.approx(loud_span(played, rate), abs=0.5)
    media = window.spawn(window.service.media_path(job_id))
    wait_until(app, media.done, 60, "the job's media")
    assert media.result() == path


def test_a_dropped_stream_leaves_the_recording_going_and_uploads_it(
    desktop: Desktop,
    remote_server: RemoteServer,
    monkeypatch: pytest.MonkeyPatch,
    pulse: dict[str, str],
    short_wav: Path,
) -> None:
    use_pulse(monkeypatch, pulse)
    app = desktop.app
    window = _remote_window(desktop, remote_server)
    panel, path = _start_recording(app, window)
    live.stop(remote_server.process, signal.SIGKILL)
    wait_until(app, lambda: "dropped" in panel.status.text(), 60, "the dropped stream said")
    _play(app, pulse, short_wav)  # spoken after the drop: only the recording here has it
    remote_server.start()
    label = window.server.connection_label
    wait_until(app, lambda: label.text() == "live box: connected", 60, "the reconnection")
    panel.stop_button.click()
    wait_until(app, lambda: bool(window.live.queued_job_ids), 300, "the recording uploaded as a job")
    assert "ended early" in panel.status.text(), panel.status.text()
    job_id = window.live.queued_job_ids[0]
    job = window.queue_model.job_by_id(job_id)
    assert job is not None and job.filename == path.name
    assert _server_job(remote_server, job_id)["status"] == "completed"
    assert_draft_replaced_by_the_job(app, window, job_id, SPOKEN, live_text=False)


def test_quitting_while_recording_stops_keeps_and_queues_the_recording(
    desktop: Desktop, monkeypatch: pytest.MonkeyPatch, pulse: dict[str, str], short_wav: Path
) -> None:
    use_pulse(monkeypatch, pulse)
    app = desktop.app
    window = desktop.open()
    _panel, path = _start_recording(app, window)
    _play(app, pulse, short_wav)
    desktop.quit(window)
    data_dir = desktop.base.data_dir
    info = RecordingInfo.from_json((recordings_dir(data_dir) / f"{path.stem}.json").read_text())
    assert info.state == "stopped" and interrupted_recordings(data_dir) == []
    assert len(window.live.queued_job_ids) == 1
    job_id = window.live.queued_job_ids[0]

    # The worker may take the job before the quit ends (then the next start lists it in the library, not the queue),
    # or the next start runs it: either way it completes, asked through the window's service.
    again = desktop.open()

    def job_now() -> JobView | None:
        if not again.service.status.redis_ok:
            return None
        asked = again.spawn(again.service.job(job_id))
        wait_until(app, asked.done, 30, "the job's state")
        return asked.result() if asked.exception() is None else None

    wait_until(app, lambda: (job := job_now()) is not None and job.status.is_final, 300,
               "the recording's job to complete")  # fmt: skip
    job = job_now()
    assert job is not None and job.status == JobStatus.COMPLETED and job.filename == path.name
    result = again.spawn(again.service.result(job_id))
    wait_until(app, result.done, 60, "the transcript")
    assert wer(SPOKEN, result.result().text) <= LIVE_WER_BOUND


def test_quitting_while_recording_in_remote_mode_leaves_the_job_to_the_server(
    desktop: Desktop,
    remote_server: RemoteServer,
    monkeypatch: pytest.MonkeyPatch,
    pulse: dict[str, str],
    short_wav: Path,
) -> None:
    use_pulse(monkeypatch, pulse)
    app = desktop.app
    window = _remote_window(desktop, remote_server)
    _panel, path = _start_recording(app, window)
    _play(app, pulse, short_wav)
    desktop.quit(window)
    assert len(window.live.queued_job_ids) == 1 and path.is_file()
    job = _server_job(remote_server, window.live.queued_job_ids[0])
    assert job["status"] == "completed"
    result = httpx.get(f"{remote_server.url}/jobs/{job['job_id']}", headers={"X-API-Key": KEY}, timeout=10).json()
    assert wer(SPOKEN, result["result"]["text"]) <= LIVE_WER_BOUND, result["result"]["text"]
