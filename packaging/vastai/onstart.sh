#!/usr/bin/env bash
# STT Studio on a Vast.ai instance: the template's on-start script (see packaging/vastai/README.md).
#
# Runs on every start of the instance and is safe to run again: it clones or updates the checkout, installs
# (scripts/setup.sh) only when pyproject.toml or setup.sh changed, creates an API key on the first start (printed
# here once), pre-fetches the Whisper model, then becomes `stt-studio serve` (embedded Valkey + REST API +
# workers). Everything it keeps lives under $STT_WORKSPACE, which survives a stop/start of the instance: the
# queue (Valkey's append-only file in the data dir), transcripts, keys, models and the environment.
#
# Settings (environment; the template's or the account's):
#   STT_REPO_URL         git URL (or local path) to clone from; not needed once $STT_CHECKOUT exists
#   STT_REF              branch or tag to follow (default: the repository's default branch)
#   STT_UPDATE           1: fetch and move to the newest $STT_REF on each start (default); 0: keep the checkout
#   STT_WORKSPACE        /workspace (default): where everything below goes
#   STT_CHECKOUT         $STT_WORKSPACE/stt-studio
#   STT_VENV             $STT_CHECKOUT/.venv, installed and kept current by this script; another path: an
#                        existing installation used as is (e.g. the project's image: /opt/stt-studio)
#   STT_DATA_DIR         $STT_WORKSPACE/stt-data (queue, jobs, transcripts, API keys, logs)
#   STT_MODELS_DIR       $STT_WORKSPACE/stt-models (Whisper models; HF_HOME and TORCH_HOME default inside it)
#   STT_HOST, STT_PORT   0.0.0.0 and 8000: the API (map the port in the template: -p 8000:8000)
#   STT_WORKERS          1: worker processes (each holds its own model on the GPU)
#   STT_PREFETCH_MODELS  models to download before serving (default: $WHISPER_MODEL_SIZE or large-v3); none: skip
#   STT_PREFETCH_TIMEOUT 1800 seconds per model
#   STT_LOG_FILE         $STT_WORKSPACE/stt-serve.log: serve's console output (its own log: $STT_DATA_DIR/logs)
#   STT_API_KEYS         the key(s) clients send (comma-separated); without one a key is created and printed once
#   WHISPER_MODEL_SIZE, WHISPER_DEVICE, HF_TOKEN, …: read by stt-studio itself (README, "Configuration")
set -euo pipefail

log() { printf '[stt-studio on-start] %s\n' "$*"; }
warn() { printf '[stt-studio on-start] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[stt-studio on-start] ERROR: %s\n' "$*" >&2
    exit 1
}

configure() {
    STT_WORKSPACE=${STT_WORKSPACE:-/workspace}
    STT_CHECKOUT=${STT_CHECKOUT:-$STT_WORKSPACE/stt-studio}
    STT_VENV=${STT_VENV:-$STT_CHECKOUT/.venv}
    STT_UPDATE=${STT_UPDATE:-1}
    STT_HOST=${STT_HOST:-0.0.0.0}
    STT_PORT=${STT_PORT:-8000}
    STT_WORKERS=${STT_WORKERS:-1}
    STT_PREFETCH_MODELS=${STT_PREFETCH_MODELS:-${WHISPER_MODEL_SIZE:-large-v3}}
    STT_PREFETCH_TIMEOUT=${STT_PREFETCH_TIMEOUT:-1800}
    STT_LOG_FILE=${STT_LOG_FILE:-$STT_WORKSPACE/stt-serve.log}
    export STT_DATA_DIR=${STT_DATA_DIR:-$STT_WORKSPACE/stt-data}
    export STT_MODELS_DIR=${STT_MODELS_DIR:-$STT_WORKSPACE/stt-models}
    export HF_HOME=${HF_HOME:-$STT_MODELS_DIR/huggingface}     # alignment and diarization models
    export TORCH_HOME=${TORCH_HOME:-$STT_MODELS_DIR/torch}
    export PYTHONUNBUFFERED=1
    export COLUMNS=${COLUMNS:-160}  # the log file is not a terminal: without it, log lines wrap at 80 characters
}

# The venv this script installs and keeps current, as opposed to one it is given.
manages_venv() { [ "$STT_VENV" = "$STT_CHECKOUT/.venv" ]; }

# A checkout is kept unless the installation comes from elsewhere (an image) and no repository is named.
uses_checkout() { manages_venv || [ -n "${STT_REPO_URL:-}" ]; }

ensure_tools() {
    local missing=()
    if uses_checkout && ! command -v git >/dev/null; then
        missing+=(git)
    fi
    if manages_venv && ! "${PYTHON:-python3}" -c 'import ensurepip, venv' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        log "Installing ${missing[*]} (apt-get)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "this image lacks ${missing[*]}: install them, or pick an image that has them"
    fi
}

# Clone on the first start; afterwards move to the newest $STT_REF. An update that fails (no network, local
# changes) keeps the current checkout: the instance still starts.
update_checkout() {
    if [ ! -d "$STT_CHECKOUT/.git" ]; then
        [ -n "${STT_REPO_URL:-}" ] || die "no checkout in $STT_CHECKOUT: set STT_REPO_URL to clone one"
        log "Cloning ${STT_REPO_URL} ${STT_REF:+($STT_REF) }into $STT_CHECKOUT"
        mkdir -p "$(dirname "$STT_CHECKOUT")"
        git clone --quiet ${STT_REF:+--branch "$STT_REF"} "$STT_REPO_URL" "$STT_CHECKOUT"
        return
    fi
    [ "$STT_UPDATE" = 1 ] || return 0
    if git -C "$STT_CHECKOUT" fetch --quiet origin "${STT_REF:-HEAD}" &&
        git -C "$STT_CHECKOUT" checkout --quiet --detach FETCH_HEAD; then
        log "Checkout at $(git -C "$STT_CHECKOUT" log -1 --format='%h %s')"
    else
        warn "could not update $STT_CHECKOUT; starting the version already there"
    fi
}

# When the update brought a new version of this very script, run that one instead (once).
run_newer_self() {
    local self new
    self=$(realpath "${BASH_SOURCE[0]}")
    new="$STT_CHECKOUT/packaging/vastai/onstart.sh"
    [ -f "$new" ] && [ "$self" = "$(realpath "$new")" ] || return 0
    [ -z "${STT_ONSTART_RERUN:-}" ] || return 0
    if [ "$(sha256sum <"$new")" != "$SELF_HASH" ]; then
        log "The update changed this script: running the new version"
        STT_ONSTART_RERUN=1 exec bash "$new" "$@"
    fi
}

setup_hash() {
    cat "$STT_CHECKOUT/pyproject.toml" "$STT_CHECKOUT/scripts/setup.sh" | sha256sum | cut -d' ' -f1
}

# scripts/setup.sh only on the first start and after pyproject.toml or setup.sh changed: the checkout is
# installed editable, so a code update needs no reinstall. The marker lives in the venv, which it describes.
setup_if_needed() {
    local marker="$STT_VENV/.stt-setup-hash" wanted
    if ! manages_venv; then
        [ -x "$STT_VENV/bin/stt-studio" ] || die "STT_VENV=$STT_VENV has no bin/stt-studio"
        log "Using the installation in $STT_VENV"
        return
    fi
    wanted=$(setup_hash)
    if [ -x "$STT_VENV/bin/stt-studio" ] && [ "$(cat "$marker" 2>/dev/null)" = "$wanted" ]; then
        log "Environment up to date ($STT_VENV)"
        return
    fi
    log "Installing STT Studio into $STT_VENV (scripts/setup.sh; the first time takes several minutes)"
    if "$STT_CHECKOUT/scripts/setup.sh"; then
        printf '%s\n' "$wanted" >"$marker"
    elif [ -x "$STT_VENV/bin/stt-studio" ]; then
        warn "scripts/setup.sh failed; starting with the environment installed before"
    else
        die "scripts/setup.sh failed and there is no earlier installation to fall back on"
    fi
}

keys_may_be_required() {
    case "${STT_REQUIRE_API_KEY:-auto}" in
    never) return 1 ;;
    always) return 0 ;;
    esac
    case "$STT_HOST" in
    127.* | localhost | ::1 | "[::1]") return 1 ;;
    esac
}

# A key is created only when none is configured: the first start prints it, later starts never print a key.
ensure_api_key() {
    local stt="$STT_VENV/bin/stt-studio" secret
    if [ -n "${STT_API_KEYS:-}" ]; then
        log "API keys: from STT_API_KEYS (not shown)"
        return
    fi
    keys_may_be_required || return 0
    if [ -n "$("$stt" keys list 2>/dev/null)" ]; then
        log "API keys: the one(s) in $STT_DATA_DIR/api-keys.json (printed on the first start; a new one: stt-studio keys create)"
        return
    fi
    secret=$("$stt" keys create --name "vast.ai on-start" 2>/dev/null) || die "could not create an API key"
    printf '%s\n' \
        "==========================================================================================" \
        " STT Studio API key (shown only this once, stored hashed; revoke: stt-studio keys revoke):" \
        "" \
        "   $secret" \
        "" \
        " Desktop: Connect to server… with this key; curl: -H 'Authorization: Bearer <key>'" \
        "=========================================================================================="
}

# A model that can't be fetched (no network, HF_HUB_OFFLINE, a typo) does not stop the start: the worker then
# falls back to the bundled "base" model and says so in each result's warnings.
prefetch_models() {
    local stt="$STT_VENV/bin/stt-studio" model
    [ "$STT_PREFETCH_MODELS" = none ] && return
    for model in $STT_PREFETCH_MODELS; do
        log "Pre-fetching the Whisper model $model into $STT_MODELS_DIR"
        if ! timeout "$STT_PREFETCH_TIMEOUT" "$stt" models download "$model"; then
            warn "could not pre-fetch $model; serving anyway (the worker tries again, else uses the bundled base model)"
        fi
    done
}

# For SSH sessions on the instance (`source /workspace/stt-studio.env; stt-studio keys list`): paths only, no
# secrets.
write_env_file() {
    cat >"$STT_WORKSPACE/stt-studio.env" <<EOF
# Written by packaging/vastai/onstart.sh on each start: the paths serve uses (no secrets).
export STT_DATA_DIR='$STT_DATA_DIR' STT_MODELS_DIR='$STT_MODELS_DIR' HF_HOME='$HF_HOME' TORCH_HOME='$TORCH_HOME'
export PATH='$STT_VENV/bin':"\$PATH"
EOF
}

show_connect_info() {
    local external="${VAST_TCP_PORT_8000:-}"
    [ "$STT_PORT" = 8000 ] || external=""
    if [ -n "${PUBLIC_IPADDR:-}" ] && [ -n "$external" ]; then
        log "Connect to http://$PUBLIC_IPADDR:$external (instance port $STT_PORT)"
    else
        log "Connect to http://<public IP>:<external port of $STT_PORT> (Vast.ai console: the instance's IP Port Info)"
    fi
    log "Serving on $STT_HOST:$STT_PORT with $STT_WORKERS worker(s); console output: $STT_LOG_FILE"
}

main() {
    SELF_HASH=$(sha256sum <"${BASH_SOURCE[0]}")
    configure
    mkdir -p "$STT_WORKSPACE" "$STT_DATA_DIR" "$STT_MODELS_DIR" "$(dirname "$STT_LOG_FILE")"
    ensure_tools
    if uses_checkout; then
        update_checkout
        run_newer_self "$@"
    fi
    setup_if_needed
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi -L | sed 's/^/[stt-studio on-start] /' || warn "nvidia-smi found no GPU"
    fi
    ensure_api_key
    prefetch_models
    write_env_file
    show_connect_info
    exec "$STT_VENV/bin/stt-studio" serve --host "$STT_HOST" --port "$STT_PORT" --workers "$STT_WORKERS" \
        >>"$STT_LOG_FILE" 2>&1
}

# Sourced (tests), it only defines the functions. Run, bash has read all of main before the checkout update can
# replace this file.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
    exit
fi
