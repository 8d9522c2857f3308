"""The window in both roles of issue 12, on the real window with real workers and real speech:
sharing this machine (a plain HTTP client with the shown key sends a job; it appears marked as remote), and driving
a remote ``serve`` (upload with progress and cancel, live queue, transcript, review saved on the server, a wrong
key said plainly)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from stt_studio.jobs.models import JobStatus
from stt_studio.ui.app import build_window, load_preferences
from stt_studio.ui.connections import THIS_COMPUTER, Profile
from stt_studio.ui.models.queue_model import Column
from stt_studio.ui.preferences import PREFERENCES_FILE, Preferences
from stt_studio.ui.views.main_window import MainWindow
from tests import live
from tests.desktop import Desktop, wait_until
from tests.live import KEY, RemoteServer
from tests.speech import SENTENCES, SHORT_CLIP_WER_BOUND, SHORT_TEXT, speech_clip, wer

pytestmark = [pytest.mark.slow]


def _started(desktop: Desktop) -> MainWindow:
    window = desktop.open()
    wait_until(desktop.app, lambda: window._local.status.workers >= 1, 180, "a local worker")
    return window


def _notices(window: MainWindow) -> str:
    return "\n".join(f"{n.title}: {' '.join(n.details)}" for n in window.notices.notices)


def _switch(desktop: Desktop, window: MainWindow, name: str) -> bool:
    future = window.spawn(window.server.switch_to(name))
    wait_until(desktop.app, future.done, 60, f"switching to {name}")
    return bool(future.result())


def test_sharing_this_machine(desktop: Desktop, short_wav: Path) -> None:
    window = _started(desktop)
    port = live.free_port()
    future = window.spawn(window.server.start_sharing("127.0.0.1", port))
    wait_until(desktop.app, future.done, 30, "sharing to start")
    info = window.server.sharing.info
    assert future.result() and info is not None
    assert window.server.sharing_label.text() == f"Shared at {info.url}"
    assert window.preferences.sharing_port == port and not window.preferences.share_at_start  # offered next time

    with short_wav.open("rb") as audio:  # a plain HTTP client with the key the window shows
        answer = httpx.post(
            f"{info.url}/transcribe/async",
            files={"file": ("from-laptop.wav", audio)},
            headers={"Authorization": f"Bearer {info.api_key}"},
            timeout=60,
        )
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["job_id"]
    wait_until(desktop.app, lambda: window.queue_model.job_by_id(job_id) is not None, 30, "the remote job in the queue")
    row = window.queue_model.jobs().index(window.queue_model.job_by_id(job_id))  # type: ignore[arg-type]
    assert window.queue_model.display(row, Column.FILE) == "⇄ from-laptop.wav"
    assert "another machine" in (window.queue_model.tooltip(row, Column.FILE) or "")
    assert window.queue_model.job_by_id(job_id).audio_seconds  # type: ignore[union-attr]
    wait_until(desktop.app, lambda: "remote job" in window.server.sharing_label.text()
               or window.queue_model.job_by_id(job_id).status.is_final, 60, "the count")  # type: ignore[union-attr]  # fmt: skip
    assert httpx.get(f"{info.url}/queue/stats").status_code == 401  # the key is required

    future = window.spawn(window.server.stop_sharing())
    wait_until(desktop.app, future.done, 30, "sharing to stop")
    assert not window.server.sharing_label.isVisible()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{info.url}/health")
    wait_until(desktop.app, lambda: window.queue_model.job_by_id(job_id).status == JobStatus.COMPLETED,  # type: ignore[union-attr]
               300, "the remote job to be transcribed here")  # fmt: skip


def _started_window(desktop: Desktop) -> MainWindow:
    """A window whose start (queue, workers, then the sharing set for the start) has run to its end."""
    window = build_window(desktop.base)
    desktop.windows.append(window)
    window.show()
    started = window.spawn(window.start())
    wait_until(desktop.app, started.done, 180, "the window to start")
    started.result()
    return window


def test_sharing_is_chosen_at_each_start(desktop: Desktop) -> None:
    """Sharing once does not share every later start without a word: only when set to share at every start,
    and then a notice says so."""
    port = live.free_port()
    config_dir = desktop.base.config_dir
    # what an earlier version left after sharing had been on once
    saved = load_preferences(desktop.base).model_dump(mode="json") | {"sharing": True, "sharing_host": "127.0.0.1",
                                                                      "sharing_port": port}  # fmt: skip
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / PREFERENCES_FILE).write_text(json.dumps(saved), encoding="utf-8")

    window = _started_window(desktop)
    assert window.server.sharing.info is None and not window.server.sharing_label.isVisible()
    assert "shared" not in _notices(window)
    window.server.share_action.trigger()
    dialog = window.server.sharing_dialog
    assert dialog is not None and not dialog.at_start_check.isChecked()  # off by default
    dialog.at_start_check.setChecked(True)
    wait_until(desktop.app, lambda: Preferences.load(config_dir).share_at_start, 10, "the choice saved")
    dialog.reject()
    desktop.quit(window)

    window = _started_window(desktop)
    info = window.server.sharing.info
    assert info is not None and info.port == port and window.server.sharing_label.isVisible()
    notice = next(n for n in window.notices.notices if n.title == f"This machine is shared at {info.url}")
    notice.buttons["Stop sharing"].click()
    wait_until(desktop.app, lambda: window.server.sharing.info is None, 30, "sharing to stop")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{info.url}/health")
    assert Preferences.load(config_dir).share_at_start  # stopped for now; still set for the next start


def test_driving_a_remote_server(
    desktop: Desktop, remote_server: RemoteServer, short_wav: Path, tmp_path: Path
) -> None:
    window = _started(desktop)
    connections = window.server.connections
    connections.save(Profile(name="wrong key", url=remote_server.url), "not-the-key")
    connections.save(Profile(name="test box", url=remote_server.url), KEY)
    window.server._refresh_profiles()

    assert not _switch(desktop, window, "wrong key")
    assert window.server.current == THIS_COMPUTER and window.service is window._local
    assert "refused the API key" in _notices(window)
    for notice in list(window.notices.notices):
        window.notices.dismiss(notice)

    # this computer's transcripts, one shown and selected: switching must not look for them on the server
    local = [Path(shutil.copy(short_wav, tmp_path / f"here-{n}.wav")) for n in range(3)]
    window.add_paths(local)
    wait_until(desktop.app, lambda: [j.status for j in window.queue_model.jobs()] == [JobStatus.COMPLETED] * 3, 300,
               "this computer's jobs")  # fmt: skip
    shown = window.queue_model.jobs()[1].job_id
    window.queue_view.select_jobs([shown])
    wait_until(desktop.app, lambda: window._shown_job == shown, 30, "a local transcript shown")
    window.library_view.table.selectRow(0)

    assert _switch(desktop, window, "test box")
    assert window.windowTitle() == "STT Studio — test box"
    assert window.queue_model.jobs() == []  # the server's queue: empty so far
    for _ in range(50):  # what a selection change would have started
        desktop.app.processEvents()
    assert window._shown_job is None and window.transcript_view.is_empty()
    assert _notices(window) == "", _notices(window)

    # a 20 MB upload shows its progress and can be canceled: no job is left behind
    big = tmp_path / "long.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(big), "synth", "660", "sine", "300"],
                   check=True)  # fmt: skip
    assert big.stat().st_size > 20 * 2**20
    seen: list[int] = []
    window.server.upload_bar.valueChanged.connect(seen.append)

    def cancel_midway(value: int) -> None:
        if value >= 10:
            window.server.upload_cancel.click()

    window.server.upload_bar.valueChanged.connect(cancel_midway)
    window.add_paths([big])
    wait_until(desktop.app, lambda: "upload was canceled" in _notices(window), 120, "the upload to be canceled")
    assert seen and 0 < max(seen) < 100
    window.server.upload_bar.valueChanged.disconnect(cancel_midway)
    assert httpx.get(f"{remote_server.url}/jobs", headers={"X-API-Key": KEY}).json()["count"] == 0

    # a real job: uploaded, followed live, its transcript opened and reviewed on the server
    copy = Path(shutil.copy(short_wav, tmp_path / "remote-short.wav"))
    window.add_paths([copy])
    wait_until(desktop.app, lambda: len(window.queue_model.jobs()) == 1, 60, "the upload")
    [job] = window.queue_model.jobs()
    wait_until(desktop.app, lambda: window.queue_model.job_by_id(job.job_id).status == JobStatus.COMPLETED,  # type: ignore[union-attr]
               300, "the remote job to finish")  # fmt: skip
    window.open_job(job.job_id)
    view = window.transcript_view
    wait_until(desktop.app, lambda: view.result() is not None, 60, "the transcript")
    result = view.result()
    assert result is not None and wer(SHORT_TEXT, result.text) <= SHORT_CLIP_WER_BOUND
    first = result.segments[0].text
    view.review.edit_text(0, first.replace(first.split()[0], "Zebra", 1))  # an edit in the window: autosaved by PUT
    saver = view.review.saver
    assert saver is not None
    wait_until(desktop.app, lambda: saver.state.name == "SAVED", 30, "the autosave on the server")
    reviewed = httpx.get(f"{remote_server.url}/jobs/{job.job_id}", headers={"X-API-Key": KEY}).json()
    assert reviewed["reviewed"] is True and "Zebra" in reviewed["result"]["text"]
    wait_until(desktop.app, lambda: job.job_id in window._library_entries, 30, "the server's library")

    view.review.edit_text(0, first.replace(first.split()[0], "Yak", 1))  # switching before the autosave: saved
    assert _switch(desktop, window, THIS_COMPUTER)
    assert window.windowTitle() == "STT Studio" and job.job_id not in {j.job_id for j in window.queue_model.jobs()}
    saved = httpx.get(f"{remote_server.url}/jobs/{job.job_id}", headers={"X-API-Key": KEY}).json()
    assert "Yak" in saved["result"]["text"], saved["result"]["text"]


def test_the_window_reconnects_after_a_server_restart(
    desktop: Desktop, remote_server: RemoteServer, audio_dir: Path, tmp_path: Path
) -> None:
    window = _started(desktop)
    window.server.connections.save(Profile(name="restarting box", url=remote_server.url), KEY)
    assert _switch(desktop, window, "restarting box")
    clip = speech_clip(audio_dir / "remote-ui-restart", SENTENCES[:6], "remote-ui-restart")
    window.add_paths([clip])
    wait_until(desktop.app, lambda: any(j.status == JobStatus.PROCESSING for j in window.queue_model.jobs()), 300,
               "the job to run on the server")  # fmt: skip
    live.stop(remote_server.process, signal.SIGKILL)
    label = window.server.connection_label
    wait_until(desktop.app, lambda: "reconnecting" in label.text(), 60, "'reconnecting…' in the status bar")
    remote_server.start()
    wait_until(desktop.app, lambda: label.text() == "restarting box: connected", 60, "the reconnection")
    wait_until(desktop.app, lambda: [j.status for j in window.queue_model.jobs()] == [JobStatus.COMPLETED], 300,
               "the job to finish after the restart")  # fmt: skip
    assert _switch(desktop, window, THIS_COMPUTER)
