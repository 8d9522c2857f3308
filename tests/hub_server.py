"""A local HTTP server that answers the few Hugging Face hub endpoints huggingface_hub's real client calls to
download a model and to check a token: the stand-in for the hub on a machine without internet.

Point a subprocess at it with ``HF_ENDPOINT=<url>`` (huggingface_hub reads it at import time).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    repos: dict[str, dict[str, bytes]]
    """repo id → file name → content."""
    valid_tokens: set[str] = field(default_factory=set)
    gated: dict[str, set[str]] = field(default_factory=dict)
    """Gated repo id → the tokens whose accounts accepted its terms."""
    seen_tokens: list[str | None] = field(default_factory=list)
    url: str = ""
    bytes_per_second: int | None = None
    """Serve files' contents this slowly (a download that takes a while); None: at once."""
    ranges_seen: list[str] = field(default_factory=list)
    """The ``Range`` headers of file requests (a resumed download asks for ``bytes=<offset>-``)."""


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _token(self) -> str | None:
            auth = self.headers.get("Authorization", "")
            return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

        def _send(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, *, throttled: bool = False
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if not throttled or hub.bytes_per_second is None:
                self.wfile.write(body)
                return
            piece = max(hub.bytes_per_second // 10, 1)
            try:
                for start in range(0, len(body), piece):
                    self.wfile.write(body[start : start + piece])
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):  # the client went away (a cancelled download)
                return

        def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

        def _refuse_bad_token(self) -> bool:
            token = self._token()
            hub.seen_tokens.append(token)
            if token is not None and token not in hub.valid_tokens:
                self._json(401, {"error": "Invalid credentials"},
                           {"X-Error-Message": "Invalid credentials in Authorization header"})  # fmt: skip
                return True
            return False

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if self._refuse_bad_token():
                return
            parts = path.strip("/").split("/")
            if path == "/api/whoami-v2":
                if self._token() is None:
                    self._json(401, {"error": "no token"})
                else:
                    self._json(200, {"name": "tester", "type": "user"})
            elif parts[:2] == ["api", "models"] and len(parts) >= 4:
                repo_id = "/".join(parts[2:4])
                if repo_id not in hub.repos:
                    self._json(404, {"error": "not found"}, {"X-Error-Code": "RepoNotFound"})
                elif repo_id in hub.gated and self._token() not in hub.gated[repo_id]:
                    self._json(403, {"error": "gated"}, {"X-Error-Code": "GatedRepo"})
                elif parts[4:5] == ["auth-check"]:
                    self._json(200, {})
                else:
                    siblings = [{"rfilename": name} for name in hub.repos[repo_id]]
                    self._json(200, {"id": repo_id, "sha": COMMIT, "siblings": siblings})
            elif len(parts) >= 5 and parts[2] == "resolve":
                repo_id, filename = "/".join(parts[:2]), "/".join(parts[4:])
                content = hub.repos.get(repo_id, {}).get(filename)
                if content is None:
                    self._json(404, {"error": "no such file"}, {"X-Error-Code": "EntryNotFound"})
                    return
                etag = hashlib.sha256(content).hexdigest()
                headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"'}
                wanted = self.headers.get("Range", "")
                if self.command == "GET" and wanted:
                    hub.ranges_seen.append(wanted)
                start = _range_start(wanted)
                if start is None or self.command == "HEAD" or start >= len(content):
                    self._send(200, content, headers, throttled=True)
                else:  # a resumed download: the rest of the file, as the real hub's CDN answers
                    headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
                    self._send(206, content[start:], headers, throttled=True)
            else:
                self._json(404, {"error": f"unknown path {path}"})

    return Handler


def _range_start(header: str) -> int | None:
    """The offset of ``Range: bytes=<offset>-`` (the only form huggingface_hub sends to resume); None: none."""
    if not header.startswith("bytes=") or not header.endswith("-"):
        return None
    try:
        return int(header.removeprefix("bytes=").removesuffix("-"))
    except ValueError:
        return None


@contextmanager
def running(hub: FakeHub) -> Iterator[FakeHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
