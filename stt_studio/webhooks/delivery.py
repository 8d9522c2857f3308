"""One delivery try (the RQ job function ``deliver``): check the URL again, POST the signed job JSON, record how it
went, and schedule the next try when it may still succeed.

The body is the job's JSON as GET /jobs/{job_id} shows it when the job ended (transcript included, the ``webhook``
field left out), built at the first try and sent unchanged by every retry. Retried: connection errors, timeouts,
5xx, 408 and 429. Given up at once: other 4xx (the receiver has refused it), a 3xx (redirects are never followed;
give the final URL) and a host that now resolves to an address that is not allowed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

import httpx

from stt_studio import __version__
from stt_studio.jobs.models import WebhookDelivery
from stt_studio.jobs.store import JobNotFoundError, JobStore, utcnow
from stt_studio.settings import Settings
from stt_studio.webhooks import queue
from stt_studio.webhooks.signing import signed_headers, webhook_secret
from stt_studio.webhooks.url_safety import (
    AllowList,
    InvalidCallbackUrlError,
    RefusedCallbackUrlError,
    Resolver,
    UnresolvableHostError,
    check_callback_url,
    system_resolver,
)

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 429})
_BODY_PREFIX = "stt:webhook-body:"
USER_AGENT = f"stt-studio/{__version__} (webhook)"


@dataclass(frozen=True)
class Outcome:
    """How one POST went: ``delivered`` on a 2xx; otherwise ``retry`` says whether another try may succeed."""

    delivered: bool
    status: int | None = None
    error: str | None = None
    retry: bool = False


@dataclass
class DeliveryContext:
    settings: Settings
    store: JobStore
    client: httpx.Client
    allow: AllowList
    resolve: Resolver = system_resolver


_context: ContextVar[DeliveryContext] = ContextVar("stt_webhook_context")


def new_client(timeout_seconds: float) -> httpx.Client:
    """No redirects, and no proxy from the environment: the request goes to the address that was checked."""
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_seconds),
        headers={"User-Agent": USER_AGENT},
    )


def post_signed(
    client: httpx.Client,
    url: str,
    allow: AllowList,
    body: bytes,
    headers: Mapping[str, str],
    resolve: Resolver = system_resolver,
) -> Outcome:
    """Check ``url`` (as at submission: the host may resolve elsewhere by now), then POST ``body`` to the checked
    address with the URL's host in the Host header (and in TLS's SNI and certificate check)."""
    try:
        checked = check_callback_url(url, allow, resolve)
    except UnresolvableHostError as exc:
        return Outcome(False, error=str(exc), retry=True)
    except (InvalidCallbackUrlError, RefusedCallbackUrlError) as exc:
        return Outcome(False, error=f"Refused: {exc}")
    host = checked.url.raw_host.decode("ascii")
    request_headers = {
        **headers,
        "Content-Type": "application/json",
        "Host": checked.url.netloc.decode("ascii"),
    }
    extensions = {"sni_hostname": host} if checked.url.scheme == "https" else {}
    error: httpx.TransportError | None = None
    for address in checked.addresses:
        target = checked.url.copy_with(host=address)
        try:
            with client.stream(
                "POST", target, content=body, headers=request_headers, extensions=extensions
            ) as response:  # the answer's body is never read: a receiver cannot make us download anything
                return _judge(response)
        except httpx.ConnectError as exc:
            error = exc  # the next address, if the host has another
        except httpx.TransportError as exc:  # timeouts, a dropped connection: the request may have arrived
            return Outcome(False, error=_describe(exc), retry=True)
    assert error is not None
    return Outcome(False, error=_describe(error), retry=True)


def _judge(response: httpx.Response) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True, status=status)
    if response.is_redirect:
        where = response.headers.get("Location", "")
        return Outcome(False, status=status, error=f"Redirect to {where!r} not followed; use the final URL")
    retry = status >= 500 or status in RETRIED_STATUSES
    return Outcome(False, status=status, error=f"HTTP {status} {response.reason_phrase}".rstrip(), retry=retry)


def _describe(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def use_context(ctx: DeliveryContext) -> None:
    """What ``deliver`` runs with in this thread (the webhook worker sets it once)."""
    _context.set(ctx)


def deliver(job_id: str, attempt: int) -> str:
    """The RQ job function: one try. Runs in the webhook worker, whose context holds the client and settings."""
    return attempt_delivery(_context.get(), job_id, attempt)


def attempt_delivery(ctx: DeliveryContext, job_id: str, attempt: int) -> str:
    store = ctx.store
    state = store.webhook_state(job_id)
    if state is None or state.state in ("delivered", "failed"):
        return "nothing to do"  # the job was deleted, or a rerun after a crash finds the delivery settled
    try:
        body = _frozen_body(store, job_id)
    except JobNotFoundError:
        return "job deleted"
    timestamp = int(time.time())
    headers = {
        **signed_headers(webhook_secret(ctx.settings), timestamp, body),
        "X-STT-Job-Id": job_id,
        "X-STT-Attempt": str(attempt),
    }
    outcome = post_signed(ctx.client, state.url, ctx.allow, body, headers, ctx.resolve)
    schedule = ctx.settings.webhook_retry_seconds
    retry_in = schedule[attempt - 1] if outcome.retry and attempt <= len(schedule) else None
    update = WebhookDelivery(
        url=state.url,
        state="delivered" if outcome.delivered else "retrying" if retry_in is not None else "failed",
        attempts=attempt,
        last_status=outcome.status,
        last_error=outcome.error,
        next_attempt_at=utcnow() + timedelta(seconds=retry_in) if retry_in is not None else None,
        delivered_at=utcnow() if outcome.delivered else None,
    )
    try:
        store.save_webhook_state(job_id, update)
    except JobNotFoundError:
        return "job deleted"
    host = httpx.URL(state.url).host  # never the whole URL: its path or query may hold a token
    if retry_in is not None:
        queue.queue_retry(store.redis, job_id, attempt + 1, retry_in)
        log.info("Webhook for job %s to %s: try %d failed (%s); next in %g s", job_id, host, attempt,
                 outcome.error, retry_in)  # fmt: skip
    else:
        store.redis.delete(f"{_BODY_PREFIX}{job_id}")
        log.info("Webhook for job %s to %s: %s after %d tries (%s)", job_id, host, update.state, attempt,
                 outcome.status or outcome.error)  # fmt: skip
    return update.state


def _frozen_body(store: JobStore, job_id: str) -> bytes:
    """The job's JSON as it ended, the same bytes on every try."""
    key = f"{_BODY_PREFIX}{job_id}"
    stored = store.redis.get(key)
    if isinstance(stored, bytes):
        return stored
    view = store.ended_view(job_id).model_copy(update={"webhook": None})
    body = view.to_json(store.result_json(job_id))
    store.redis.set(key, body, ex=queue.KEEP_SECONDS)
    return body
