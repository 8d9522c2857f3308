"""API keys: the key store, the rule for when keys are required, and a real ``stt-studio serve`` enforcing them."""

from __future__ import annotations

import hmac
import json
import logging
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stt_studio import cli
from stt_studio.api.app import create_app
from stt_studio.api.auth import ApiKeyAuth, ensure_key, is_loopback, keys_required
from stt_studio.api_keys import ApiKeyChecker, ApiKeyStore, hash_key, keys_file
from stt_studio.settings import RequireApiKey, Settings
from tests import live

UNAUTHORIZED = {"detail": "A valid API key is required"}
ORIGIN = "https://allowed.example"


def _middleware(app: FastAPI) -> list[object]:
    return [m.cls for m in app.user_middleware]


# --- the key store --------------------------------------------------------------------------------------------


def test_store_creates_lists_and_revokes(tmp_path: Path) -> None:
    store = ApiKeyStore(keys_file(tmp_path / "data"))
    assert store.records() == []
    first, first_secret = store.create("laptop")
    second, second_secret = store.create()
    assert first_secret.startswith("stt_") and len(first_secret) >= 4 + 43
    assert first_secret != second_secret and first.id != second.id
    assert [(r.id, r.name, r.last4) for r in store.records()] == [
        (first.id, "laptop", first_secret[-4:]),
        (second.id, "", second_secret[-4:]),
    ]
    assert store.revoke(first.id)
    assert not store.revoke(first.id)
    assert [r.id for r in store.records()] == [second.id]


def test_key_file_is_private_and_holds_only_hashes(tmp_path: Path) -> None:
    store = ApiKeyStore(keys_file(tmp_path))
    _, secret = store.create("ci")
    path = keys_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert secret not in text and secret[4:20] not in text
    assert json.loads(text)["keys"][0]["sha256"] == hash_key(secret)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_checker_accepts_file_and_fixed_keys_and_sees_revocation(tmp_path: Path) -> None:
    store = ApiKeyStore(keys_file(tmp_path))
    record, secret = store.create()
    checker = ApiKeyChecker(keys_file(tmp_path), ["fixed-secret"], recheck_seconds=0)
    assert checker.is_valid(secret) and checker.is_valid("fixed-secret")
    assert not checker.is_valid(secret + "x") and not checker.is_valid("") and not checker.is_valid(hash_key(secret))
    store.revoke(record.id)
    assert not checker.is_valid(secret)
    assert checker.is_valid("fixed-secret")


def test_checker_rereads_the_file_only_after_the_recheck_interval(tmp_path: Path) -> None:
    store = ApiKeyStore(keys_file(tmp_path))
    record, secret = store.create()
    checker = ApiKeyChecker(keys_file(tmp_path), recheck_seconds=3600)
    assert checker.is_valid(secret)
    store.revoke(record.id)
    assert checker.is_valid(secret)  # not re-read yet: no file access per request
    checker.recheck_seconds = 0
    assert not checker.is_valid(secret)


def test_checker_compares_in_constant_time_against_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ApiKeyStore(keys_file(tmp_path))
    secrets = [store.create()[1] for _ in range(3)]
    checker = ApiKeyChecker(keys_file(tmp_path), ["fixed"], recheck_seconds=0)
    calls: list[tuple[bytes, bytes]] = []
    compare_digest = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert checker.is_valid(secrets[0])
    assert len(calls) == 4  # no early exit on the first match
    assert all(a == bytes.fromhex(hash_key(secrets[0])) for a, _ in calls)


def test_damaged_key_file_grants_nothing(tmp_path: Path) -> None:
    keys_file(tmp_path).write_text("{not json")
    checker = ApiKeyChecker(keys_file(tmp_path), ["fixed"], recheck_seconds=0)
    assert not checker.is_valid("{not json")
    assert checker.is_valid("fixed")


# --- when keys are required -----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    assert not keys_required("auto", host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "example.com", ""])
def test_other_hosts_need_keys_in_auto_mode(host: str) -> None:
    assert not is_loopback(host)
    assert keys_required("auto", host)


@pytest.mark.parametrize(("mode", "host", "required"), [
    ("always", "127.0.0.1", True), ("always", "0.0.0.0", True),
    ("never", "127.0.0.1", False), ("never", "0.0.0.0", False),
])  # fmt: skip
def test_explicit_modes(mode: RequireApiKey, host: str, required: bool) -> None:
    assert keys_required(mode, host) is required


def test_ensure_key_creates_one_only_when_required_and_none_configured(tmp_path: Path) -> None:
    assert ensure_key(Settings(data_dir=tmp_path), "127.0.0.1") is None
    assert ensure_key(Settings(data_dir=tmp_path, require_api_key="never"), "0.0.0.0") is None
    assert ensure_key(Settings(data_dir=tmp_path, api_keys=["from-env"]), "0.0.0.0") is None  # type: ignore[list-item]
    assert not keys_file(tmp_path).exists()
    secret = ensure_key(Settings(data_dir=tmp_path), "0.0.0.0")
    assert secret is not None
    assert ensure_key(Settings(data_dir=tmp_path), "0.0.0.0") is None  # one is configured now
    assert ApiKeyChecker(keys_file(tmp_path)).is_valid(secret)


def test_api_on_a_non_loopback_host_prints_a_new_key_once_and_requires_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve`/`api` with --host 0.0.0.0 and no key: without binding anything (uvicorn.run is replaced)."""
    import uvicorn

    started: list[tuple[Any, str]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, **_: started.append((app, host)))
    cli._run_api(Settings(data_dir=tmp_path), "0.0.0.0", 8000)
    out = capsys.readouterr().out
    match = re.fullmatch(r"Created API key (stt_\S+) — it is shown only this once.*\n", out)
    assert match, out
    [(app, host)] = started
    assert host == "0.0.0.0"
    assert ApiKeyAuth in _middleware(app)
    assert ApiKeyChecker(keys_file(tmp_path)).is_valid(match.group(1))

    cli._run_api(Settings(data_dir=tmp_path), "0.0.0.0", 8000)  # the next start shows nothing
    assert capsys.readouterr().out == ""


def test_never_on_an_exposed_host_is_loud_and_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(Settings(data_dir=tmp_path, require_api_key="never"), host="0.0.0.0")
    assert ApiKeyAuth not in _middleware(app)
    assert any("OPEN" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_app(Settings(data_dir=tmp_path, require_api_key="never"), host="127.0.0.1")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_settings_read_keys_and_origins_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_API_KEYS", "first-secret, second-secret")
    monkeypatch.setenv("STT_CORS_ORIGINS", f"{ORIGIN},https://other.example")
    monkeypatch.setenv("STT_REQUIRE_API_KEY", "always")
    settings = Settings()
    assert [k.get_secret_value() for k in settings.api_keys] == ["first-secret", "second-secret"]
    assert settings.cors_origins == [ORIGIN, "https://other.example"]
    assert settings.require_api_key == "always"
    assert "first-secret" not in repr(settings) and "first-secret" not in str(settings.model_dump())


def test_cors_is_closed_by_default_and_open_to_configured_origins(tmp_path: Path) -> None:
    closed = TestClient(create_app(Settings(data_dir=tmp_path)))
    response = closed.get("/openapi.json", headers={"Origin": ORIGIN})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
    opened = TestClient(create_app(Settings(data_dir=tmp_path, cors_origins=[ORIGIN])))
    assert opened.get("/openapi.json", headers={"Origin": ORIGIN}).headers["access-control-allow-origin"] == ORIGIN
    other = opened.get("/openapi.json", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


# --- the keys command -----------------------------------------------------------------------------------------


def test_keys_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    created = runner.invoke(cli.app, ["keys", "create", "--name", "build server"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("stt_")
    [record] = ApiKeyStore(keys_file(tmp_path)).records()
    listing = runner.invoke(cli.app, ["keys", "list"])
    assert listing.exit_code == 0
    assert record.id in listing.stdout and "build server" in listing.stdout and secret[-4:] in listing.stdout
    assert secret[:-4] not in listing.output and secret[-5:] not in listing.output
    assert runner.invoke(cli.app, ["keys", "revoke", record.id]).exit_code == 0
    assert runner.invoke(cli.app, ["keys", "revoke", record.id]).exit_code == 1
    assert ApiKeyStore(keys_file(tmp_path)).records() == []


# --- a real server --------------------------------------------------------------------------------------------


@dataclass
class KeyedService:
    url: str
    data_dir: Path
    env: dict[str, str]
    log: Path
    file_keys: list[str]
    env_key: str


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "stt_studio", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[KeyedService]:
    """``stt-studio serve`` on 127.0.0.1 with keys required (STT_REQUIRE_API_KEY=always), one worker."""
    root = tmp_path_factory.mktemp("keyed")
    env_key = "stt_env_" + "k" * 40
    env = live.service_env(
        root / "data", settings.resolved_models_dir,
        STT_REQUIRE_API_KEY="always", STT_API_KEYS=f" {env_key} ", STT_CORS_ORIGINS=ORIGIN,
    )  # fmt: skip
    file_keys = [_cli(env, "keys", "create", "--name", f"key {i}").strip() for i in range(2)]
    port = live.free_port()
    proc = live.start(["serve", "--port", str(port), "--workers", "1"], env, root / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        live.wait_for(lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200, 120, "the API")
        headers = {"X-API-Key": env_key}
        live.wait_for(lambda: httpx.get(f"{url}/queue/stats", headers=headers).json()["workers"] >= 1, 180, "a worker")
        yield KeyedService(url, root / "data", env, root / "serve.log", file_keys, env_key)
    finally:
        live.stop(proc)


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"


def test_requests_without_a_valid_key_are_refused(keyed: KeyedService, short_wav: Path) -> None:
    url = keyed.url
    _assert_unauthorized(httpx.get(f"{url}/queue/stats"))
    _assert_unauthorized(httpx.get(f"{url}/jobs"))
    _assert_unauthorized(httpx.get(f"{url}/jobs/anything"))
    _assert_unauthorized(httpx.post(f"{url}/jobs/anything/cancel"))
    _assert_unauthorized(httpx.get(f"{url}/queue/stats", headers={"Authorization": "Bearer stt_wrong"}))
    _assert_unauthorized(httpx.get(f"{url}/queue/stats", headers={"X-API-Key": keyed.file_keys[0] + "x"}))
    _assert_unauthorized(httpx.get(f"{url}/queue/stats", headers={"Authorization": keyed.file_keys[0]}))  # no scheme
    with short_wav.open("rb") as f:
        _assert_unauthorized(httpx.post(f"{url}/transcribe/async", files={"file": f}))
    _assert_unauthorized(httpx.get(f"{url}/metrics"))


def test_open_endpoints(keyed: KeyedService) -> None:
    assert httpx.get(f"{keyed.url}/health").status_code == 200
    assert httpx.get(f"{keyed.url}/openapi.json").status_code == 200
    assert httpx.get(f"{keyed.url}/docs").status_code == 200


def test_valid_keys_in_both_header_styles(keyed: KeyedService, short_wav: Path) -> None:
    for headers in (
        {"Authorization": f"Bearer {keyed.file_keys[0]}"},
        {"authorization": f"bearer {keyed.env_key}"},
        {"X-API-Key": keyed.file_keys[1]},
    ):
        assert httpx.get(f"{keyed.url}/queue/stats", headers=headers).status_code == 200
    headers = {"Authorization": f"Bearer {keyed.file_keys[0]}"}
    with short_wav.open("rb") as f:
        submitted = httpx.post(
            f"{keyed.url}/transcribe/async", files={"file": f}, data={"language": "en"}, headers=headers, timeout=60
        )
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.json()["job_id"]

    def final_job() -> dict[str, Any] | None:
        job: dict[str, Any] = httpx.get(f"{keyed.url}/jobs/{job_id}", headers={"X-API-Key": keyed.env_key}).json()
        return job if job["status"] in live.FINAL else None

    job = live.wait_for(final_job, 300, "the job")
    assert job["status"] == "completed", job
    assert job["result"]["text"].strip()
    assert all(key not in json.dumps(job) for key in (*keyed.file_keys, keyed.env_key))
    metrics = httpx.get(f"{keyed.url}/metrics", headers={"X-API-Key": keyed.env_key})
    assert metrics.status_code == 200 and "stt_http_requests" in metrics.text


def test_revoked_key_is_refused_without_a_restart(keyed: KeyedService) -> None:
    headers = {"X-API-Key": keyed.file_keys[1]}
    assert httpx.get(f"{keyed.url}/queue/stats", headers=headers).status_code == 200
    listing = _cli(keyed.env, "keys", "list")
    [key_id] = [line.split()[0] for line in listing.splitlines() if line.rstrip().endswith("key 1")]
    _cli(keyed.env, "keys", "revoke", key_id)
    live.wait_for(lambda: httpx.get(f"{keyed.url}/queue/stats", headers=headers).status_code == 401, 10, "revocation")
    _assert_unauthorized(httpx.get(f"{keyed.url}/queue/stats", headers=headers))
    assert httpx.get(f"{keyed.url}/queue/stats", headers={"X-API-Key": keyed.file_keys[0]}).status_code == 200


def test_cors_for_the_configured_origin_only(keyed: KeyedService) -> None:
    headers = {"Origin": ORIGIN, "X-API-Key": keyed.env_key}
    assert httpx.get(f"{keyed.url}/queue/stats", headers=headers).headers["access-control-allow-origin"] == ORIGIN
    preflight = httpx.options(
        f"{keyed.url}/queue/stats",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.get(
        f"{keyed.url}/queue/stats", headers={"Origin": "https://evil.example", "X-API-Key": keyed.env_key}
    )
    assert "access-control-allow-origin" not in other.headers


def test_keys_never_reach_the_logs_or_metrics(keyed: KeyedService) -> None:
    """Runs last in this module: after every request above, with valid, wrong and revoked keys."""
    metrics = httpx.get(f"{keyed.url}/metrics", headers={"X-API-Key": keyed.env_key}).text
    logs = keyed.log.read_text(errors="replace") + (keyed.data_dir / "logs" / "stt-studio.log").read_text()
    assert "API on http://" in logs  # the logs that were searched are the real ones
    for key in (*keyed.file_keys, keyed.env_key):
        assert key not in logs
        assert key not in metrics


def _serve_without_workers(root: Path, host: str, settings: Settings, **env: str) -> tuple[str, Any, Path]:
    port = live.free_port()
    proc = live.start(
        ["serve", "--host", host, "--port", str(port), "--workers", "0"],
        live.service_env(root / "data", settings.resolved_models_dir, **env),
        root / "serve.log",
    )
    url = f"http://{host}:{port}"
    live.wait_for(lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200, 120, "the API")
    return url, proc, root / "serve.log"


def test_loopback_bind_in_auto_mode_needs_no_key(tmp_path: Path, settings: Settings) -> None:
    """127.0.0.2 is loopback too: existing local clients keep working without a key, and no key is created."""
    url, proc, log = _serve_without_workers(tmp_path, "127.0.0.2", settings)
    try:
        response = httpx.get(f"{url}/queue/stats", headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers  # CORS closed by default
        assert httpx.get(f"{url}/metrics").status_code == 200
    finally:
        live.stop(proc)
    assert not keys_file(tmp_path / "data").exists()
    assert "Created API key" not in log.read_text(errors="replace")


def test_required_keys_with_none_configured_creates_one_shown_once(tmp_path: Path, settings: Settings) -> None:
    url, proc, log = _serve_without_workers(
        tmp_path, "127.0.0.1", settings, STT_REQUIRE_API_KEY="always", STT_METRICS_PUBLIC="true"
    )
    try:
        out = log.read_text(errors="replace")
        match = re.search(r"Created API key (stt_\S+) — it is shown only this once", out)
        assert match, out
        secret = match.group(1)
        _assert_unauthorized(httpx.get(f"{url}/queue/stats"))
        assert httpx.get(f"{url}/queue/stats", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 200  # STT_METRICS_PUBLIC
    finally:
        live.stop(proc)
    assert log.read_text(errors="replace").count(secret) == 1
    assert secret not in (tmp_path / "data" / "logs" / "stt-studio.log").read_text()
