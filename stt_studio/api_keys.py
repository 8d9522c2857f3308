"""API keys for the REST API: a small file of hashed keys in the data dir, and a fast checker over it.

Only a SHA-256 hash of each key is stored. A slow password hash (bcrypt, scrypt, …) exists to make guessing a
low-entropy password expensive; these keys are 32 random bytes, so a plain hash is already impossible to invert
and costs a microsecond per request instead of tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

KEY_PREFIX = "stt_"
KEYS_FILE_NAME = "api-keys.json"


def keys_file(data_dir: Path) -> Path:
    return data_dir / KEYS_FILE_NAME


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is stored about a key: never the key itself, only its hash and its last 4 characters."""

    id: str
    name: str
    created: str
    last4: str
    sha256: str


class ApiKeyStore:
    """The keys in ``<data dir>/api-keys.json`` (written atomically, mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[ApiKeyRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return [ApiKeyRecord(**entry) for entry in data.get("keys", [])]

    def create(self, name: str = "") -> tuple[ApiKeyRecord, str]:
        """Add a new key; returns its record and the secret, which is not stored and cannot be shown again."""
        secret = new_secret()
        record = ApiKeyRecord(
            id=secrets.token_hex(4),
            name=name,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            last4=secret[-4:],
            sha256=hash_key(secret),
        )
        self._write([*self.records(), record])
        return record, secret

    def revoke(self, key_id: str) -> bool:
        """Remove the key with this id; False when there is none."""
        records = self.records()
        kept = [r for r in records if r.id != key_id]
        if len(kept) == len(records):
            return False
        self._write(kept)
        return True

    def _write(self, records: Iterable[ApiKeyRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"keys": [asdict(r) for r in records]}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".api-keys-", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


class ApiKeyChecker:
    """Checks presented keys against the key file and fixed (environment) keys.

    The file is re-read only when its identity (inode, mtime, size) changes, and that is looked at no more than
    once per ``recheck_seconds``: a request costs a hash and a few comparisons, and a revocation takes effect
    within ``recheck_seconds`` without a restart.
    """

    def __init__(self, path: Path, fixed_keys: Iterable[str] = (), recheck_seconds: float = 1.0) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self._fixed_hashes = tuple(bytes.fromhex(hash_key(k)) for k in fixed_keys)
        self._file_hashes: tuple[bytes, ...] = ()
        self._file_signature: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")

    def is_valid(self, presented: str) -> bool:
        self._refresh()
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        matched = False
        for stored in (*self._fixed_hashes, *self._file_hashes):
            # Constant time, and no early exit: the time taken says nothing about which key (if any) matched.
            matched |= hmac.compare_digest(digest, stored)
        return matched

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.recheck_seconds:
            return
        self._checked_at = now
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._file_signature, self._file_hashes = None, ()
            return
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if signature == self._file_signature:
            return
        self._file_signature = signature
        try:
            self._file_hashes = tuple(bytes.fromhex(r.sha256) for r in ApiKeyStore(self.path).records())
        except (OSError, ValueError, TypeError):
            # Fail closed: a damaged file grants nothing (the fixed keys still work) until it is written again.
            log.error("Cannot read the API key file %s; its keys are not accepted until it is fixed", self.path)
            self._file_hashes = ()
