"""Webhook signatures: ``X-STT-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with the shared secret.

The timestamp (``X-STT-Timestamp``, Unix seconds) is part of what is signed, so a receiver that refuses old
timestamps cannot be fed a recorded delivery again. The secret is ``STT_WEBHOOK_SECRET``, or else one generated once
into ``<data dir>/webhook-secret`` (owner-only), which ``stt-studio webhook-secret`` prints.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from stt_studio.settings import Settings

TIMESTAMP_HEADER = "X-STT-Timestamp"
SIGNATURE_HEADER = "X-STT-Signature"
SCHEME = "v1"
SECRET_FILE = "webhook-secret"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-STT-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def secret_file(data_dir: Path) -> Path:
    return data_dir / SECRET_FILE


def webhook_secret(settings: Settings) -> str:
    """``STT_WEBHOOK_SECRET``, or the data dir's generated secret (created, readable by this user only, on first
    use; of two processes creating it at once, both end up with the one that was written first)."""
    configured = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else ""
    if configured:  # set and not empty (compose files pass ``${STT_WEBHOOK_SECRET:-}``)
        return configured
    path = secret_file(settings.data_dir)
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{SECRET_FILE}.{os.getpid()}.tmp")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(candidate, path)  # fails if another process got there first: its secret stands
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"The webhook secret file {path} is empty; delete it to have a new one generated")
    return value
