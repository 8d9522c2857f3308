"""Share this machine: the REST API served from the desktop process, behind its own key, and the typed client that
the desktop's remote mode uses, on a real Valkey (no worker needed: the jobs stay queued)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stt_studio.api.server_thread import AddressUnavailableError
from stt_studio.api_keys import ApiKeyStore, keys_file
from stt_studio.client import (
    ApiError,
    AuthenticationError,
    ServerUnreachableError,
    StudioClient,
    UploadCanceledError,
)
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.ui.secrets import TokenStore
from stt_studio.ui.sharing import Sharing
from tests import live


@pytest.fixture
def sharing(tmp_path: Path, store: JobStore) -> Iterator[Sharing]:
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=50)
    secrets = TokenStore(tmp_path / "config", use_keyring=False, name="sharing_api_key")
    shared = Sharing(settings, tmp_path / "config", secrets)
    try:
        yield shared
    finally:
        shared.stop()


def test_sharing_serves_the_queue_behind_a_key(sharing: Sharing, store: JobStore, short_wav: Path) -> None:
    info = sharing.start(store, "127.0.0.1", live.free_port())
    assert sharing.active
    base = f"http://127.0.0.1:{info.port}"
    assert info.url == base
    assert info.api_key in info.curl_example and f"{base}/transcribe/async" in info.curl_example

    assert httpx.get(f"{base}/queue/stats").status_code == 401  # keys even on loopback
    with StudioClient(base, "not-the-key") as wrong, pytest.raises(AuthenticationError, match="refused the API key"):
        wrong.server_info()
    with StudioClient(base) as keyless, pytest.raises(AuthenticationError, match="needs an API key"):
        keyless.server_info()

    with StudioClient(base, info.api_key) as client:
        assert client.server_info().redis_healthy
        sent: list[tuple[int, int]] = []
        view = client.submit(short_wav, JobOptions(language="en"), on_progress=lambda a, b: sent.append((a, b)))
        assert view.status == JobStatus.QUEUED and view.filename == short_wav.name
        assert sent[-1] == (short_wav.stat().st_size, short_wav.stat().st_size)
        assert [v.job_id for v in store.list()] == [view.job_id]  # the desktop's own queue has it
        assert [v.job_id for v in client.jobs().jobs] == [view.job_id]
        with pytest.raises(ApiError) as refused:
            client.job("no-such-job")
        assert refused.value.status_code == 404

    sharing.stop()
    assert not sharing.active
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/health")


def test_the_key_is_kept_until_revoked(sharing: Sharing, store: JobStore, tmp_path: Path) -> None:
    first = sharing.start(store, "127.0.0.1", live.free_port()).api_key
    again = sharing.start(store, "127.0.0.1", live.free_port()).api_key
    assert again == first
    keys = ApiKeyStore(keys_file(tmp_path / "data"))
    [record] = keys.records()
    assert record.name == "desktop sharing"
    keys.revoke(record.id)
    renewed = sharing.start(store, "127.0.0.1", live.free_port())
    assert renewed.api_key != first
    with StudioClient(f"http://127.0.0.1:{renewed.port}", first) as old, pytest.raises(AuthenticationError):
        old.server_info()


def test_a_port_in_use_is_said_plainly(sharing: Sharing, store: JobStore) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AddressUnavailableError, match=f"Port {port} on 127.0.0.1 is already in use"):
            sharing.start(store, "127.0.0.1", port)
    assert not sharing.active


def test_a_canceled_upload_leaves_no_job(sharing: Sharing, store: JobStore, tmp_path: Path) -> None:
    info = sharing.start(store, "127.0.0.1", live.free_port())
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (8 * 1024 * 1024))
    cancel = threading.Event()

    def progress(sent: int, _total: int) -> None:
        if sent > 1024 * 1024:
            cancel.set()

    with StudioClient(info.url, info.api_key) as client:
        with pytest.raises(UploadCanceledError):
            client.submit(big, JobOptions(), on_progress=progress, cancel=cancel)
        assert client.jobs().jobs == []
    # the server notices the dropped upload and removes what it had written
    live.wait_for(lambda: not any(store.jobs_dir.glob("*/*")) or None, 10, "the partial upload to be removed")


def test_an_unreachable_server_is_said_plainly() -> None:
    client = StudioClient(f"http://127.0.0.1:{live.free_port()}", "key")
    with client, pytest.raises(ServerUnreachableError, match="connection refused"):
        client.server_info()
