"""The window's pre-flight on a clean system: a minimal Debian (debootstrap) in a podman container, holding every
system library the window loads, then each package in turn removed (``dpkg --remove --force-depends``), no display,
and everything present with Qt's offscreen platform.

Nothing of the app is installed in the container: this checkout and its interpreter are mounted read-only at their
own paths, so the Python side is the one under test and the system side is Debian's bare minimum plus the packages
the catalog names (stt_studio/system_check/libraries.py). The host-side tests (tests/test_system_check.py) hide one
library file at a time on this machine; here the package really is absent, with whatever else it brought.

Needs root and podman (packaging/container-test.sh --base-only sets podman up and makes the base image); the image
takes about a minute the first time (apt downloads), then each case a few seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stt_studio.system_check.libraries import CORE, XCB

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("STT_CONTAINER_WORK", "/var/tmp/stt-container-test"))
IMAGE = "localhost/stt-preflight:bookworm"
ENTRY = Path(sys.executable).parent / "stt-studio"
# What the window loads with a display (X11): the pre-flight refuses to start without any of these.
WINDOW_PACKAGES = sorted({library.apt for library in (*CORE, *XCB)})
# What the mounted interpreter itself links from the system (a Python built from source, as pyenv's, uses the
# system's OpenSSL; Debian's python3 package depends on it): not the pre-flight's business.
INTERPRETER_PACKAGES = ("libssl3", "ca-certificates")


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(WORK / "containers.conf"), "BUILDAH_ISOLATION": "chroot"}


@pytest.fixture(scope="module")
def image() -> str:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("needs root on Debian/Ubuntu (podman and a debootstrap base image)")
    if Path(sys.base_prefix) == Path("/usr"):
        pytest.skip("the interpreter is the system's own: it can't be mounted into another system")
    base = subprocess.run(["bash", str(REPO / "packaging" / "container-test.sh"), "--base-only"], cwd=REPO,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-3000:]
    packages = " ".join(sorted({*WINDOW_PACKAGES, "libpulse0", *INTERPRETER_PACKAGES}))
    build = subprocess.run(
        ["podman", "build", "--build-arg", "BASE_IMAGE=localhost/debian:bookworm", "--build-arg",
         f"PACKAGES={packages}", "-f", str(REPO / "packaging" / "Containerfile.preflight"), "-t", IMAGE,
         str(REPO / "packaging")],
        env=podman_env(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return IMAGE


def run_in(image: str, script: str, out: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``script`` (sh) in a fresh container of ``image``, with the checkout and its interpreter mounted read-only,
    ``out`` writable at /out, and the window's data in the container's own /tmp."""
    out.mkdir(parents=True, exist_ok=True)
    mounts = [f"{REPO}:{REPO}:ro", f"{sys.base_prefix}:{sys.base_prefix}:ro", f"{out}:/out"]
    env = {"HOME": "/tmp/home", "STT_DATA_DIR": "/tmp/data", "STT_CONFIG_DIR": "/tmp/config",
           "STT_MODELS_DIR": "/tmp/models", "WHISPER_MODEL_SIZE": "tiny.en", "WHISPER_DEVICE": "cpu",
           "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200", "ENTRY": str(ENTRY)}  # fmt: skip
    command = ["podman", "run", "--rm", "--network", "none"]
    for mount in mounts:
        command += ["-v", mount]
    for key, value in env.items():
        command += ["-e", f"{key}={value}"]
    return subprocess.run([*command, image, "sh", "-c", script], env=podman_env(), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def each_package_missing(image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One container: for each package the window needs, remove it, start the window with a display named, note
    what it said and its exit status, put the package back."""
    out = tmp_path_factory.mktemp("preflight")
    script = f"""
        for pkg in {" ".join(WINDOW_PACKAGES)}; do
            dpkg --remove --force-depends "$pkg" >/out/"$pkg".dpkg 2>&1
            DISPLAY=:0 "$ENTRY" gui >/out/"$pkg".said 2>&1
            echo $? >/out/"$pkg".rc
            dpkg -i /debs/"$pkg"_*.deb >>/out/"$pkg".dpkg 2>&1 || echo "could not put $pkg back" >&2
        done
    """
    proc = run_in(image, script, out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("package", WINDOW_PACKAGES)
def test_a_missing_package_is_named_with_the_command_that_installs_it(each_package_missing: Path,
                                                                       package: str) -> None:  # fmt: skip
    said = (each_package_missing / f"{package}.said").read_text()
    assert (each_package_missing / f"{package}.rc").read_text().strip() == "1", said
    assert "this system lacks libraries Qt needs:" in " ".join(said.split()), said
    assert package in packages_to_install(said), said  # with the others whose libraries it took along
    assert "sudo" not in said  # root, in the container
    assert "Traceback" not in said and "Qt platform plugin" not in said and "core dumped" not in said


def packages_to_install(said: str) -> list[str]:
    """The packages of the install command the message gives (on a line of its own)."""
    line = next(line for line in said.splitlines() if "apt-get install -y" in line)
    return line.split("apt-get install -y", 1)[1].split()


def test_the_packages_message_lists_only_what_is_missing(each_package_missing: Path) -> None:
    """A package whose removal took only its own library: the message names that package and no other (nothing
    present is asked for)."""
    said = (each_package_missing / "libxcb-cursor0.said").read_text()
    assert packages_to_install(said) == ["libxcb-cursor0"], said


def test_without_a_display_it_says_so_and_points_to_serve(image: str, tmp_path: Path) -> None:
    proc = run_in(image, '"$ENTRY" gui; echo "exit $?"', tmp_path)
    said = " ".join(proc.stdout.split() + proc.stderr.split())
    assert "exit 1" in said, said
    assert "STT Studio's window needs a display, and there is none" in said
    assert "`stt-studio serve` is the headless mode" in said
    assert "Traceback" not in said


def test_with_every_package_the_window_opens_offscreen(image: str, tmp_path: Path) -> None:
    """The whole app starts (its Valkey, its worker, the window listening for a second start), stays up, and quits
    on SIGTERM as from the menu."""
    script = """
        QT_QPA_PLATFORM=offscreen "$ENTRY" gui >/out/app.log 2>&1 &
        app=$!
        for i in $(seq 1 240); do
            [ -e /tmp/data/redis/valkey.pid ] && break
            kill -0 $app 2>/dev/null || break
            sleep 0.5
        done
        sleep 3
        if kill -0 $app 2>/dev/null; then echo "running"; else echo "exited"; fi
        ls /tmp/data/redis/valkey.pid
        kill -TERM $app
        wait $app
        echo "quit $?"
    """
    proc = run_in(image, script, tmp_path, timeout=300)
    log = (tmp_path / "app.log").read_text()
    assert "running" in proc.stdout and "/tmp/data/redis/valkey.pid" in proc.stdout, proc.stdout + proc.stderr + log
    assert "quit 0" in proc.stdout, proc.stdout + log
    assert "lacks libraries" not in log and "Traceback" not in log and "Playback is off" not in log, log
