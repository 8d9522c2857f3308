#!/usr/bin/env bash
# The check for the first GPU (docs/gpu.md): the GPU path measured in one run of a few minutes, offline.
#   scripts/gpu-check.sh prepare [DIR]   make the inputs (espeak-ng speech, a dialogue, a 10-minute file) on any
#                                        machine; DIR defaults to gpu-check-inputs/ (about 5 MB)
#   scripts/gpu-check.sh run [DIR]       on the GPU machine: prints the table; no GPU: one line, exit status 2
set -euo pipefail
cd "$(dirname "$0")/.."
step="${1:-}"
dir="${2:-gpu-check-inputs}"
case "$step" in
  prepare|run) ;;
  *) echo "usage: scripts/gpu-check.sh prepare|run [DIR]" >&2; exit 64 ;;
esac
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
exec "$python" -m benchmarks.gpu_check "$step" "$dir" "${@:3}"
