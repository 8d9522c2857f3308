"""Can the desktop window start here? Decided from the environment and a "does this library load" probe, before
Qt is imported: a missing library then gets one plain message with the install command, instead of an
ImportError traceback or Qt's abort ("Could not load the Qt platform plugin").

Pure: the environment and the probe are given, so every decision is tested on data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stt_studio.system_check.distro import Distribution, install_command
from stt_studio.system_check.libraries import AUDIO, CORE, PLATFORM_LIBRARIES, SystemLibrary

Loads = Callable[[str], bool]
"""Whether the library of this file name (``libxcb-cursor.so.0``) loads."""
Answers = Callable[[str, str], bool]
"""Whether the display server of a platform (``xcb``, ``:0``) accepts a connection."""

DISPLAY_VARIABLES = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY", "wayland-egl": "WAYLAND_DISPLAY"}
"""The platforms that draw on a display server, and the variable that names it; the others (offscreen, minimal,
vnc, eglfs, linuxfb) need none."""

HEADLESS_HINT = (
    "Without a display, `stt-studio serve` is the headless mode: the same queue and workers behind the REST API "
    "(port 8000; `stt-studio transcribe FILE` works too)."
)


@dataclass(frozen=True)
class DesktopCheck:
    platform: str | None
    """The Qt platform the window will use; None when none can be used."""
    tried: tuple[str, ...]
    """The platforms Qt will try, in order (from QT_QPA_PLATFORM, or the session)."""
    missing: tuple[SystemLibrary, ...]
    """Libraries the window needs that don't load (for the first platform with a display)."""
    no_display: bool
    """None of the platforms tried has its display (DISPLAY, WAYLAND_DISPLAY) set."""
    silent_display: str
    """``DISPLAY=:1`` when that display is set but nothing answers there (else "")."""
    audio_missing: tuple[SystemLibrary, ...]
    """Libraries only playback needs: without them the window opens, with playback off."""

    @property
    def can_start(self) -> bool:
        return self.platform is not None


def platforms_to_try(env: Mapping[str, str]) -> tuple[str, ...]:
    """Qt's order: QT_QPA_PLATFORM's list (``wayland;xcb``, options after ``:`` dropped); else Wayland first in a
    Wayland session, then X11 (XWayland)."""
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        names = (entry.split(":", 1)[0].strip() for entry in requested.split(";"))
        return tuple(name for name in names if name)
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return ("wayland", "xcb")
    return ("xcb",)


def has_display(platform: str, env: Mapping[str, str]) -> bool:
    variable = DISPLAY_VARIABLES.get(platform)
    return variable is None or bool(env.get(variable))


def check_desktop(env: Mapping[str, str], loads: Loads, answers: Answers) -> DesktopCheck:
    def missing_for(platform: str | None) -> tuple[SystemLibrary, ...]:
        needed = (*CORE, *PLATFORM_LIBRARIES.get(platform or "", ()))
        return tuple(lib for lib in needed if not loads(lib.soname))

    tried = platforms_to_try(env)
    audio_missing = tuple(lib for lib in AUDIO if not loads(lib.soname))
    with_display = [platform for platform in tried if has_display(platform, env)]
    if not with_display:
        return DesktopCheck(None, tried, missing_for(None), True, "", audio_missing)
    silent = ""
    for platform in with_display:  # Qt takes the first platform that loads and connects
        if missing_for(platform):
            continue
        variable = DISPLAY_VARIABLES.get(platform)
        if variable is None or answers(platform, env[variable]):
            return DesktopCheck(platform, tried, (), False, "", audio_missing)
        silent = silent or f"{variable}={env[variable]}"
    missing = () if silent else missing_for(with_display[0])
    return DesktopCheck(None, tried, missing, False, silent, audio_missing)


def how_to_install(libraries: tuple[SystemLibrary, ...], distro: Distribution, as_root: bool) -> str:
    """The command for this distribution, or (one it doesn't know) the files to look for."""
    if distro.manager is None:
        files = ", ".join(lib.soname for lib in libraries)
        return f"install the packages that provide {files} with your distribution's package manager"
    packages = [lib.package(distro.manager) for lib in libraries]
    return install_command(distro.manager, packages, as_root)


def describe_problem(check: DesktopCheck, distro: Distribution, as_root: bool) -> str:
    """The one message shown instead of the window (empty when it can start)."""
    if check.can_start:
        return ""
    lines = []
    if check.missing:
        files = ", ".join(lib.soname for lib in check.missing)
        playback = "".join(f" (and {lib.soname}, for playback)" for lib in check.audio_missing)
        lines += [
            f"STT Studio's window can't start: this system lacks libraries Qt needs: {files}{playback}.",
            f"Install them ({distro.name}):",
            f"    {how_to_install(check.missing + check.audio_missing, distro, as_root)}",
        ]
    if check.silent_display:
        lines.append(
            f"STT Studio's window can't open: nothing answers at {check.silent_display} (is the desktop session "
            "still running? Over SSH, `ssh -X` forwards one)."
        )
        lines.append(HEADLESS_HINT)
    elif check.no_display:
        lines.append(
            "STT Studio's window needs a display, and there is none: neither DISPLAY (X11) nor WAYLAND_DISPLAY "
            f"(Wayland) is set{_requested(check)}."
        )
        lines.append(HEADLESS_HINT)
    else:
        lines.append(
            "Then run stt-studio again. (On a server without a screen, `stt-studio serve` runs headless and needs "
            "none of these.)"
        )
    return "\n".join(lines)


def _requested(check: DesktopCheck) -> str:
    if check.tried in (("xcb",), ("wayland", "xcb")):
        return ""
    return f" (QT_QPA_PLATFORM={';'.join(check.tried)} asks for a display)"


def describe_playback_off(libraries: tuple[SystemLibrary, ...], distro: Distribution, as_root: bool) -> str:
    """One line: playback is off, why, and how to turn it on (empty when nothing is missing)."""
    if not libraries:
        return ""
    files = ", ".join(lib.soname for lib in libraries)
    return (
        f"Playback is off: the audio library {files} (PulseAudio's client, which Qt's player needs) is missing. "
        f"To turn it on: {how_to_install(libraries, distro, as_root)}"
    )
