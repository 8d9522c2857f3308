"""The Hugging Face hub backend: pyannote's own pipeline (gated; needs HF_TOKEN and accepted terms)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stt_studio.engine.errors import EngineError


class HubDiarizationError(EngineError):
    """The hub pipeline could not be loaded; the message says why and what to do."""


def explain_hub_error(exc: BaseException, model: str) -> str:
    """Turn huggingface_hub's exceptions into the one thing the user has to do."""
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    page = f"https://huggingface.co/{model}"
    if isinstance(exc, GatedRepoError):
        return (
            f"Diarization needs access to the gated model '{model}': your HF_TOKEN is valid but its account has "
            f"not accepted the model's terms. Accept them at {page} (logged in as the token's owner), then retry."
        )
    if isinstance(exc, RepositoryNotFoundError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401:
            return (
                f"Diarization could not use '{model}': the Hugging Face hub rejected HF_TOKEN (invalid or expired). "
                "Create a read token at https://huggingface.co/settings/tokens, set HF_TOKEN, "
                f"and accept the terms at {page}."
            )
        return (
            f"Diarization could not use '{model}': the Hugging Face hub has no such model, or HF_TOKEN's account "
            f"cannot see it ({page}; STT_DIARIZATION_MODEL names it)."
        )
    if isinstance(exc, LocalEntryNotFoundError):
        return (
            f"Diarization could not download '{model}' (no connection to the Hugging Face hub, or offline mode). "
            "Check the network, or unset HF_TOKEN / set STT_DIARIZATION_BACKEND=local to use the bundled models."
        )
    return f"Diarization could not load '{model}': {exc}"


def build_hub_pipeline(model: str, token: str | None, cache_dir: Path, device: str) -> Any:
    if not token:
        raise HubDiarizationError(
            f"Diarization with the Hugging Face backend needs a token: set HF_TOKEN to a read token from "
            f"https://huggingface.co/settings/tokens and accept the terms at https://huggingface.co/{model} "
            "(or set STT_DIARIZATION_BACKEND=local to use the bundled models, no token needed)."
        )
    import torch
    from pyannote.audio import Pipeline

    try:
        pipeline = Pipeline.from_pretrained(model, token=token, cache_dir=str(cache_dir))
    except Exception as exc:  # huggingface_hub raises many types; each is explained
        raise HubDiarizationError(explain_hub_error(exc, model)) from exc
    if pipeline is None:  # pyannote returns None for some access problems instead of raising
        raise HubDiarizationError(
            f"Diarization could not load '{model}': check HF_TOKEN and accept the terms at "
            f"https://huggingface.co/{model}."
        )
    return pipeline.to(torch.device(device))
