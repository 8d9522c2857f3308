"""Security: the embedded Valkey listens on no TCP port, uploads are stored under generated names only, secrets
(HF token, API keys, webhook secret) appear in no log, error message, job JSON, Redis value or /metrics, CORS is
closed by default, and the dependencies' known vulnerabilities (pip-audit, with STT_PIP_AUDIT=1) are each fixed or
explained. Each case is a row of docs/reliability.md (tests/reliability.py).
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.metadata
import json
import os
import re
import secrets
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from stt_studio.settings import Settings
from tests import live
from tests.reliability import ServeInstance, listening_tcp_ports, record, serve

pytestmark = pytest.mark.slow

GROUP = "Security"


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that keeps every request it gets (headers and body)."""

    received: list[bytes] = []  # noqa: RUF012 - one list for the test's one receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.received.append(str(self.headers).encode() + self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@dataclass
class Secured:
    instance: ServeInstance
    secrets: dict[str, str]
    receiver_url: str
    seen: list[bytes] = field(default_factory=list)
    """Every response body the test received (error messages, job JSON, metrics …)."""

    @property
    def key(self) -> str:
        return self.secrets["STT_API_KEYS"]

    def call(self, method: str, path: str, key: str | None = None, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.request(method, f"{self.instance.url}{path}", headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]
        self.seen.append(str(response.headers).encode() + response.content)
        return response


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Secured]:
    values = {
        "HF_TOKEN": f"hf_{secrets.token_hex(16)}",
        "STT_API_KEYS": f"sttkey{secrets.token_hex(16)}",
        "STT_WEBHOOK_SECRET": f"whsec{secrets.token_hex(16)}",
    }
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {
        "STT_REQUIRE_API_KEY": "always",
        "STT_DIARIZATION_BACKEND": "hub",  # the token is used (and fails offline): its error must not show it
        "STT_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        **values,
    }
    root = tmp_path_factory.mktemp("secured")
    with serve(root, settings.resolved_models_dir, wait=False, environment=env) as instance:
        live.wait_for(lambda: httpx.get(f"{instance.url}/health", timeout=5).json()["workers"] >= 1, 300, "a worker")
        yield Secured(instance, values, f"http://127.0.0.1:{receiver.server_port}/hook")
    receiver.shutdown()


def test_embedded_valkey_listens_on_no_tcp_port(secured: Secured) -> None:
    with record(
        GROUP,
        "Embedded Valkey: no TCP port",
        action="list the TCP sockets the embedded Valkey process listens on; stat its unix socket",
        expected="none; the unix socket is readable and writable by its owner only (0700)",
    ) as row:
        pid = secured.instance.valkey_pid()
        ports = listening_tcp_ports(pid)
        socket_mode = stat.S_IMODE(os.stat(secured.instance.redis_server.socket).st_mode)
        row.observed = f"TCP ports: {ports or 'none'}; socket mode {socket_mode:04o}"
        assert ports == []
        assert socket_mode & 0o077 == 0


HOSTILE_NAME = "../../../tmp/evil name;rm -rf.wav"


def test_uploads_are_stored_under_generated_names(secured: Secured, short_wav: Path) -> None:
    with record(
        GROUP,
        "Uploads stored under generated names",
        action=f"upload a file named {HOSTILE_NAME!r}; while the worker is held in 'decoding' (the upload on disk), "
        "list the serve's folder, /tmp, the files its processes have open, and where the name would lead from "
        "every folder of the data dir",
        expected="the job folder is named by its UUID; the file in it is upload.wav; nothing else named by the client",
    ) as row:
        faults = secured.instance.faults
        faults.hold("decoding")
        try:
            with short_wav.open("rb") as f:
                response = secured.call("POST", "/transcribe/async", secured.key, files={"file": (HOSTILE_NAME, f)})
            assert response.status_code == 200, response.text
            job_id = response.json()["job_id"]
            assert faults.held("decoding")[1] == job_id
            job_dir = secured.instance.data_dir / "jobs" / job_id
            stored = sorted(p.name for p in job_dir.iterdir())
            landed = _named_by_the_client(secured.instance, "evil")
        finally:
            faults.release("decoding")
        _wait_final(secured, job_id)
        row.observed = f"job folder jobs/{job_id} while decoding: {stored}; named by the client: {landed or 'nothing'}"
        assert "upload.wav" in stored
        assert not [name for name in stored if name.startswith("upload") and name != "upload.wav"]
        assert landed == []


def _named_by_the_client(instance: ServeInstance, fragment: str) -> list[str]:
    """Files whose name has ``fragment``: in the serve's folder, at the top of /tmp, open in its processes, and
    where a client's ``../`` name would lead from each folder of the data dir."""
    places = list(instance.data_dir.parent.rglob("*")) + list(Path(tempfile.gettempdir()).iterdir())
    for process in instance.processes().values():
        with contextlib.suppress(psutil.Error):
            places += [Path(f.path) for f in process.open_files()]
    for folder in [instance.data_dir, *(p for p in instance.data_dir.rglob("*") if p.is_dir())]:
        with contextlib.suppress(OSError):
            escaped = (folder / HOSTILE_NAME).resolve()
            if escaped.exists():
                places.append(escaped)
    return sorted({str(p) for p in places if fragment in p.name})


def test_cors_is_closed_by_default(secured: Secured) -> None:
    with record(
        GROUP,
        "CORS closed by default",
        action="a browser preflight (OPTIONS, Origin: https://evil.example) and a GET with that Origin",
        expected="no Access-Control-Allow-Origin in either answer",
    ) as row:
        headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        preflight = httpx.options(f"{secured.instance.url}/transcribe/async", headers=headers)
        simple = httpx.get(f"{secured.instance.url}/health", headers={"Origin": "https://evil.example"})
        allowed = [r.headers.get("access-control-allow-origin") for r in (preflight, simple)]
        row.observed = f"preflight {preflight.status_code}, GET {simple.status_code}; allow-origin: {allowed}"
        assert allowed == [None, None]


def test_secrets_appear_nowhere(secured: Secured, short_wav: Path) -> None:
    with record(
        GROUP,
        "Secrets never shown",
        action="HF_TOKEN, STT_API_KEYS and STT_WEBHOOK_SECRET set; calls with wrong, missing and right keys, a job "
        "with a webhook, a diarization job whose hub login fails, /metrics, listings; then search every log, "
        "answer, file in the data dir and Redis value",
        expected="none of the three secrets (nor their first 10 characters) anywhere",
    ) as row:
        s = secured
        s.call("GET", "/jobs", "wrong-key")
        s.call("GET", "/jobs", s.key[:-1])
        s.call("GET", "/metrics")
        with short_wav.open("rb") as f:
            hooked = s.call("POST", "/transcribe/async", s.key, files={"file": f},
                            data={"callback_url": s.receiver_url}).json()["job_id"]  # fmt: skip
        with short_wav.open("rb") as f:
            diarized = s.call("POST", "/transcribe/async", s.key, files={"file": f},
                              data={"enable_diarization": "true"}).json()["job_id"]  # fmt: skip
        for job_id in (hooked, diarized):
            _wait_final(s, job_id)
        live.wait_for(lambda: _Receiver.received, 60, "the webhook delivery")
        failed = s.call("GET", f"/jobs/{diarized}", s.key).json()
        for path in ("/jobs", "/metrics", "/queue/stats", "/health", "/openapi.json", f"/jobs/{hooked}"):
            s.call("GET", path, s.key)
        places = _everything_written(s)
        leaks = [f"{name} in {where}" for where, blob in places.items() for name, value in s.secrets.items()
                 if value.encode() in blob or value[:10].encode() in blob]  # fmt: skip
        row.observed = (
            f"searched {len(places)} places ({sum(len(b) for b in places.values()) // 1024} KB); leaks: "
            f"{leaks or 'none'}; the diarization job {failed['status']}: {str(failed.get('error'))[:120]!r}"
        )
        assert failed["status"] == "failed", failed
        assert _Receiver.received, "the webhook was delivered (signed with the secret)"
        assert not leaks


def _wait_final(s: Secured, job_id: str) -> None:
    def final() -> bool:
        return bool(s.call("GET", f"/jobs/{job_id}", s.key).json()["status"] in live.FINAL)

    live.wait_for(final, 300, f"job {job_id}")


def _everything_written(s: Secured) -> dict[str, bytes]:
    """Logs, data-dir files, Redis values, answers and webhook deliveries, by where they came from."""
    places: dict[str, bytes] = {"serve output": s.instance.log.read_bytes()}
    for path in s.instance.data_dir.rglob("*"):
        if path.is_file() and not path.is_socket() and path.suffix not in {".wav", ".sock"}:
            places[str(path.relative_to(s.instance.data_dir))] = path.read_bytes()
    client = s.instance.redis()
    values = []
    for key in client.scan_iter(count=1000):
        dumped = client.dump(key)
        values.append(key + b"=" + (dumped or b""))
    places["Redis (every key, DUMP)"] = b"\n".join(values)
    places["API answers"] = b"\n".join(s.seen)
    places["webhook deliveries"] = b"\n".join(_Receiver.received)
    return places


AUDIT_EXPLAINED: dict[str, str] = {}
"""Advisories pip-audit reports that do not apply, by id, with the reason (none so far)."""


THIS_PROJECT = "stt-studio"
"""Installed from this checkout (editable), not from PyPI: it has no advisories to look up."""


def _installed_packages() -> set[str]:
    """The distributions in the environment the tests run in (what ``pip-audit -l`` audits), but this project."""
    names = {re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower() for dist in importlib.metadata.distributions()}
    return names - {THIS_PROJECT}


@pytest.mark.skipif(os.environ.get("STT_PIP_AUDIT") != "1", reason="needs PyPI's vulnerability API: STT_PIP_AUDIT=1")
def test_dependency_audit(tmp_path: Path) -> None:
    with record(
        GROUP,
        "Known vulnerabilities in dependencies (pip-audit)",
        action="pip-audit over the installed environment the tests ran in (pip-audit -l; there is no lock file)",
        expected="every installed package audited; no finding that is not fixed or explained here",
    ) as row:
        installed = _installed_packages()
        out = tmp_path / "audit.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "-l", "--progress-spinner", "off", "-f", "json", "-o", str(out)],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        # No report at all when pip-audit cannot reach its advisory source: that audited nothing, it found nothing.
        deps = json.loads(out.read_text())["dependencies"] if out.exists() else []
        skipped = {d["name"]: d["skip_reason"] for d in deps if "skip_reason" in d}
        audited = {d["name"] for d in deps if "skip_reason" not in d} - {THIS_PROJECT}
        not_audited = sorted(installed - audited)
        findings = [(d["name"], d["version"], v["id"], v.get("fix_versions") or []) for d in deps
                    for v in d.get("vulns", [])]  # fmt: skip
        row.figures = {"installed": len(installed), "audited": len(audited), "findings": len(findings)}
        unexplained = [f for f in findings if f[2] not in AUDIT_EXPLAINED]
        listed = [
            f"{name} {version}: {advisory} (fixed in {', '.join(fix) or 'no release'})"
            + (f" — {AUDIT_EXPLAINED[advisory]}" if advisory in AUDIT_EXPLAINED else "")
            for name, version, advisory, fix in findings
        ]
        found = "; ".join(listed) or "none"
        row.observed = f"{len(audited)} of {len(installed)} installed packages audited; findings: {found}"
        why = sorted({reason.split(":")[0] for name, reason in skipped.items() if name != THIS_PROJECT})
        if not out.exists():
            why = [(done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1][:200]]
        if not audited:
            pytest.skip(f"pip-audit could audit none of the {len(installed)} installed packages from this machine: "
                        f"{' / '.join(why)}")  # fmt: skip
        assert not not_audited, f"{len(not_audited)} packages not audited ({' / '.join(why)}): {not_audited}"
        assert done.returncode == (1 if findings else 0), done.stderr[-2000:]
        assert not unexplained, unexplained
