"""Settings → Models in the window: the real dialog, the real download child process and huggingface_hub's client
against the stand-in hub (tests/hub_server.py) serving the real tiny weights slowly. The only fake is the free-disk
function of the disk-space test."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from stt_studio.engine.download_plan import partial_bytes
from stt_studio.engine.model_catalog import model_status
from stt_studio.engine.models import bundled_files
from stt_studio.ui.model_downloads.dialog import ModelsDialog
from stt_studio.ui.model_downloads.downloader import ModelDownloader
from tests.hub_server import FakeHub, running
from tests.live import free_port

REPO = "Systran/faster-whisper-tiny"
SLOW = 4_000_000
"""Bytes a second: the 78 MB take about 20 s, long enough to watch, cancel and kill."""


@pytest.fixture(scope="module")
def weights() -> dict[str, bytes]:
    """The real tiny.en weights, served as 'tiny' (a name that is not bundled, so it must be downloaded)."""
    return {p.name: p.read_bytes() for p in bundled_files("tiny.en")}


@pytest.fixture
def hub(weights: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with running(FakeHub({REPO: weights}, valid_tokens={"hf_good"}, bytes_per_second=SLOW)) as stand_in:
        monkeypatch.setenv("HF_ENDPOINT", stand_in.url)  # the download child inherits it
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield stand_in


def open_dialog(qtbot: QtBot, downloader: ModelDownloader, answer: bool = True) -> ModelsDialog:
    dialog = ModelsDialog(downloader, "tiny.en", confirm=lambda _parent, _question: answer)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def new_downloader(models_dir: Path, **kwargs: object) -> ModelDownloader:
    downloader = ModelDownloader(models_dir, offline=False, **kwargs)  # type: ignore[arg-type]
    return downloader


def test_the_list_shows_sizes_and_what_is_on_this_machine(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, new_downloader(tmp_path))
    tiny_en, large = dialog.rows["tiny.en"], dialog.rows["large-v3"]
    assert tiny_en.on_disk_label.text().startswith("Bundled (78")
    assert not tiny_en.download_button.isVisible() and not tiny_en.remove_button.isVisible()
    assert large.size_label.text() == "3.1 GB" and large.on_disk_label.text() == "—"
    assert large.download_button.isVisible() and large.download_button.text() == "Download"
    assert not large.progress.bar.isVisible()
    assert tiny_en.name_label.text() == "<b>tiny.en</b>"  # the model in use


def test_a_download_shows_rising_progress_and_cancel_leaves_no_model(
    qtbot: QtBot, tmp_path: Path, hub: FakeHub
) -> None:
    downloader = new_downloader(tmp_path)
    dialog = open_dialog(qtbot, downloader)
    row = dialog.rows["tiny"]
    seen: list[float] = []
    downloader.progressed.connect(lambda _name, progress: seen.append(progress.fraction))
    row.download_button.click()
    assert row.progress.bar.isVisible() and row.progress.cancel_button.isVisible()
    assert not row.download_button.isVisible()
    qtbot.waitUntil(lambda: len({f for f in seen if f > 0}) >= 3, timeout=60_000)
    assert seen == sorted(seen) and seen[-1] < 1
    assert row.progress.fraction > 0
    text = row.progress.text_label.text()
    assert " of 78 MB · " in text and "/s · about " in text and text.endswith(" left"), text

    with qtbot.waitSignal(downloader.cancelled, timeout=30_000):
        row.progress.cancel_button.click()
    assert not downloader.is_running("tiny")
    status = model_status("tiny", tmp_path)
    assert not status.available  # nothing half-downloaded can be loaded as the model
    assert partial_bytes(REPO, tmp_path) > 0  # kept to resume from
    assert row.progress.text_label.text().startswith("Cancelled")
    assert row.download_button.isVisible() and row.download_button.text() == "Resume"
    assert row.on_disk_label.text().startswith("Partly downloaded")


def test_a_killed_download_resumes_after_a_restart_from_its_byte_offset(
    qtbot: QtBot, tmp_path: Path, hub: FakeHub, weights: dict[str, bytes]
) -> None:
    first = new_downloader(tmp_path)
    dialog = open_dialog(qtbot, first)
    dialog.rows["tiny"].download_button.click()
    qtbot.waitUntil(lambda: fraction(first, "tiny") > 0.2, timeout=60_000)
    pid = first._running["tiny"].process.processId()
    with qtbot.waitSignal(first.failed, timeout=30_000) as failed:
        os.kill(pid, signal.SIGKILL)  # as a crash or a power cut would
    assert failed.args is not None and "stopped unexpectedly" in failed.args[1]
    left = partial_bytes(REPO, tmp_path)
    assert left > 10_000_000
    dialog.close()

    hub.bytes_per_second = None  # the rest at full speed
    second = new_downloader(tmp_path)  # a new start of the window
    reopened = open_dialog(qtbot, second)
    row = reopened.rows["tiny"]
    assert row.download_button.text() == "Resume" and row.on_disk_label.text().startswith("Partly downloaded")
    told: list[int] = []
    second.progressed.connect(lambda _name, progress: told.append(progress.done_bytes))
    with qtbot.waitSignal(second.finished, timeout=120_000):
        row.download_button.click()
    assert told[0] >= left  # it continued, not restarted
    assert f"bytes={left}-" in hub.ranges_seen  # huggingface_hub asked for the rest only
    status = model_status("tiny", tmp_path)
    assert status.available and status.size_on_disk == sum(len(c) for c in weights.values())
    blob = Path(str(status.path)) / "model.bin"
    assert hashlib.sha256(blob.read_bytes()).digest() == hashlib.sha256(weights["model.bin"]).digest()
    assert row.on_disk_label.text() == "Downloaded (78 MB)" and row.remove_button.isVisible()
    assert row.progress.text_label.text() == "tiny is downloaded and ready."


def fraction(downloader: ModelDownloader, name: str) -> float:
    progress = downloader.last_progress(name)
    return progress.fraction if progress is not None else 0.0


def test_too_little_disk_is_refused_before_anything_is_fetched(qtbot: QtBot, tmp_path: Path, hub: FakeHub) -> None:
    downloader = new_downloader(tmp_path, disk_free=lambda _folder: 50_000_000)
    dialog = open_dialog(qtbot, downloader)
    row = dialog.rows["tiny"]
    row.download_button.click()
    text = row.progress.text_label.text()
    assert text.startswith("Not enough free disk space for tiny: it needs 82 MB and the disk that holds "), text
    assert text.endswith("has 50 MB free. Free some space, or move the models folder (STT_MODELS_DIR).")
    assert not downloader.is_running("tiny") and not row.progress.bar.isVisible()
    assert hub.seen_tokens == []  # the hub was never asked


def test_no_network_is_one_plain_sentence(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    downloader = new_downloader(tmp_path)
    row = open_dialog(qtbot, downloader).rows["small"]
    with qtbot.waitSignal(downloader.failed, timeout=120_000):
        row.download_button.click()
    assert row.progress.text_label.text() == (
        f"Could not reach the Hugging Face hub at {endpoint} to download 'Systran/faster-whisper-small': "
        "check the network connection (or HF_ENDPOINT and the proxy settings)."
    )
    assert row.download_button.isVisible() and not row.progress.bar.isVisible()


def test_offline_mode_and_a_refused_token_are_plain_sentences(qtbot: QtBot, tmp_path: Path, hub: FakeHub) -> None:
    offline = ModelDownloader(tmp_path, offline=True)
    row = open_dialog(qtbot, offline).rows["tiny"]
    row.download_button.click()
    assert row.progress.text_label.text().startswith("Offline mode is on (HF_HUB_OFFLINE or STT_OFFLINE): tiny can't")

    refused = new_downloader(tmp_path, token="hf_expired")
    row = open_dialog(qtbot, refused).rows["tiny"]
    with qtbot.waitSignal(refused.failed, timeout=120_000):
        row.download_button.click()
    assert row.progress.text_label.text().startswith(f"The Hugging Face hub at {hub.url} rejected HF_TOKEN")
    assert set(hub.seen_tokens) == {"hf_expired"}


def test_remove_asks_first_then_deletes(qtbot: QtBot, tmp_path: Path, hub: FakeHub, weights: dict[str, bytes]) -> None:
    hub.bytes_per_second = None
    downloader = new_downloader(tmp_path)
    dialog = open_dialog(qtbot, downloader, answer=False)
    row = dialog.rows["tiny"]
    with qtbot.waitSignal(downloader.finished, timeout=120_000):
        row.download_button.click()
    row.remove_button.click()  # answered No
    assert model_status("tiny", tmp_path).available
    dialog.confirm = lambda _parent, _question: True
    row.remove_button.click()
    assert not model_status("tiny", tmp_path).cached
    assert dialog.message_label.text() == "Removed tiny (78 MB freed)."
    assert row.on_disk_label.text() == "—" and row.download_button.text() == "Download"


def test_settings_opens_models_and_shows_the_download_when_it_closes(
    qtbot: QtBot, tmp_path: Path, hub: FakeHub
) -> None:
    from PySide6.QtCore import Qt

    from stt_studio.ui.preferences import Preferences
    from stt_studio.ui.views.settings_dialog import ON_THIS_MACHINE_ROLE, SettingsDialog

    hub.bytes_per_second = None
    downloader = new_downloader(tmp_path)
    opened: list[ModelsDialog] = []

    def open_models(parent: object) -> ModelsDialog:
        dialog = ModelsDialog(downloader, "tiny.en", parent=parent)  # type: ignore[arg-type]
        dialog.open()
        opened.append(dialog)
        return dialog

    settings = SettingsDialog(Preferences(model="tiny.en"), None, models_dir=tmp_path, open_models=open_models)
    qtbot.addWidget(settings)
    settings.show()
    combo = settings.model_combo
    tiny = combo.findText("tiny")
    assert not combo.itemData(tiny, ON_THIS_MACHINE_ROLE)
    settings.models_button.click()
    assert opened and opened[0].isVisible()
    with qtbot.waitSignal(downloader.finished, timeout=120_000):
        opened[0].rows["tiny"].download_button.click()
    opened[0].reject()
    assert combo.itemData(tiny, ON_THIS_MACHINE_ROLE)  # the check mark, without reopening Settings
    assert str(combo.itemData(tiny, Qt.ItemDataRole.ToolTipRole)).startswith("Downloaded (78 MB)")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 100 MB file system (tmpfs), for a disk that fills up during a download; root only."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_disk_that_fills_up_during_the_download_is_one_plain_sentence(
    qtbot: QtBot, small_disk: Path, hub: FakeHub
) -> None:
    downloader = new_downloader(small_disk)  # 100 MB free: enough for tiny's 82 MB when it starts
    row = open_dialog(qtbot, downloader).rows["tiny"]
    row.download_button.click()
    assert downloader.is_running("tiny")
    qtbot.waitUntil(lambda: fraction(downloader, "tiny") > 0.1, timeout=60_000)
    with qtbot.waitSignal(downloader.failed, timeout=120_000) as failed:
        (small_disk / "another program's file").write_bytes(b"\0" * 40_000_000)  # then the disk is full
    assert failed.args is not None
    text = row.progress.text_label.text()
    assert text.startswith(f"The disk filled up while downloading 'Systran/faster-whisper-tiny' into {small_disk}/hub:")
    assert text.endswith("free some space and download again (it resumes where it stopped), or move the models "
                         "folder (STT_MODELS_DIR).")  # fmt: skip
    assert not model_status("tiny", small_disk).available
