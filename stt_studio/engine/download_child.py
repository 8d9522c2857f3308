"""One model download in a process of its own, so the window can cancel it by ending the process (a thread in
huggingface_hub can't be stopped) and a crash of either side leaves the other running.

``python -m stt_studio.engine.download_child NAME MODELS_DIR`` (the token, if any, in ``HF_TOKEN``: never on a
command line other users can read). It writes one JSON object a line on stdout::

    {"done": 1048576, "total": 75538270, "speed": 524288.0}   while it runs (twice a second at most)
    {"finished": "/…/snapshots/<commit>"}                      at the end, exit status 0
    {"error": "Could not reach the Hugging Face hub …"}         a plain sentence, exit status 1

A killed child leaves huggingface_hub's ``.incomplete`` blobs: the next download of the model resumes from them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stt_studio.engine.download_progress import DownloadProgress, watching_download
from stt_studio.engine.model_catalog import ModelCatalogError, download, hub_cache_dir

POLL_SECONDS = 0.25


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _tell(progress: DownloadProgress) -> None:
    _say({"done": progress.done_bytes, "total": progress.total_bytes, "speed": progress.bytes_per_second})


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        _say({"error": "usage: python -m stt_studio.engine.download_child NAME MODELS_DIR"})
        return 2
    name, models_dir = argv[0], Path(argv[1])
    token = os.environ.get("HF_TOKEN") or None
    try:
        with watching_download(name, hub_cache_dir(models_dir), token, _tell, poll_seconds=POLL_SECONDS):
            path = download(name, models_dir, token=token, offline=False)
    except ModelCatalogError as exc:
        _say({"error": str(exc)})
        return 1
    _say({"finished": str(path)})
    return 0


if __name__ == "__main__":
    from stt_studio.processes import tie_to_parent_from_env

    tie_to_parent_from_env()  # a window killed or crashed does not leave its downloads running
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    raise SystemExit(main(sys.argv[1:]))
