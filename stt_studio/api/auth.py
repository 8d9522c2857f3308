"""API-key authentication: when keys are required, and the middleware that enforces it."""

from __future__ import annotations

import ipaddress
import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from stt_studio.api_keys import ApiKeyChecker, ApiKeyStore, keys_file
from stt_studio.settings import RequireApiKey, Settings

log = logging.getLogger(__name__)

UNAUTHORIZED = "A valid API key is required"
ALWAYS_OPEN = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Liveness for probes, and the API's description (the schema is public knowledge; calling it needs a key)."""


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` listens on this machine only (anything unrecognised counts as exposed)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[] ")).is_loopback
    except ValueError:
        return False


def keys_required(mode: RequireApiKey, host: str) -> bool:
    if mode == "auto":
        return not is_loopback(host)
    return mode == "always"


def ensure_key(settings: Settings, host: str) -> str | None:
    """Create a key when keys are required but none is configured, so the API never starts unusable or open.

    Returns the new secret (for the caller to show once), or None when nothing was created.
    """
    if not keys_required(settings.require_api_key, host) or settings.api_keys:
        return None
    store = ApiKeyStore(keys_file(settings.data_dir))
    if store.records():
        return None
    _, secret = store.create("created by serve")
    return secret


def log_key_policy(settings: Settings, host: str) -> None:
    if keys_required(settings.require_api_key, host):
        log.info("API keys are required (STT_REQUIRE_API_KEY=%s, bound to %s)", settings.require_api_key, host)
    elif not is_loopback(host):
        log.warning(
            "STT_REQUIRE_API_KEY=never on %s: the REST API is OPEN to anyone who can reach this address "
            "(transcripts, uploads, job control). Use it only behind an authenticating proxy or a firewall.",
            host,
        )


class ApiKeyAuth:
    """Answer 401 unless the request carries a valid key (``Authorization: Bearer`` or ``X-API-Key``).

    Pure ASGI, like the app's other middleware: the status endpoint's latency budget has no room for more.
    """

    def __init__(self, app: ASGIApp, checker: ApiKeyChecker, metrics_public: bool) -> None:
        self.app = app
        self.checker = checker
        self.open_paths = (ALWAYS_OPEN | {"/metrics"}) if metrics_public else ALWAYS_OPEN

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self._authorized(scope):
            await WebSocketClose(code=1008, reason=UNAUTHORIZED[:120])(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"] in self.open_paths or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse({"detail": UNAUTHORIZED}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and self.checker.is_valid(token.strip()):
                    return True
            elif name == b"x-api-key" and self.checker.is_valid(value.decode("latin-1").strip()):
                return True
        return False
