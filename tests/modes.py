"""The desktop's two modes for the tests that must pass in both (issue 12): the window on this machine's queue
("local"), or connected to a ``serve`` on loopback that requires a key ("remote").

``open_window`` gives a window in either mode with a worker ready to take jobs. ``Backend`` reads and writes the
queue's side without the window (the job store here, the REST API there), so a test checks what was really saved
where the jobs live, not what the window believes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import httpx

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.review import StoredTranscript
from stt_studio.ui.connections import Profile
from stt_studio.ui.views.main_window import MainWindow
from tests.desktop import Desktop, wait_until
from tests.live import KEY, RemoteServer

Mode = Literal["local", "remote"]
MODES: list[Mode] = ["local", "remote"]
PROFILE = "test box"


def open_window(desktop: Desktop, mode: Mode, server: RemoteServer | None) -> MainWindow:
    """A window in ``mode`` whose queue has a worker. In remote mode the first window saves the connection
    profile and switches to it; a window opened later on the same config dir resumes it, as the app does."""
    window = desktop.open()
    wait_until(desktop.app, lambda: window._local._store is not None, 180, "the local queue to start")
    if mode == "remote":
        assert server is not None
        if window.server.connections.get(PROFILE) is None:
            window.server.connections.save(Profile(name=PROFILE, url=server.url), KEY)
            window.server._refresh_profiles()
            future = window.spawn(window.server.switch_to(PROFILE))
            wait_until(desktop.app, future.done, 60, f"switching to {PROFILE}")
            assert future.result(), "the connection was refused"
        wait_until(desktop.app, lambda: window.server.current == PROFILE, 60, "the saved connection to resume")
        assert window.windowTitle() == f"STT Studio — {PROFILE}"
    wait_until(desktop.app, lambda: window.service.status.workers >= 1, 180, f"a worker ({mode})")
    return window


class Backend:
    """The transcripts where the jobs live, read and written as another client would."""

    def stored(self, job_id: str) -> StoredTranscript:
        raise NotImplementedError

    def original(self, job_id: str) -> TranscriptionResult:
        raise NotImplementedError

    def save_elsewhere(self, job_id: str, result: TranscriptionResult, etag: str) -> str:
        """Save ``result`` over version ``etag`` (as the API or another window would); the new ETag."""
        raise NotImplementedError


class LocalBackend(Backend):
    """This machine's job store (the one the window's local service opened: windows come and go)."""

    def __init__(self, window: Callable[[], MainWindow]) -> None:
        self._window = window

    def stored(self, job_id: str) -> StoredTranscript:
        return self._window()._local.store.transcript(job_id)

    def original(self, job_id: str) -> TranscriptionResult:
        return self._window()._local.store.original_result(job_id)

    def save_elsewhere(self, job_id: str, result: TranscriptionResult, etag: str) -> str:
        return self._window()._local.store.save_transcript(job_id, result, if_match=etag)


class RemoteBackend(Backend):
    """The server's REST API with the key: plain HTTP, not the desktop's client."""

    def __init__(self, server: RemoteServer) -> None:
        self.url = server.url
        self.headers = {"Authorization": f"Bearer {KEY}"}

    def _get(self, path: str) -> httpx.Response:
        response = httpx.get(f"{self.url}{path}", headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response

    def stored(self, job_id: str) -> StoredTranscript:
        response = self._get(f"/jobs/{job_id}/transcript")
        return StoredTranscript(
            TranscriptionResult.model_validate_json(response.content),
            response.headers["ETag"],
            reviewed=response.headers["X-Transcript-Reviewed"] == "true",
            reviewed_at=None,
        )

    def original(self, job_id: str) -> TranscriptionResult:
        return TranscriptionResult.model_validate_json(self._get(f"/jobs/{job_id}/transcript/original").content)

    def save_elsewhere(self, job_id: str, result: TranscriptionResult, etag: str) -> str:
        response = httpx.put(
            f"{self.url}/jobs/{job_id}/transcript",
            content=result.model_dump_json(),
            headers={**self.headers, "If-Match": etag, "Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.headers["ETag"]


def backend(mode: Mode, window: Callable[[], MainWindow], server: RemoteServer | None) -> Backend:
    if mode == "local":
        return LocalBackend(window)
    assert server is not None
    return RemoteBackend(server)
