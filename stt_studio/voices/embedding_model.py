"""Which embedding model this installation's diarization embeds voices with, named by the fingerprint its voice
prints carry: what a voice's "needs refresh" is judged against. Read from the settings and the weights file alone,
without loading a model."""

from __future__ import annotations

import logging
from functools import lru_cache

from stt_studio.settings import Settings

log = logging.getLogger(__name__)


def current_embedding_model(settings: Settings) -> str | None:
    """The fingerprint new voice prints get (``PyannoteDiarizer.embedding_model``); None when it cannot be told
    (the local models are missing): then no voice is marked as needing a refresh. Either backend's prints are of
    the local model (CAM++): the hub backend's speakers are embedded again with it (``library_prints``)."""
    return _local_fingerprint()


@lru_cache(maxsize=1)
def _local_fingerprint() -> str | None:
    from stt_studio.engine.diarization.local import LocalModelsMissingError, local_embedding_fingerprint

    try:
        return local_embedding_fingerprint()
    except (LocalModelsMissingError, OSError) as exc:  # hashing 28 MB once per process, then remembered
        log.warning("The voice embedding model cannot be named: %s", exc)
        return None
