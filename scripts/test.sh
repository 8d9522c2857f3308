#!/usr/bin/env bash
# Installs everything the tests need (Debian packages when run as root, the venv) and runs lint + tests.
# Extra arguments go to pytest, e.g. scripts/test.sh -k audio
set -euo pipefail
cd "$(dirname "$0")/.."

# Test speech (espeak-ng, sox, ffmpeg) and the system libraries Qt needs to draw the real window offscreen and
# to load QtMultimedia (EGL/GL, xkbcommon, fontconfig + a font, D-Bus, PulseAudio's client library); the pre-flight's
# tests also open the window on a real X server (Xvfb), which needs Qt's xcb plugin's libraries; the live-recording
# tests run a private PulseAudio and its tools (pactl, paplay, parec).
packages=(espeak-ng sox libsox-fmt-mp3 ffmpeg desktop-file-utils libegl1 libgl1 libxkbcommon0 libfontconfig1 fonts-dejavu-core
          libdbus-1-3 libpulse0 xvfb libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
          libxcb-render-util0 libxcb-shape0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0
          pulseaudio pulseaudio-utils)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Please install: ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi

scripts/setup.sh --test
.venv/bin/ruff check stt_studio tests benchmarks scripts
.venv/bin/mypy
# The container test's images (a cold build is about 10 minutes of downloads and unpacking, niced) are built beside
# the other tests; the container test runs last and waits for the build (packaging/container-test.sh takes a lock).
prebuild=
if [ $# -eq 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    mkdir -p /var/tmp/stt-container-test/logs
    setsid packaging/container-test.sh --build-only > /var/tmp/stt-container-test/logs/prebuild.log 2>&1 &
    prebuild=$!
    trap 'kill -- -"$prebuild" 2>/dev/null || true' EXIT
fi
# The desktop tests draw the real window without a display. Two test processes (pytest-xdist), each taking whole
# files (their module fixtures, a server or a window, stay in one process): most of a test's time is spent waiting
# on a server, a worker or a window, so a second process uses what the first leaves idle. STT_TEST_PROCESSES=0: one.
# A test process that crashes (once seen: a segfault in Qt's event loop) is not replaced: a replacement once sat
# idle while the run waited for CI's limit; without one the run ends there, failed, with the crash's traceback
# (pytest's faulthandler prints it).
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -n "${STT_TEST_PROCESSES:-2}" --dist loadfile \
    --max-worker-restart=0 "$@"
