from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from stt_studio.settings import Settings
from stt_studio.ui.preferences import PREFERENCES_FILE, Preferences, restart_needed
from stt_studio.ui.secrets import TOKEN_FILE, TokenStore, masked, system_keyring

TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWx3xYz"


class MemoryKeyring(KeyringBackend):
    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


def _custom() -> Preferences:
    return Preferences(
        model="/models/my-whisper",
        device="cpu",
        compute_type="int8",
        default_language="de",
        diarize_by_default=True,
        workers=3,
        data_dir=Path("/data/stt"),
        watched_folder=Path("/home/me/Incoming"),
        cpu_notice_shown=True,
    )


# --- the preferences file ------------------------------------------------------------------------------------
def test_round_trip(tmp_path: Path) -> None:
    prefs = _custom()
    prefs.save(tmp_path)
    assert Preferences.load(tmp_path) == prefs
    assert [p.name for p in tmp_path.iterdir()] == [PREFERENCES_FILE]  # no temp file left behind


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert Preferences.load(tmp_path / "nowhere") == Preferences()


@pytest.mark.parametrize("content", ["{not json", '{"workers": 9}', '{"device": "tpu"}', "[]"])
def test_corrupt_file_is_kept_aside(tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / PREFERENCES_FILE).write_text(content)
    with caplog.at_level(logging.WARNING):
        assert Preferences.load(tmp_path) == Preferences()
    assert (tmp_path / f"{PREFERENCES_FILE}.bad").read_text() == content
    assert not (tmp_path / PREFERENCES_FILE).exists()
    assert f"{PREFERENCES_FILE}.bad" in caplog.text


def test_unknown_fields_from_a_newer_version_are_not_fatal(tmp_path: Path) -> None:
    (tmp_path / PREFERENCES_FILE).write_text(json.dumps({"workers": 2, "theme": "dark"}))
    assert Preferences.load(tmp_path).workers == 2
    assert not (tmp_path / f"{PREFERENCES_FILE}.bad").exists()


def test_the_token_never_reaches_the_preferences_file(tmp_path: Path) -> None:
    # an old or hand-edited file that carries a token loses it on the next save
    (tmp_path / PREFERENCES_FILE).write_text(json.dumps({"model": "small", "hf_token": TOKEN}))
    store = TokenStore(tmp_path, use_keyring=False)
    store.set(TOKEN)
    Preferences.load(tmp_path).save(tmp_path)
    assert TOKEN not in (tmp_path / PREFERENCES_FILE).read_text()
    assert store.get() == TOKEN


# --- applying them -------------------------------------------------------------------------------------------
def test_settings_applies_the_preferences(tmp_path: Path) -> None:
    base = Settings(data_dir=tmp_path / "base", hf_token="env-token", whisper_device="cuda")
    applied = _custom().settings(base, TOKEN)
    assert applied.whisper_model_size == "/models/my-whisper"
    assert applied.whisper_device == "cpu"
    assert applied.compute_type == "int8"
    assert applied.data_dir == Path("/data/stt")
    assert applied.hf_token == TOKEN
    assert base.whisper_device == "cuda"  # the base is not changed


def test_settings_keeps_the_base_where_preferences_say_default(tmp_path: Path) -> None:
    base = Settings(data_dir=tmp_path / "base", hf_token="env-token", compute_type="float32")
    applied = Preferences().settings(base, None)
    assert applied.data_dir == tmp_path / "base"
    assert applied.hf_token == "env-token"
    assert applied.compute_type is None  # "auto" in the app: the engine's default for the device


def test_worker_env_defaults() -> None:
    assert Preferences().worker_env(None) == {"WHISPER_MODEL_SIZE": "large-v3", "WHISPER_DEVICE": "cuda"}


def test_worker_env_is_read_back_by_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _custom().worker_env(TOKEN)
    assert env == {
        "WHISPER_MODEL_SIZE": "/models/my-whisper",
        "WHISPER_DEVICE": "cpu",
        "STT_COMPUTE_TYPE": "int8",
        "STT_DATA_DIR": str(Path("/data/stt")),
        "HF_TOKEN": TOKEN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    worker_settings = Settings()
    assert worker_settings.whisper_model_size == "/models/my-whisper"
    assert worker_settings.whisper_device == "cpu"
    assert worker_settings.compute_type == "int8"
    assert worker_settings.data_dir == Path("/data/stt")
    assert worker_settings.hf_token == TOKEN


@pytest.mark.parametrize(
    ("change", "needed"),
    [
        ({"model": "small"}, True),
        ({"device": "cpu"}, True),
        ({"compute_type": "int8"}, True),
        ({"workers": 2}, True),
        ({"data_dir": Path("/elsewhere")}, True),
        ({"default_language": "fr"}, False),
        ({"diarize_by_default": True}, False),
        ({"watched_folder": Path("/in")}, False),
        ({"cpu_notice_shown": True}, False),
    ],
)
def test_restart_needed(change: dict[str, object], needed: bool) -> None:
    old = Preferences()
    assert restart_needed(old, old.model_copy(update=change)) is needed


def test_restart_needed_when_only_the_token_changed() -> None:
    assert restart_needed(Preferences(), Preferences(), token_changed=True)
    assert not restart_needed(Preferences(), Preferences())


# --- the token -----------------------------------------------------------------------------------------------
def test_no_keyring_on_a_box_with_only_the_fail_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)
    assert system_keyring() is None


def test_token_file_is_private(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "config", use_keyring=False)
    assert store.get() is None
    store.set(TOKEN)
    assert stat.S_IMODE((tmp_path / "config" / TOKEN_FILE).stat().st_mode) == 0o600
    assert store.get() == TOKEN
    assert store.where() == f"file {tmp_path / 'config' / TOKEN_FILE}"


def test_token_file_mode_is_repaired(tmp_path: Path) -> None:
    token_file = tmp_path / TOKEN_FILE
    token_file.write_text("old")
    token_file.chmod(0o644)
    store = TokenStore(tmp_path, use_keyring=False)
    assert store.get() == "old"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token_file.chmod(0o644)
    store.set(TOKEN)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("removal", [None, "", "  "])
def test_token_removed(tmp_path: Path, removal: str | None) -> None:
    store = TokenStore(tmp_path, use_keyring=False)
    store.set(TOKEN)
    store.set(removal)
    assert store.get() is None
    assert not (tmp_path / TOKEN_FILE).exists()


def test_token_in_keyring(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("from-before-there-was-a-keyring")
    backend = MemoryKeyring()
    store = TokenStore(tmp_path, backend)
    assert store.where() == "system keyring"
    assert store.get() == "from-before-there-was-a-keyring"
    store.set(TOKEN)
    assert list(backend.passwords.values()) == [TOKEN]
    assert not (tmp_path / TOKEN_FILE).exists()  # one copy only
    assert store.get() == TOKEN
    store.set(None)
    assert store.get() is None
    store.set(None)  # removing what is not there is fine


def test_token_is_not_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        store = TokenStore(tmp_path, use_keyring=False)
        store.set(TOKEN)
        store.get()
        token_file = tmp_path / TOKEN_FILE
        # Unreadable even to root (CI runs as root, which chmod 000 does not stop): a folder in the file's place.
        token_file.unlink()
        token_file.mkdir()
        assert store.get() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("stt")]
    assert warnings == [f"Could not read the secret file {token_file}: IsADirectoryError"]  # the file, not its content
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("length", range(0, 41))
def test_masked_never_shows_the_whole_token(length: int) -> None:
    token = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"[:length]
    shown = masked(token)
    if token:
        assert shown != token
        assert token not in shown
        assert len(shown.replace("…", "")) <= len(token) // 3


def test_masked_looks_like_the_token() -> None:
    assert masked(TOKEN) == "hf_A…3xYz"


def test_a_token_file_that_is_not_text_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = TokenStore(tmp_path, use_keyring=False)
    (tmp_path / TOKEN_FILE).write_bytes(b"hf_\xff\xfe broken")  # not UTF-8: the app starts, says so, has no token
    with caplog.at_level(logging.WARNING):
        assert store.get() is None
    assert [r.getMessage() for r in caplog.records if r.name.startswith("stt")] == [
        f"Could not read the secret file {tmp_path / TOKEN_FILE}: UnicodeDecodeError"
    ]
