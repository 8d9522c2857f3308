"""Named connection profiles ("This computer", "Vast.ai 4090"): where the window's queue is.

The profiles (name, URL) are kept as JSON in the config dir; each key lives in the secret store (the OS keyring,
else a 0600 file), never in the JSON.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator

from stt_studio.atomic_files import write_text_atomically
from stt_studio.ui.secrets import TokenStore

log = logging.getLogger(__name__)

PROFILES_FILE = "connections.json"
THIS_COMPUTER = "This computer"


class Profile(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    url: str

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("A connection needs a name")
        if value == THIS_COMPUTER:
            raise ValueError(f"'{THIS_COMPUTER}' is this machine's own queue: choose another name")
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return normalized_url(value)


def normalized_url(text: str) -> str:
    """``gpu-box:8000`` → ``http://gpu-box:8000``; ValueError with a sentence for what cannot be a server URL."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    text = text.rstrip("/")
    if parts.scheme not in ("http", "https"):
        raise ValueError("The server URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("The server URL needs a host, like http://gpu-box:8000")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError("The port in the server URL is not valid") from exc
    if parts.query or parts.fragment:
        raise ValueError("The server URL must not have a query or a fragment")
    return text


class ProfileList(BaseModel):
    profiles: list[Profile] = Field(default_factory=list)
    current: str = THIS_COMPUTER


class Connections:
    def __init__(self, config_dir: Path, *, use_keyring: bool = True) -> None:
        self._config_dir = config_dir
        self._use_keyring = use_keyring
        self._file = config_dir / PROFILES_FILE
        self._state = self._load()

    def _load(self) -> ProfileList:
        try:
            return ProfileList.model_validate_json(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ProfileList()
        except (OSError, ValidationError) as exc:
            log.warning("Could not read %s (%s); starting with no saved connections", self._file, exc)
            return ProfileList()

    def _save(self) -> None:
        self._config_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self._file, self._state.model_dump_json(indent=2))

    def _keys(self, name: str) -> TokenStore:
        slug = hashlib.sha256(name.encode()).hexdigest()[:16]
        return TokenStore(
            self._config_dir, use_keyring=self._use_keyring, name=f"server-key-{slug}", keyring_user=f"server:{name}"
        )

    # --- reading -----------------------------------------------------------------------------------------------
    def profiles(self) -> list[Profile]:
        return list(self._state.profiles)

    def names(self) -> list[str]:
        return [THIS_COMPUTER, *(p.name for p in self._state.profiles)]

    def get(self, name: str) -> Profile | None:
        return next((p for p in self._state.profiles if p.name == name), None)

    def api_key(self, name: str) -> str | None:
        return self._keys(name).get()

    @property
    def current(self) -> str:
        return self._state.current if self._state.current in self.names() else THIS_COMPUTER

    # --- changing (blocking file and keyring I/O: call off the GUI thread) --------------------------------------
    def save(self, profile: Profile, api_key: str | None) -> None:
        self._state.profiles = [p for p in self._state.profiles if p.name != profile.name] + [profile]
        self._save()
        self._keys(profile.name).set(api_key)

    def remove(self, name: str) -> None:
        self._state.profiles = [p for p in self._state.profiles if p.name != name]
        if self._state.current == name:
            self._state.current = THIS_COMPUTER
        self._save()
        self._keys(name).set(None)

    def set_current(self, name: str) -> None:
        if name not in self.names():
            raise KeyError(name)
        self._state.current = name
        self._save()
