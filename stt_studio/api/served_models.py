"""The Whisper models this server runs jobs on: the names a client may ask for, never a path on the server."""

from __future__ import annotations

from fastapi import HTTPException, status

from stt_studio.engine.model_catalog import known_model, list_models, public_name
from stt_studio.settings import Settings

WHISPER_1 = "whisper-1"
"""OpenAI's model name: the worker's own model (``/v1/audio/transcriptions``)."""


def served_models(settings: Settings) -> dict[str, str | None]:
    """The ``model`` values this server accepts, each with the model its job asks for (None: the worker's own).

    ``whisper-1`` and the configured model run on the worker's loaded model; a configured local folder is offered by
    its name, never by its path on the server. Other Whisper models are offered when they are on this machine
    (bundled or downloaded); online, the known ones too (downloaded on first use).
    """
    configured = settings.whisper_model_size
    models: dict[str, str | None] = {WHISPER_1: None, public_name(configured): None}
    for model in list_models(settings.resolved_models_dir, configured):
        usable = model.available or (not settings.offline and model.repo_id is not None)
        if usable and not model.local_folder and model.problem is None:
            models.setdefault(model.name, model.name)
    return models


def job_model(requested: str, settings: Settings) -> str | None:
    """The model a job that asks for ``requested`` runs on (None: the worker's own); 400 naming the models this
    server has when it is not one of them (a path on the server, an unknown name, a model not on this machine while
    offline). An alias counts as its model (``turbo`` → ``large-v3-turbo``)."""
    served = served_models(settings)
    served.pop(WHISPER_1)  # OpenAI's name belongs to the OpenAI-compatible route
    known = known_model(requested)
    name = known.name if known is not None and known.name in served else requested
    if name not in served:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"Unknown model '{requested}': this server has {', '.join(served)} (a model name, never a path)",
        )
    return served[name]
