"""Share this machine: the desktop app serves the REST API on a chosen address, always behind an API key.

The key is an ordinary API key (``stt-studio keys list`` shows it, ``revoke`` ends it); its secret is kept in the
desktop's secret store so that the sharing panel can show it again. A revoked key is replaced on the next start.
"""

from __future__ import annotations

import shlex
import socket
from dataclasses import dataclass
from pathlib import Path

from stt_studio.api.app import create_app
from stt_studio.api.server_thread import ApiServerThread
from stt_studio.api_keys import ApiKeyChecker, ApiKeyStore, keys_file
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.ui.secrets import TokenStore

KEY_NAME = "desktop sharing"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class ShareInfo:
    host: str
    port: int
    url: str
    """What another machine types: this machine's address on the network when listening on all of them."""
    api_key: str

    @property
    def curl_example(self) -> str:
        return (
            f"curl -H {shlex.quote('Authorization: Bearer ' + self.api_key)} "
            f"-F file=@recording.wav {self.url}/transcribe/async"
        )


def reachable_address(host: str) -> str:
    """The address other machines use for ``host``; for 0.0.0.0 the one this machine's default route leaves by."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a UDP "connect" sends nothing: it only picks the outgoing interface
        address: str = probe.getsockname()[0]
        return address
    except OSError:
        return socket.gethostname()
    finally:
        probe.close()


def _url(host: str, port: int) -> str:
    address = reachable_address(host)
    return f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"


class Sharing:
    def __init__(self, settings: Settings, config_dir: Path, secrets: TokenStore | None = None) -> None:
        self._settings = settings
        self._secrets = secrets or TokenStore(config_dir, name="sharing_api_key", keyring_user="sharing-api-key")
        self._server: ApiServerThread | None = None
        self.info: ShareInfo | None = None

    @property
    def active(self) -> bool:
        return self._server is not None and self._server.running

    def api_key(self) -> str:
        """The sharing key: the one kept from before while it is still valid, else a new one."""
        path = keys_file(self._settings.data_dir)
        kept = self._secrets.get()
        if kept and ApiKeyChecker(path).is_valid(kept):
            return kept
        _, secret = ApiKeyStore(path).create(KEY_NAME)
        self._secrets.set(secret)
        return secret

    def start(self, store: JobStore, host: str, port: int = DEFAULT_PORT) -> ShareInfo:
        """Listen on ``host:port`` (blocking for a moment: call it off the GUI thread). AddressUnavailableError
        says why it could not."""
        self.stop()
        key = self.api_key()
        # Keys always, even on a loopback address: sharing is for other programs and other machines.
        settings = self._settings.model_copy(update={"require_api_key": "always"})
        server = ApiServerThread(create_app(settings, store, host=host), host, port)
        server.start()
        self._server = server
        self.info = ShareInfo(host, server.port, _url(host, server.port), key)
        return self.info

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self.info = None

