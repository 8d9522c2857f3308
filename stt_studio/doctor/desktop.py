"""The desktop window's needs from the system: the libraries Qt loads and a display (the same check that
``stt-studio`` runs before it imports Qt). Never a failure: jobs, ``serve`` and the CLI don't need a window."""

from __future__ import annotations

from stt_studio.doctor.findings import DoctorContext, Finding
from stt_studio.system_check import desktop_check, is_root
from stt_studio.system_check.desktop import HEADLESS_HINT, how_to_install
from stt_studio.system_check.distro import this_distribution


def check_desktop_window(_ctx: DoctorContext) -> Finding:
    check = desktop_check()
    if check is None:
        return Finding("info", "checked on Linux only (Qt's macOS and Windows wheels carry their libraries)")
    distro = this_distribution()
    missing = check.missing + check.audio_missing
    fix = how_to_install(missing, distro, is_root()) if missing else ""
    playback = ""
    if check.audio_missing:
        files = ", ".join(lib.soname for lib in check.audio_missing)
        playback = f"; playback is off: {files} (PulseAudio's client, which Qt's player needs) is missing"
    if check.missing:
        files = ", ".join(lib.soname for lib in check.missing)
        return Finding("warn", f"the window can't start: the system lacks {files}{playback}", fix)
    if check.silent_display:
        return Finding("warn", f"nothing answers at {check.silent_display}: the window can't open{playback}. "
                       f"{HEADLESS_HINT}", fix or "Start the desktop session, or unset that variable.")  # fmt: skip
    if check.no_display:
        return Finding("warn" if playback else "info", f"no display (DISPLAY, WAYLAND_DISPLAY unset): the window can't "
                       f"open here{playback}. {HEADLESS_HINT}", fix)  # fmt: skip
    if playback:
        return Finding("warn", f"the window can start (Qt platform {check.platform}){playback}", fix)
    return Finding("ok", f"the window can start (Qt platform {check.platform}; its system libraries load)")
