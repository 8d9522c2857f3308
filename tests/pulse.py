"""A private PulseAudio server for the live-recording tests: a null sink ``S`` (its monitor ``S.monitor`` is
"this computer's sound") and a null source ``MIC``; ``paplay -d S`` plays speech into it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SINK = "S"
MONITOR = "S.monitor"


@contextmanager
def private_pulseaudio(runtime_dir: Path) -> Iterator[dict[str, str]]:
    """The environment (XDG_RUNTIME_DIR, HOME) whose clients talk to a PulseAudio of their own."""
    for tool in ("pulseaudio", "pactl", "paplay", "parec"):
        if shutil.which(tool) is None:
            missing = f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)"
            if os.environ.get("CI"):
                pytest.fail(f"{missing}: scripts/test.sh installs it")  # never a silent skip in CI
            pytest.skip(missing)
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir), "HOME": str(runtime_dir)}
    env.pop("PULSE_SERVER", None)
    subprocess.run(
        ["pulseaudio", "-D", "--exit-idle-time=-1", "-n", "-L", "module-native-protocol-unix",
         "-L", f"module-null-sink sink_name={SINK}", "-L", "module-null-source source_name=MIC"],
        env=env, check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    for _ in range(100):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    try:
        yield env
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=30)
