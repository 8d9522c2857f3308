#!/usr/bin/env bash
# Installs everything the tests need (Debian packages when run as root, the venv) and runs lint + tests.
# Extra arguments go to pytest, e.g. scripts/test.sh -k audio
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in espeak-ng sox ffmpeg; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox libsox-fmt-mp3 ffmpeg >/dev/null
    else
        echo "Please install: ${missing[*]} (Debian/Ubuntu: sudo apt-get install espeak-ng sox libsox-fmt-mp3 ffmpeg)" >&2
        exit 1
    fi
fi

scripts/setup.sh --test
.venv/bin/ruff check stt_studio tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
