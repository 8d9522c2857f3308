"""What the system must provide beyond Python packages: the libraries Qt's window and player load, and a display.
Checked before Qt is imported (``stt-studio`` / ``gui``) and reported by ``doctor``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from stt_studio.system_check.desktop import DesktopCheck, check_desktop, describe_playback_off, describe_problem
from stt_studio.system_check.distro import Distribution, this_distribution
from stt_studio.system_check.libraries import known_library
from stt_studio.system_check.probe import display_answers, library_loads

__all__ = [
    "DesktopCheck",
    "Distribution",
    "describe_problem",
    "desktop_check",
    "is_root",
    "playback_off_reason",
    "preflight",
]


def is_root() -> bool:
    return os.geteuid() == 0


def desktop_check(env: Mapping[str, str] | None = None) -> DesktopCheck | None:
    """This machine's check; None off Linux (macOS and Windows wheels of Qt carry what they need)."""
    if not sys.platform.startswith("linux"):
        return None
    return check_desktop(os.environ if env is None else env, library_loads, display_answers)


def preflight() -> tuple[str, str]:
    """(the problem that stops the window, a note that doesn't); each empty when there is none."""
    check = desktop_check()
    if check is None:
        return "", ""
    distro = this_distribution()
    return describe_problem(check, distro, is_root()), describe_playback_off(check.audio_missing, distro, is_root())


def playback_off_reason(error: ImportError) -> tuple[str, str]:
    """Why QtMultimedia didn't import, for the player bar: a few words, and the whole reason with the package and
    the command when the library is one this knows."""
    library = known_library(str(error))
    if library is None:
        return "Playback is off: Qt's multimedia module doesn't load", f"Qt's multimedia module doesn't load: {error}"
    full = describe_playback_off((library,), this_distribution(), is_root())
    return f"Playback is off: {library.soname} is missing", full
