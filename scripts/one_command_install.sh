#!/usr/bin/env bash
# Proves that one command installs everything: this checkout is installed as a command with `uv tool install` and
# with `pipx install` (pip backend), each into a temporary place and with nothing typed after it, then
# `stt-studio doctor` must pass and `stt-studio transcribe --diarize` must label pyannote's two-speaker sample with
# the no-token models (offline). Heavy (about 5 GB downloaded on an empty cache, an 8.4 GB environment per tool,
# 2-3 minutes each on a fast network), so it is run by hand, not in CI; docs/deployment.md records its results.
#   scripts/one_command_install.sh            both routes
#   scripts/one_command_install.sh uv         one of them (uv or pipx)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/stt-one-command.XXXXXX")
trap 'rm -rf "$work"' EXIT
routes=("$@")
[ ${#routes[@]} -gt 0 ] || routes=(uv pipx)

"$python" -m venv "$work/installers"
"$work/installers/bin/pip" install --quiet --progress-bar off uv pipx
export PATH="$work/installers/bin:$PATH"

stamp() { date +%s; }
failed=0
for route in "${routes[@]}"; do
    home=$work/$route
    mkdir -p "$home/user"
    start=$(stamp)
    case $route in
        uv) UV_TOOL_DIR=$home/tools UV_TOOL_BIN_DIR=$home/bin UV_CACHE_DIR=${UV_CACHE_DIR:-$home/cache} \
                uv tool install --quiet --python "$python" "$repo" ;;
        pipx) PIPX_HOME=$home/tools PIPX_BIN_DIR=$home/bin \
                pipx install --quiet --backend pip --python "$python" "$repo" ;;
        *) echo "unknown route: $route (uv or pipx)" >&2; exit 2 ;;
    esac
    installed=$(( $(stamp) - start ))
    size=$(du -sh "$home/tools" | cut -f1)
    # Only what the one command put on the PATH, in a bare environment: no venv, no PYTHONPATH, no token.
    run() { env -i PATH="$home/bin:/usr/bin:/bin" HOME="$home/user" HF_HUB_OFFLINE=1 WHISPER_DEVICE=cpu \
                COLUMNS=160 "$@"; }
    doctor_status=0
    run stt-studio doctor --json > "$home/doctor.json" 2> "$home/doctor.err" || doctor_status=$?
    diarization=$("$python" -c 'import json, sys
checks = {c["name"]: c for c in json.load(open(sys.argv[1]))["checks"]}
print(checks["Diarization"]["status"], "-", checks["Diarization"]["detail"])' "$home/doctor.json")
    sample=$(find "$home/tools" -path '*/pyannote/audio/sample/sample.wav' | head -1)
    start=$(stamp)
    run stt-studio transcribe "$sample" --model base --diarize -f txt > "$home/sample.txt" 2> "$home/sample.err" \
        || { tail -5 "$home/sample.err"; failed=1; }
    transcribed=$(( $(stamp) - start ))
    speakers=$(grep -o 'Speaker [0-9]*:' "$home/sample.txt" | sort -u | wc -l)
    echo "$route: installed in ${installed} s ($size); doctor exit status $doctor_status; diarization: $diarization"
    echo "$route: transcribe --diarize of pyannote's sample: ${transcribed} s, $speakers speakers:"
    grep -m 3 'Speaker' "$home/sample.txt" | sed 's/^/    /'
    if [ "$doctor_status" != 0 ] || [ "$speakers" -lt 2 ] || [[ $diarization != ok* ]]; then failed=1; fi
    rm -rf "$home"  # 8 GB: before the next route
done
[ "$failed" = 0 ] && echo "One command was enough: ${routes[*]}" || { echo "FAILED" >&2; exit 1; }
