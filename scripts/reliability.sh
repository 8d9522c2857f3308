#!/usr/bin/env bash
# The reliability suite with its report on, then docs/reliability.md regenerated from that run:
# the faults, 100 concurrent submits, a 500-job soak, the hostile inputs, the security checks (pip-audit included)
# and the process-lifetime cases. About 20 minutes on 2 cores. Extra arguments go to pytest; the table then shows
# only the cases that ran.
#   STT_SOAK_JOBS=N   soak length (default 500)     STT_PIP_AUDIT=0   skip pip-audit (it needs PyPI's API)
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/reliability
mkdir -p "$out"
rm -f "$out/rows.jsonl" "$out/junit.xml"
export STT_RELIABILITY_REPORT="$PWD/$out/rows.jsonl"
export STT_SOAK_JOBS="${STT_SOAK_JOBS:-500}"
export STT_PIP_AUDIT="${STT_PIP_AUDIT:-1}"
export QT_QPA_PLATFORM=offscreen

status=0
nice .venv/bin/python -m pytest -p no:cacheprovider --junit-xml="$out/junit.xml" \
    tests/test_reliability_faults.py tests/test_reliability_load.py tests/test_hostile_inputs.py \
    tests/test_reliability_security.py tests/test_process_lifetime.py "$@" || status=$?
.venv/bin/python scripts/reliability_table.py "$out/rows.jsonl" --junit "$out/junit.xml" \
    --command "scripts/reliability.sh (STT_SOAK_JOBS=$STT_SOAK_JOBS)" -o docs/reliability.md
exit "$status"
