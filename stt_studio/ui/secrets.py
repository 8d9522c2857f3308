"""Where the desktop app keeps secrets (the Hugging Face token, API keys): the OS keyring when there is a real
one, else a file only the user can read. A secret is never logged and never shown whole (``masked``)."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import KeyringError, PasswordDeleteError

from stt_studio.settings import APP_NAME

log = logging.getLogger(__name__)

TOKEN_FILE = "hf_token"
KEYRING_USER = "huggingface-token"
_FILE_MODE = 0o600


def system_keyring() -> KeyringBackend | None:
    """The OS keyring, or None where keyring only has its fail/null stand-ins (e.g. a headless Linux box)."""
    try:
        backend = keyring.get_keyring()
        usable = backend.priority > 0 and not isinstance(backend, (fail.Keyring, null.Keyring))
    except Exception as exc:  # a broken backend configuration must not keep the app from starting
        log.warning("No usable system keyring: %s", type(exc).__name__)
        return None
    return backend if usable else None


def masked(token: str) -> str:
    """Enough of the token to recognise it, never all of it: ``hf_A…3xYz``."""
    # at most a third of it: a short (odd) token shows less, so what is shown never gives most of it away
    if len(token) >= 24:
        return f"{token[:4]}…{token[-4:]}"
    if len(token) >= 8:
        return f"…{token[-2:]}"
    return "…" if token else ""


class TokenStore:
    """One secret (by default the Hugging Face token; ``name`` picks another, e.g. an API key)."""

    def __init__(
        self,
        config_dir: Path,
        backend: KeyringBackend | None = None,
        *,
        use_keyring: bool = True,
        name: str = TOKEN_FILE,
        keyring_user: str = KEYRING_USER,
    ) -> None:
        """``backend``: the keyring to use (default: the system's, if any); ``use_keyring=False``: the file only."""
        self.file = config_dir / name
        self._keyring_user = keyring_user
        self._keyring = (backend or system_keyring()) if use_keyring else None

    def where(self) -> str:
        return "system keyring" if self._keyring is not None else f"file {self.file}"

    def get(self) -> str | None:
        if self._keyring is not None:
            try:
                token = self._keyring.get_password(APP_NAME, self._keyring_user)
            except KeyringError as exc:
                log.warning("Could not read %s from the keyring: %s", self._keyring_user, type(exc).__name__)
                token = None
            if token:
                return token
        return self._read_file()

    def set(self, token: str | None) -> None:
        """Store ``token``; None or '' removes it."""
        token = (token or "").strip() or None
        if self._keyring is not None:
            self._set_keyring(token)
            self._remove_file()  # one copy only: a file left from before a keyring was available goes
            return
        if token is None:
            self._remove_file()
        else:
            self._write_file(token)

    # --- the keyring ---------------------------------------------------------------------------------------
    def _set_keyring(self, token: str | None) -> None:
        assert self._keyring is not None
        if token is not None:
            self._keyring.set_password(APP_NAME, self._keyring_user, token)
            return
        with contextlib.suppress(PasswordDeleteError):  # there was none
            self._keyring.delete_password(APP_NAME, self._keyring_user)

    # --- the file ------------------------------------------------------------------------------------------
    def _read_file(self) -> str | None:
        try:
            if self.file.stat().st_mode & 0o077:
                os.chmod(self.file, _FILE_MODE)  # someone loosened it: others must not read the token
            return self.file.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("Could not read the secret file %s: %s", self.file, type(exc).__name__)
            return None

    def _write_file(self, token: str) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
        # Created 0600 from the start: there is no moment in which the token is readable by others.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
        with open(fd, "w", encoding="utf-8") as out:
            out.write(token)
        os.chmod(tmp, _FILE_MODE)  # a leftover temp file may have existed with another mode
        tmp.replace(self.file)

    def _remove_file(self) -> None:
        self.file.unlink(missing_ok=True)
