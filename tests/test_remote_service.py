"""The desktop's remote job service against a real ``serve`` on loopback that requires a key: uploads with
progress, an upload cut off and tried again (one job), live updates by SSE, transcripts with versions, a wrong key,
a server of another major version, and a server restart mid-job."""

from __future__ import annotations

import asyncio
import shutil
import signal
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from PySide6.QtWidgets import QApplication

from stt_studio.client import AuthenticationError, IncompatibleServerError, StudioClient
from stt_studio.jobs.models import JobOptions, JobStatus, JobView
from stt_studio.jobs.review import TranscriptVersionError
from stt_studio.ui.remote_service import RemoteJobService, RemoteProfile
from tests import live
from tests.desktop import desktop_app, qasync_loop, release_loop, wait_until
from tests.live import KEY, RemoteServer
from tests.speech import SENTENCES, SHORT_CLIP_WER_BOUND, SHORT_TEXT, speech_clip, wer

pytestmark = pytest.mark.slow
T = TypeVar("T")


@pytest.fixture
def app(qapp: object) -> Iterator[QApplication]:
    application = desktop_app(qapp)
    loop = qasync_loop(application)
    try:
        yield application
    finally:
        application.processEvents()
        release_loop(loop)


def run(app: QApplication, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
    future = asyncio.ensure_future(coroutine)
    wait_until(app, future.done, timeout, "the service call")
    return future.result()


def _service(server: RemoteServer, tmp_path: Path, key: str = KEY) -> RemoteJobService:
    return RemoteJobService(RemoteProfile("test box", server.url), key, tmp_path / "cache")


def test_a_remote_job_from_upload_to_reviewed_transcript(
    app: QApplication, remote_server: RemoteServer, short_wav: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(remote_server, tmp_path)
    states: list[str] = []
    progress: list[tuple[int, int]] = []
    updates: list[JobView] = []
    finished: list[JobView] = []
    service.connection_changed.connect(states.append)
    service.upload_progress.connect(lambda _path, sent, total: progress.append((sent, total)))
    service.jobs_updated.connect(updates.extend)
    service.job_finished.connect(finished.append)
    run(app, service.start())
    try:
        assert states == ["connected"]
        report = run(app, service.take_in([short_wav]))
        [view] = run(app, service.submit(report.accepted, JobOptions(language="en")))
        assert progress[-1] == (short_wav.stat().st_size,) * 2
        wait_until(app, lambda: bool(finished), 300, "the job to finish (pushed by SSE)")
        assert finished[0].job_id == view.job_id and finished[0].status == JobStatus.COMPLETED
        assert JobStatus.PROCESSING in {u.status for u in updates if u.job_id == view.job_id}

        stored = run(app, service.transcript(view.job_id))
        assert not stored.reviewed and wer(SHORT_TEXT, stored.result.text) <= SHORT_CLIP_WER_BOUND
        edited = stored.result.model_copy(update={"speaker_names": {"SPEAKER_00": "Dr. Chen"}})
        new_etag = run(app, service.save_transcript(view.job_id, edited, stored.etag))
        assert new_etag and new_etag != stored.etag
        with pytest.raises(TranscriptVersionError):
            run(app, service.save_transcript(view.job_id, edited, stored.etag))  # stale: someone saved since
        assert run(app, service.transcript(view.job_id)).reviewed
        reverted = run(app, service.revert_transcript(view.job_id, new_etag))
        assert not reverted.reviewed and reverted.result.text == stored.result.text

        assert run(app, service.media_path(view.job_id)) == short_wav  # the local file: nothing downloaded
        restarted = _service(remote_server, tmp_path)  # this machine after a restart: still the local file
        run(app, restarted.start())
        try:
            assert run(app, restarted.media_path(view.job_id)) == short_wav
        finally:
            run(app, restarted.shutdown(after_current_job=False))
        assert finished[0].uploaded  # the server's queue marks it as sent over the API
        elsewhere = _service(remote_server, tmp_path / "laptop")  # another machine: it has no copy of the file
        downloaded = run(app, elsewhere.media_path(view.job_id))
        assert downloaded is not None and downloaded.read_bytes() == short_wav.read_bytes()
        assert view.job_id in {e.job_id for e in run(app, service.library())}
        assert run(app, service.search(SHORT_TEXT.split()[1])) == {view.job_id}
    finally:
        # leaving the server ends its event stream at once, not at the server's next keep-alive (every 15 s): a
        # second is plenty for the listener to end (it took 10 s, the join's limit, before)
        monkeypatch.setattr("stt_studio.ui.remote_service.LISTENER_JOIN_SECONDS", 1.0)
        run(app, service.shutdown(after_current_job=False))
    assert service._listener is not None and not service._listener.is_alive()


def test_a_wrong_key_is_a_message(app: QApplication, remote_server: RemoteServer, tmp_path: Path) -> None:
    service = _service(remote_server, tmp_path, key="wrong")
    with pytest.raises(AuthenticationError, match="refused the API key"):
        run(app, service.start())


def test_the_window_follows_a_server_restart(
    app: QApplication, remote_server: RemoteServer, audio_dir: Path, tmp_path: Path
) -> None:
    clip = speech_clip(audio_dir / "remote-restart", SENTENCES[:6], "remote-restart")
    service = _service(remote_server, tmp_path)
    states: list[str] = []
    finished: list[JobView] = []
    service.connection_changed.connect(states.append)
    service.job_finished.connect(finished.append)
    run(app, service.start())
    try:
        run(app, service.submit([run(app, service.take_in([clip])).accepted[0]], JobOptions(language="en")))
        wait_until(app, lambda: service.tracked()[0].status == JobStatus.PROCESSING, 300, "the job to start")
        live.stop(remote_server.process, signal.SIGKILL)
        wait_until(app, lambda: any(s.startswith("reconnecting") for s in states), 60, "'reconnecting…'")
        remote_server.start()
        wait_until(app, lambda: states[-1] == "connected", 60, "the reconnection")
        wait_until(app, lambda: bool(finished), 300, "the job to finish after the restart")
        assert finished[0].status == JobStatus.COMPLETED
    finally:
        run(app, service.shutdown(after_current_job=False))


class _SlowReads:
    """A client whose job reads wait until released (as a busy network would), answering ``view``."""

    def __init__(self, view: JobView) -> None:
        self.view = view
        self.release = threading.Event()

    def job(self, job_id: str, *, with_result: bool = True) -> JobView:
        self.release.wait(30)
        return self.view

    def close(self) -> None:
        pass


def test_a_job_read_while_events_come_never_takes_the_progress_back(app: QApplication, tmp_path: Path) -> None:
    service = RemoteJobService(RemoteProfile("test box", "http://127.0.0.1:9"), KEY, tmp_path / "cache")
    queued = JobView(job_id="j1", status=JobStatus.QUEUED, filename="talk.wav")
    slow = _SlowReads(queued)  # read when the job was still queued
    service.client = slow  # type: ignore[assignment]
    seen: list[int] = []
    service.jobs_updated.connect(lambda views: seen.extend(v.progress for v in views))
    service._on_state({"job_id": "j1", "status": "queued", "stage": None, "progress": 0})  # unknown yet: read it
    service._absorb([queued])  # the upload's answer
    service._on_state({"job_id": "j1", "status": "processing", "stage": "transcribing", "progress": 4})
    slow.release.set()
    wait_until(app, lambda: service._tasks[0].done(), 10, "the read")
    assert seen == [0, 4] or seen == [0, 4, 4], seen  # the read's "queued, 0" took nothing back
    [view] = service.tracked()
    assert (view.status, view.progress, view.filename) == (JobStatus.PROCESSING, 4, "talk.wav")
    service._io.shutdown(wait=False)


class _LoseFirstAnswer(httpx.BaseTransport):
    """The network drops the connection after the server got the whole upload but before its answer came back."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/transcribe/async" and not self.lost:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("Connection reset by peer", request=request)
        return response


def test_an_upload_cut_off_is_tried_again_and_makes_one_job(
    app: QApplication, remote_server: RemoteServer, short_wav: Path, tmp_path: Path
) -> None:
    service = _service(remote_server, tmp_path)
    flaky = _LoseFirstAnswer()
    service.client = StudioClient(remote_server.url, KEY, transport=flaky)
    problems: list[str] = []
    service.problem.connect(problems.append)
    clip = Path(shutil.copy(short_wav, tmp_path / "cut-off.wav"))
    try:
        view = service._upload(clip, JobOptions(language="en"), threading.Event())  # as the upload thread runs it
        app.processEvents()
        assert flaky.lost == 1
        assert problems and "the upload was cut off" in problems[0] and "trying again" in problems[0], problems
        named = [v for v in service.client.all_jobs() if v.filename == "cut-off.wav"]
        assert [v.job_id for v in named] == [view.job_id]  # the retry got the first job back: one job, not two
    finally:
        service.client.close()
        service._io.shutdown(wait=False)


def test_a_server_of_another_major_version_is_said_plainly() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "ok", "version": "7.2.0", "redis_healthy": True, "workers": 1})

    client = StudioClient("http://gpu-box:8000", KEY, transport=httpx.MockTransport(answer))
    with pytest.raises(IncompatibleServerError, match=r"runs STT Studio 7\.2\.0, which this app .* cannot drive"):
        client.server_info()
    silent = StudioClient("http://gpu-box:8000", KEY, transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    with pytest.raises(IncompatibleServerError, match="does not answer like an STT Studio server"):
        silent.server_info()
