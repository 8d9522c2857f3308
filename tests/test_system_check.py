"""The pre-flight before Qt starts: which libraries and display the window needs, said per distribution, and the
real ``stt-studio`` entry point with a system library really hidden (a private mount namespace binds /dev/null
over the library's file, so the dynamic loader fails on it as on a system without the package)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stt_studio.doctor import DoctorContext
from stt_studio.doctor.desktop import check_desktop_window
from stt_studio.settings import Settings
from stt_studio.system_check import playback_off_reason
from stt_studio.system_check.desktop import (
    HEADLESS_HINT,
    check_desktop,
    describe_playback_off,
    describe_problem,
    how_to_install,
    platforms_to_try,
)
from stt_studio.system_check.distro import Distribution, distribution, parse_os_release
from stt_studio.system_check.libraries import AUDIO, CORE, WAYLAND, XCB
from stt_studio.system_check.probe import display_answers, library_loads
from tests import live
from tests.hidden_libraries import without

DEBIAN = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
"""
OS_RELEASES = {
    "debian": DEBIAN,
    "ubuntu": 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nID_LIKE=debian\n',
    "mint": 'PRETTY_NAME="Linux Mint 22"\nID=linuxmint\nID_LIKE="ubuntu debian"\n',
    "fedora": 'PRETTY_NAME="Fedora Linux 41 (Workstation Edition)"\nID=fedora\n',
    "rocky": 'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n',
    "arch": 'PRETTY_NAME="Arch Linux"\nID=arch\n',
    "manjaro": 'PRETTY_NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\n',
    "tumbleweed": 'PRETTY_NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n',
    "nixos": 'PRETTY_NAME="NixOS 24.05 (Uakari)"\nID=nixos\n',
}
CURSOR = {  # the command for libxcb-cursor.so.0, as a user (sudo)
    "debian": "sudo apt-get install -y libxcb-cursor0",
    "ubuntu": "sudo apt-get install -y libxcb-cursor0",
    "mint": "sudo apt-get install -y libxcb-cursor0",
    "fedora": "sudo dnf install -y xcb-util-cursor",
    "rocky": "sudo dnf install -y xcb-util-cursor",
    "arch": "sudo pacman -S --needed xcb-util-cursor",
    "manjaro": "sudo pacman -S --needed xcb-util-cursor",
    "tumbleweed": "sudo zypper install libxcb-cursor0",
    "nixos": "install the packages that provide libxcb-cursor.so.0 with your distribution's package manager",
}
CURSOR_AND_PULSE = {  # and for libxcb-cursor.so.0 with libpulse.so.0
    "debian": "sudo apt-get install -y libxcb-cursor0 libpulse0",
    "ubuntu": "sudo apt-get install -y libxcb-cursor0 libpulse0",
    "mint": "sudo apt-get install -y libxcb-cursor0 libpulse0",
    "fedora": "sudo dnf install -y xcb-util-cursor pulseaudio-libs",
    "rocky": "sudo dnf install -y xcb-util-cursor pulseaudio-libs",
    "arch": "sudo pacman -S --needed xcb-util-cursor libpulse",
    "manjaro": "sudo pacman -S --needed xcb-util-cursor libpulse",
    "tumbleweed": "sudo zypper install libxcb-cursor0 libpulse0",
    "nixos": "install the packages that provide libxcb-cursor.so.0, libpulse.so.0 with your distribution's package "
    "manager",
}
X11 = {"DISPLAY": ":0"}


def answering(_platform: str, _display: str) -> bool:
    return True


# --- decisions, on data ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(OS_RELEASES))
def test_the_install_command_is_the_distributions_own(name: str) -> None:
    distro = distribution(OS_RELEASES[name])
    check = check_desktop(X11, lambda soname: soname not in ("libxcb-cursor.so.0", "libpulse.so.0"), answering)
    message = describe_problem(check, distro, as_root=False)
    assert message.startswith("STT Studio's window can't start: this system lacks libraries Qt needs: "
                              "libxcb-cursor.so.0 (and libpulse.so.0, for playback).")  # fmt: skip
    assert f"Install them ({distro.name}):\n    {CURSOR_AND_PULSE[name]}\n" in message  # all in one command
    assert "`stt-studio serve` runs headless" in message
    assert how_to_install(check.missing, distro, as_root=False) == CURSOR[name]


def test_root_gets_the_command_without_sudo() -> None:
    check = check_desktop(X11, lambda soname: soname != "libxcb-cursor.so.0", answering)
    assert "\n    apt-get install -y libxcb-cursor0\n" in describe_problem(check, distribution(DEBIAN), as_root=True)


def test_os_release_quotes_comments_and_unknown_systems() -> None:
    assert parse_os_release('# comment\nID="opensuse-leap"\nNAME=\'openSUSE Leap\'\nbroken line\nEMPTY=\n') == {
        "ID": "opensuse-leap", "NAME": "openSUSE Leap", "EMPTY": "",
    }  # fmt: skip
    assert distribution('ID="opensuse-leap"\nID_LIKE="suse opensuse"\n').manager == "zypper"
    assert distribution('ID=sles\nID_LIKE="suse"\n').manager == "zypper"
    assert distribution("") == Distribution("Linux", None)


def test_no_display_says_so_with_the_headless_mode() -> None:
    check = check_desktop({}, lambda _soname: True, answering)
    assert not check.can_start and check.no_display and not check.missing
    message = describe_problem(check, distribution(DEBIAN), as_root=False)
    assert message == (
        "STT Studio's window needs a display, and there is none: neither DISPLAY (X11) nor WAYLAND_DISPLAY "
        f"(Wayland) is set.\n{HEADLESS_HINT}"
    )
    assert "`stt-studio serve` is the headless mode" in HEADLESS_HINT
    # an explicit platform that needs a display says which one asked for it
    asked = describe_problem(
        check_desktop({"QT_QPA_PLATFORM": "wayland"}, lambda _s: True, answering), distribution(DEBIAN), False
    )
    assert "(QT_QPA_PLATFORM=wayland asks for a display)" in asked


def test_offscreen_needs_no_display_nor_the_x11_libraries() -> None:
    check = check_desktop(
        {"QT_QPA_PLATFORM": "offscreen"}, lambda soname: soname.startswith("libxcb") is False, answering
    )
    assert check.can_start and check.platform == "offscreen" and describe_problem(check, distribution(""), False) == ""
    # Qt's own libraries are needed by every platform, offscreen too
    check = check_desktop({"QT_QPA_PLATFORM": "offscreen"}, lambda soname: soname != "libEGL.so.1", answering)
    assert not check.can_start and [lib.soname for lib in check.missing] == ["libEGL.so.1"]


def test_a_wayland_session_falls_back_to_x11_as_qt_does() -> None:
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert platforms_to_try(env) == ("wayland", "xcb")
    assert platforms_to_try({"QT_QPA_PLATFORM": "wayland;xcb:option=1"}) == ("wayland", "xcb")
    no_wayland_client = check_desktop(env, lambda soname: soname != "libwayland-client.so.0", answering)
    assert no_wayland_client.can_start and no_wayland_client.platform == "xcb"
    # Wayland only (no XWayland): its missing library is the one named
    only_wayland = check_desktop(
        {"WAYLAND_DISPLAY": "wayland-0"}, lambda soname: soname != "libwayland-client.so.0", answering
    )
    assert not only_wayland.can_start and [lib.apt for lib in only_wayland.missing] == ["libwayland-client0"]


def test_a_display_that_does_not_answer_is_said_before_qt_aborts_on_it() -> None:
    silent = check_desktop(X11, lambda _soname: True, lambda _platform, _display: False)
    assert not silent.can_start and silent.silent_display == "DISPLAY=:0" and not silent.missing
    message = describe_problem(silent, distribution(DEBIAN), as_root=False)
    assert message.startswith("STT Studio's window can't open: nothing answers at DISPLAY=:0")
    assert message.endswith(HEADLESS_HINT)
    # a Wayland session whose compositor is gone falls back to XWayland, as Qt does
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert check_desktop(env, lambda _s: True, lambda platform, _d: platform == "xcb").platform == "xcb"


def test_the_display_probe_asks_a_real_x_server() -> None:
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    try:
        with os.fdopen(read) as chosen:
            display = f":{chosen.readline().strip()}"  # written once the server listens
        assert display_answers("xcb", display)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert not display_answers("xcb", display)
    assert not display_answers("wayland", "stt-studio-no-such-compositor")


def test_every_library_qt_links_is_in_the_catalog() -> None:
    """The catalog against the installed PySide6 itself: a Qt update that links a new system library fails here."""
    import PySide6

    qt = Path(PySide6.__file__ or "").parent / "Qt"
    bundled = {path.name for path in (qt / "lib").iterdir()}
    base = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libz.so.1",
            "libzstd.so.1", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libresolv.so.2"}  # fmt: skip
    catalog = {lib.soname for lib in (*CORE, *XCB, *WAYLAND, *AUDIO)}
    for binary in ("lib/libQt6Gui.so.6", "lib/libQt6Widgets.so.6", "lib/libQt6DBus.so.6", "lib/libQt6Core.so.6",
                   "plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6", "plugins/platforms/libqwayland.so",
                   "lib/libQt6Multimedia.so.6", "lib/libQt6MultimediaWidgets.so.6",
                   "lib/libQt6Network.so.6"):  # fmt: skip
        dynamic = subprocess.run(["readelf", "-d", str(qt / binary)], capture_output=True, text=True, check=True)
        needed = set(re.findall(r"\(NEEDED\).*\[(.+)\]", dynamic.stdout))
        assert needed - bundled - base <= catalog, (binary, needed - bundled - base - catalog)


def test_playback_off_names_the_library_and_its_package() -> None:
    error = ImportError("libpulse.so.0: cannot open shared object file: No such file or directory")
    short, reason = playback_off_reason(error)
    assert short == "Playback is off: libpulse.so.0 is missing"
    assert reason.startswith("Playback is off: the audio library libpulse.so.0 (PulseAudio's client")
    assert reason.endswith("libpulse0") and "install" in reason
    assert describe_playback_off(AUDIO, distribution(OS_RELEASES["fedora"]), as_root=False).endswith(
        "To turn it on: sudo dnf install -y pulseaudio-libs"
    )
    assert describe_playback_off((), distribution(DEBIAN), as_root=False) == ""
    unknown = playback_off_reason(ImportError("libFoo.so.9: cannot open shared object file"))
    assert unknown == ("Playback is off: Qt's multimedia module doesn't load",
                       "Qt's multimedia module doesn't load: libFoo.so.9: cannot open shared object file")  # fmt: skip


def test_the_probe_asks_the_dynamic_loader() -> None:
    assert library_loads("libc.so.6")
    assert not library_loads("libstt-studio-no-such-library.so.1")


def test_doctor_reports_the_window(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    ctx = DoctorContext(settings)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert check_desktop_window(ctx).status == "ok"
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    headless = check_desktop_window(ctx)
    assert headless.status == "info" and "`stt-studio serve` is the headless mode" in headless.detail
    monkeypatch.setenv("DISPLAY", ":7331")  # no X server there
    silent = check_desktop_window(ctx)
    assert silent.status == "warn" and silent.detail.startswith("nothing answers at DISPLAY=:7331")


# --- the real entry point, a library really missing -------------------------------------------------------------------
def entry_point() -> str:
    return str(Path(sys.executable).parent / "stt-studio")


def window_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM",
                                                             "XDG_SESSION_TYPE")}  # fmt: skip
    env.update(STT_DATA_DIR=str(tmp_path / "data"), STT_CONFIG_DIR=str(tmp_path / "config"), **extra)
    return env


def test_without_a_display_the_window_says_so_and_points_to_serve(tmp_path: Path) -> None:
    proc = subprocess.run([entry_point()], env=window_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "STT Studio's window needs a display, and there is none" in proc.stderr
    assert "`stt-studio serve` is the headless mode" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "data").exists()  # nothing was started


def test_a_missing_x11_library_is_named_with_its_package_and_command(tmp_path: Path) -> None:
    command = without(["libxcb-cursor.so.0"], [entry_point(), "gui"])
    proc = subprocess.run(command, env=window_env(tmp_path, DISPLAY=":99"), capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    said = " ".join(proc.stderr.split())  # rich may wrap the lines
    assert "this system lacks libraries Qt needs: libxcb-cursor.so.0." in said, proc.stderr
    assert "apt-get install -y libxcb-cursor0" in said
    assert "Traceback" not in proc.stderr and "Qt platform plugin" not in proc.stderr


def test_without_the_audio_library_the_window_opens_with_playback_off(tmp_path: Path, settings: Settings) -> None:
    """The one slow test: the whole app starts offscreen (its Valkey and a worker) with libpulse.so.0 hidden."""
    env = live.service_env(tmp_path / "data", settings.resolved_models_dir, QT_QPA_PLATFORM="offscreen",
                           STT_CONFIG_DIR=str(tmp_path / "config"))  # fmt: skip
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        app = subprocess.Popen(without(["libpulse.so.0"], [entry_point(), "gui"]), env=env, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        live.wait_for(lambda: (tmp_path / "data" / "redis" / "valkey.pid").exists() or app.poll() is not None, 120,
                      "the window's Valkey")  # fmt: skip
        live.wait_for(lambda: "Playback is off" in log.read_text() or app.poll() is not None, 30, "the note")
        assert app.poll() is None, log.read_text()
        said = " ".join(log.read_text().split())
        assert "Playback is off: the audio library libpulse.so.0" in said and "apt-get install -y libpulse0" in said
        assert "Traceback" not in said
    finally:
        live.stop(app, timeout=60)
    # the player bar itself, in the same namespace: the reason on the bar, its controls off
    probe = ("from PySide6.QtWidgets import QApplication; app = QApplication([]); "
             "from stt_studio.ui.views.player import PlayerBar; bar = PlayerBar(); bar.load(None); "
             "print(bar.message_label.text()); print(bar.message_label.toolTip());"
             "print(bar.play_button.isEnabled(), bar.is_playing())")  # fmt: skip
    bar = subprocess.run(without(["libpulse.so.0"], [sys.executable, "-c", probe]), env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert bar.returncode == 0, bar.stderr
    text, tooltip, state = bar.stdout.splitlines()[-3:]
    assert text == "Playback is off: libpulse.so.0 is missing" and state == "False False"
    assert tooltip.startswith("Playback is off: the audio library libpulse.so.0") and "libpulse0" in tooltip
