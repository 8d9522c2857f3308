"""Signed webhooks: which callback URLs are refused, the signature, and live deliveries from a real ``serve``.

The live receiver is a small HTTP server on a free loopback port (allowed by the service's
STT_WEBHOOK_ALLOWED_HOSTS) that checks every delivery with ``verify`` below, a copy of the README's snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.settings import Settings
from stt_studio.webhooks.delivery import new_client, post_signed
from stt_studio.webhooks.queue import webhook_queue
from stt_studio.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, secret_file, signed_headers, webhook_secret
from stt_studio.webhooks.url_safety import (
    AllowList,
    InvalidCallbackUrlError,
    RefusedCallbackUrlError,
    UnresolvableHostError,
    check_callback_url,
    non_public_kind,
)
from tests import live
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, wer

SECRET = "test-webhook-secret-" + "s" * 20
URL_TOKEN = "receiver-token-" + "t" * 20
"""A token in a callback URL's query, as receivers often use: it must not reach the logs."""
NOTHING_ALLOWED = AllowList.parse([])


# --- the README's verification snippet, as a receiver would paste it ---------------------------------------------
def verify(secret: str, timestamp: str, signature: str, body: bytes, tolerance: int = 300) -> bool:
    """True if ``body`` (the raw request body) was signed with ``secret`` less than ``tolerance`` seconds ago."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


# --- which URLs may be called --------------------------------------------------------------------------------------
def _resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata endpoints live here
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("239.1.2.3", "multicast"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.0.0.5", "private"),
        ("2002:a00:5::1", "private"),  # 6to4 around 10.0.0.5
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    assert non_public_kind(ipaddress.ip_address(address)) == kind
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(RefusedCallbackUrlError) as refused:
        check_callback_url(f"http://{host}:8080/hook", NOTHING_ALLOWED)
    assert f"a {kind} address ({address})" in str(refused.value)
    assert "STT_WEBHOOK_ALLOWED_HOSTS" in str(refused.value)


@pytest.mark.parametrize("address", ["8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    checked = check_callback_url(f"https://{host}/hook", NOTHING_ALLOWED)
    assert checked.addresses == (address,)


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    resolve = _resolver({"hooks.example.com": ["93.184.216.34", "10.0.0.5"], "good.example.com": ["93.184.216.34"]})
    with pytest.raises(RefusedCallbackUrlError, match=r"resolves to a private address \(10\.0\.0\.5\)"):
        check_callback_url("https://hooks.example.com/in", NOTHING_ALLOWED, resolve)
    checked = check_callback_url("https://GOOD.example.com./in", NOTHING_ALLOWED, resolve)
    assert checked.addresses == ("93.184.216.34",)


def test_localhost_is_refused_through_the_real_resolver() -> None:
    with pytest.raises(RefusedCallbackUrlError, match="the host localhost resolves to a loopback address"):
        check_callback_url("http://localhost:9000/hook", NOTHING_ALLOWED)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnresolvableHostError, match="does not resolve"):
        check_callback_url("http://nowhere.invalid/hook", NOTHING_ALLOWED, _resolver({}))


def test_allow_list_by_host_name_and_by_network() -> None:
    by_name = AllowList.parse(["LocalHost"])
    assert check_callback_url("http://localhost:9000/hook", by_name).url.port == 9000
    by_network = AllowList.parse(["127.0.0.0/8", "fd00::/8"])
    check_callback_url("http://127.0.0.2:9000/", by_network)
    check_callback_url("http://[fd00::7]/", by_network)
    with pytest.raises(RefusedCallbackUrlError, match="private"):
        check_callback_url("http://10.0.0.5/", by_network)
    with pytest.raises(RefusedCallbackUrlError, match="loopback"):
        check_callback_url("http://[::1]/", by_network)  # an IPv4 network says nothing of IPv6 loopback
    one_address = AllowList.parse(["10.0.0.5"])
    check_callback_url("http://10.0.0.5/", one_address)
    check_callback_url("http://[::ffff:10.0.0.5]/", one_address)
    with pytest.raises(RefusedCallbackUrlError):
        check_callback_url("http://10.0.0.6/", one_address)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "must be an http:// or https:// URL"),
        ("example.com/hook", "must be an http:// or https:// URL"),
        ("http:///hook", "has no host"),
        ("https://example.com/hook#part", "fragment"),
        ("http://exa mple.com/", "has an invalid host name"),
        ("http://a..b/", "has an invalid host name"),
        ("http://[::1/", "is not a valid URL"),
        ("http://example.com:99999/", "has an invalid port"),
        ("https://example.com/" + "a" * 2100, "at most 2048 characters"),
    ],
)
def test_malformed_urls(url: str, problem: str) -> None:
    with pytest.raises(InvalidCallbackUrlError, match=problem):
        check_callback_url(url, NOTHING_ALLOWED)


def test_settings_read_the_webhook_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_WEBHOOK_ALLOWED_HOSTS", "receiver.internal, 10.1.0.0/16")
    monkeypatch.setenv("STT_WEBHOOK_RETRY_SECONDS", "1,2.5")
    monkeypatch.setenv("STT_WEBHOOK_SECRET", SECRET)
    settings = Settings()
    assert settings.webhook_allowed_hosts == ["receiver.internal", "10.1.0.0/16"]
    assert settings.webhook_retry_seconds == [1.0, 2.5]
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    monkeypatch.setenv("STT_WEBHOOK_ALLOWED_HOSTS", "10.0.0.0/33")
    with pytest.raises(ValidationError, match=r"10\.0\.0\.0/33"):
        Settings()


def test_default_retries_span_at_least_ten_minutes() -> None:
    assert sum(Settings().webhook_retry_seconds) >= 600


# --- signatures and the secret -------------------------------------------------------------------------------------
def test_signature_round_trip_with_the_readme_snippet() -> None:
    body = b'{"job_id": "x", "status": "completed"}'
    now = int(time.time())
    headers = signed_headers(SECRET, now, body)
    assert headers[SIGNATURE_HEADER].startswith("v1=")
    assert verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)
    assert not verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body + b" ")
    assert not verify("another secret", headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)
    assert not verify(SECRET, str(now + 1), headers[SIGNATURE_HEADER], body)  # the timestamp is signed too
    old = signed_headers(SECRET, now - 3600, body)
    assert not verify(SECRET, old[TIMESTAMP_HEADER], old[SIGNATURE_HEADER], body)  # a replayed delivery


def test_generated_secret_is_private_stable_and_shown_by_the_cli(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = webhook_secret(settings)
    assert len(first) >= 40
    assert webhook_secret(settings) == first
    assert stat.S_IMODE(secret_file(settings.data_dir).stat().st_mode) == 0o600
    env = {**live.service_env(tmp_path / "data", tmp_path / "models")}
    assert _cli(env, "webhook-secret") == first
    configured = Settings(data_dir=tmp_path / "data", webhook_secret=SecretStr(SECRET))
    assert webhook_secret(configured) == SECRET
    assert webhook_secret(Settings(data_dir=tmp_path / "data", webhook_secret=SecretStr(""))) == first
    assert _cli({**env, "STT_WEBHOOK_SECRET": SECRET}, "webhook-secret") == SECRET


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "stt_studio", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# --- a receiver ----------------------------------------------------------------------------------------------------
@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answer: int


@dataclass
class Receiver:
    """Answers by path: /flaky 500 then 200; /redirect 302 to /landing; /hold waits for ``release``; else 200."""

    secret: str
    deliveries: list[Delivery] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def to(self, path: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.path == path]

    def answer(self, path: str) -> tuple[int, dict[str, str]]:
        if path == "/flaky":
            return (500 if len(self.to(path)) == 0 else 200), {}
        if path == "/redirect":
            return 302, {"Location": self.url("/landing")}
        if path == "/hold":
            self.holding.set()
            self.release.wait(600)
        return 200, {}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve_receiver(SECRET)


def _serve_receiver(secret: str) -> Iterator[Receiver]:
    state = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            timestamp = self.headers.get(TIMESTAMP_HEADER, "")
            ok = verify(state.secret, timestamp, self.headers.get(SIGNATURE_HEADER, ""), body)
            path = urlsplit(self.path).path
            status, extra = state.answer(path)
            with state.lock:
                state.deliveries.append(Delivery(path, dict(self.headers.items()), body, ok, status))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", live.free_port()), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


# --- one try against a real HTTP server ----------------------------------------------------------------------------
LOOPBACK_ALLOWED = AllowList.parse(["127.0.0.1"])


def _post(receiver: Receiver, url: str, allow: AllowList = LOOPBACK_ALLOWED, **kwargs: Any) -> Any:
    body = b'{"job_id": "unit"}'
    with new_client(10.0) as client:
        return post_signed(client, url, allow, body, signed_headers(SECRET, int(time.time()), body), **kwargs)


def test_delivery_time_check_refuses_without_sending(receiver: Receiver) -> None:
    outcome = _post(receiver, receiver.url("/ok"), NOTHING_ALLOWED)
    assert not outcome.delivered and not outcome.retry
    assert outcome.error.startswith("Refused: the host 127.0.0.1 is a loopback address")
    assert receiver.deliveries == []


def test_delivery_connects_to_the_checked_address_and_keeps_the_host_name(receiver: Receiver) -> None:
    """The name resolves (in this test's resolver only) to the receiver: the request goes to that address, so a
    second lookup by the HTTP client could not send it elsewhere, and the Host header still names the host."""
    outcome = _post(receiver, receiver.url("/ok", host="hooks.test"), resolve=_resolver({"hooks.test": ["127.0.0.1"]}))
    assert outcome.delivered and outcome.status == 200
    [delivery] = receiver.deliveries
    assert delivery.verified
    assert delivery.headers["Host"] == f"hooks.test:{receiver.port}"


def test_redirects_are_not_followed_nor_retried(receiver: Receiver) -> None:
    outcome = _post(receiver, receiver.url("/redirect"))
    assert (outcome.delivered, outcome.status, outcome.retry) == (False, 302, False)
    assert "not followed" in outcome.error
    assert receiver.to("/landing") == []


def test_which_failures_are_retried(receiver: Receiver) -> None:
    assert _post(receiver, receiver.url("/flaky")).retry  # 500
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    refused = _post(receiver, f"http://127.0.0.1:{port}/")
    assert refused.retry and "ConnectError" in refused.error


# --- live: serve, a real worker, real speech -----------------------------------------------------------------------
@dataclass
class HookedService:
    url: str
    data_dir: Path
    log: Path


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[HookedService]:
    """``stt-studio serve`` with one tiny.en worker, loopback callbacks allowed, a short retry schedule, and a long
    delivery timeout (the held receiver below answers when the test lets it)."""
    root = tmp_path_factory.mktemp("hooked")
    env = live.service_env(
        root / "data", settings.resolved_models_dir,
        STT_WEBHOOK_SECRET=SECRET, STT_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        STT_WEBHOOK_RETRY_SECONDS="1,1,1", STT_WEBHOOK_TIMEOUT_SECONDS="600",
    )  # fmt: skip
    port = live.free_port()
    proc = live.start(["serve", "--port", str(port), "--workers", "1"], env, root / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        live.wait_until_up(url, workers=1)
        yield HookedService(url, root / "data", root / "serve.log")
    finally:
        live.stop(proc)
    for log in (root / "serve.log", root / "data" / "logs" / "stt-studio.log"):
        text = log.read_text(errors="replace")
        assert SECRET not in text and URL_TOKEN not in text


def _job(service: HookedService, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{service.url}/jobs/{job_id}", timeout=10).json()
    return job


def _wait_webhook(service: HookedService, job_id: str, states: set[str]) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        job = _job(service, job_id)
        return job if job.get("webhook", {}).get("state") in states else None

    return live.wait_for(settled, 300, f"the webhook of job {job_id} to be {states}", interval=0.3)


def _nothing_left_to_deliver(service: HookedService) -> bool:
    """No try queued, scheduled or running: no further delivery can happen."""
    connection = EmbeddedRedis(service.data_dir / "redis").client()
    queue = webhook_queue(connection)
    return len(queue) + ScheduledJobRegistry(queue=queue).count + StartedJobRegistry(queue=queue).count == 0


def test_flaky_receiver_gets_exactly_one_successful_delivery(
    hooked: HookedService, receiver: Receiver, short_wav: Path
) -> None:
    callback_url = f"{receiver.url('/flaky')}?token={URL_TOKEN}"
    job_id = live.submit(hooked.url, short_wav, callback_url=callback_url)
    assert _job(hooked, job_id)["webhook"] == {
        "url": callback_url, "state": "pending", "attempts": 0, "last_status": None, "last_error": None,
        "next_attempt_at": None, "delivered_at": None,
    }  # fmt: skip
    job = _wait_webhook(hooked, job_id, {"delivered", "failed"})
    webhook = job["webhook"]
    assert (webhook["state"], webhook["attempts"], webhook["last_status"]) == ("delivered", 2, 200)
    assert webhook["last_error"] is None and webhook["delivered_at"] is not None
    live.wait_for(lambda: _nothing_left_to_deliver(hooked), 30, "the webhook queue to be empty")

    tries = receiver.to("/flaky")
    assert [d.answer for d in tries] == [500, 200]
    assert len([d for d in tries if 200 <= d.answer < 300]) == 1
    assert all(d.verified for d in tries)
    assert [d.headers["X-STT-Attempt"] for d in tries] == ["1", "2"]
    assert tries[0].body == tries[1].body  # every try sends the job as it ended
    sent = json.loads(tries[1].body)
    assert sent["job_id"] == job_id == tries[1].headers["X-STT-Job-Id"]
    assert sent["status"] == "completed" and sent["attempts"] == 1
    assert "webhook" not in sent
    assert wer(SHORT_TEXT, sent["result"]["text"]) <= SHORT_CLIP_WER_BOUND
    assert sent["result"] == job["result"]


def test_redirect_is_not_followed(hooked: HookedService, receiver: Receiver, short_wav: Path) -> None:
    job_id = live.submit(hooked.url, short_wav, callback_url=receiver.url("/redirect"))
    webhook = _wait_webhook(hooked, job_id, {"delivered", "failed"})["webhook"]
    assert (webhook["state"], webhook["attempts"], webhook["last_status"]) == ("failed", 1, 302)
    assert "not followed" in webhook["last_error"]
    assert len(receiver.to("/redirect")) == 1
    assert receiver.to("/landing") == []


def test_a_held_delivery_does_not_hold_the_transcription_worker(
    hooked: HookedService, receiver: Receiver, short_wav: Path
) -> None:
    """While the receiver keeps the first job's delivery waiting, the next job is transcribed to the end."""
    held = live.submit(hooked.url, short_wav, callback_url=receiver.url("/hold"))
    assert receiver.holding.wait(300), "the delivery never reached the receiver"
    following = live.wait_job(hooked.url, live.submit(hooked.url, short_wav))
    assert following["status"] == "completed"
    assert "webhook" not in following  # no callback asked for, no field
    assert not receiver.release.is_set()
    assert _job(hooked, held)["webhook"]["state"] == "pending"  # its first try is still waiting for an answer
    receiver.release.set()
    webhook = _wait_webhook(hooked, held, {"delivered", "failed"})["webhook"]
    assert (webhook["state"], webhook["attempts"]) == ("delivered", 1)


def test_the_waiting_endpoint_takes_a_callback_too(hooked: HookedService, receiver: Receiver, short_wav: Path) -> None:
    with short_wav.open("rb") as f:
        response = httpx.post(
            f"{hooked.url}/transcribe",
            files={"file": (short_wav.name, f)},
            data={"callback_url": receiver.url("/ok")},
            timeout=300,
        )
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    assert _wait_webhook(hooked, job_id, {"delivered", "failed"})["webhook"]["state"] == "delivered"
    [delivery] = receiver.to("/ok")
    assert delivery.verified and json.loads(delivery.body)["job_id"] == job_id


def test_an_idempotency_key_covers_the_callback(hooked: HookedService, receiver: Receiver, short_wav: Path) -> None:
    def submit(path: str) -> httpx.Response:
        with short_wav.open("rb") as f:
            return httpx.post(
                f"{hooked.url}/transcribe/async",
                files={"file": (short_wav.name, f)},
                data={"callback_url": receiver.url(path)},
                headers={"Idempotency-Key": f"webhook-{receiver.port}"},
            )

    first = submit("/ok")
    assert first.status_code == 200, first.text
    assert submit("/ok").json()["job_id"] == first.json()["job_id"]
    other = submit("/elsewhere")
    assert other.status_code == 422
    assert "different options" in other.json()["detail"]
    _wait_webhook(hooked, first.json()["job_id"], {"delivered", "failed"})
    assert len(receiver.to("/ok")) == 1 and receiver.to("/elsewhere") == []


def test_callbacks_are_checked_at_submission(tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    """With the default (empty) allow-list: private and loopback callbacks get a 400, malformed ones a 422, and
    nothing is queued. No STT_WEBHOOK_SECRET: one is generated and shown by the CLI."""
    env = live.service_env(tmp_path / "data", settings.resolved_models_dir)
    port = live.free_port()
    proc = live.start(["serve", "--port", str(port), "--workers", "0"], env, tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        live.wait_until_up(url, workers=0)

        def submit(callback_url: str) -> httpx.Response:
            with short_wav.open("rb") as f:
                files = {"file": (short_wav.name, f)}
                return httpx.post(f"{url}/transcribe/async", files=files, data={"callback_url": callback_url})

        private = submit("http://10.0.0.5/hook")
        assert private.status_code == 400
        assert private.json() == {
            "detail": "callback_url refused: the host 10.0.0.5 is a private address (10.0.0.5); "
            "allow it with STT_WEBHOOK_ALLOWED_HOSTS"
        }
        loopback = submit(f"http://localhost:{port}/hook")
        assert loopback.status_code == 400
        assert "resolves to a loopback address" in loopback.json()["detail"]
        malformed = submit("ftp://example.com/hook")
        assert malformed.status_code == 422
        assert malformed.json() == {"detail": "callback_url must be an http:// or https:// URL"}
        assert httpx.get(f"{url}/jobs").json()["count"] == 0
        live.wait_for(lambda: secret_file(tmp_path / "data").exists(), 60, "the generated secret")
        assert _cli(env, "webhook-secret") == secret_file(tmp_path / "data").read_text().strip()
    finally:
        live.stop(proc)


def test_secret_file_is_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        webhook_secret(Settings(data_dir=tmp_path))
    finally:
        os.umask(old)
    assert stat.S_IMODE(secret_file(tmp_path).stat().st_mode) == 0o600
