"""The desktop entry (applications menu item) and icon of this user, in the XDG folders (Linux desktops).

``install`` writes ``$XDG_DATA_HOME/applications/stt-studio.desktop``, whose ``Exec`` is the absolute path of
the ``stt-studio`` command of the Python environment running now (a venv, pipx or ``uv tool``), and the icon as
``$XDG_DATA_HOME/icons/hicolor/scalable/apps/stt-studio.svg``; ``remove`` deletes both.
``packaging/stt-studio.desktop`` is ``entry_text(["stt-studio"])``, for packagers who put the command on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

APP_ID = "stt-studio"
DESKTOP_FILE = f"{APP_ID}.desktop"
ICON_FILE = f"{APP_ID}.svg"
MIME_TYPES = ("audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp4", "audio/flac", "audio/ogg", "audio/webm",
              "video/mp4", "video/x-matroska", "video/quicktime")  # fmt: skip


class DesktopInstallError(Exception):
    """Why the entry can't be installed here, in one line."""


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (as the spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def entry_path() -> Path:
    return data_home() / "applications" / DESKTOP_FILE


def icon_path() -> Path:
    return data_home() / "icons" / "hicolor" / "scalable" / "apps" / ICON_FILE


def icon_svg() -> bytes:
    """The app's icon, from the package's resources."""
    return resources.files("stt_studio.ui").joinpath("resources", ICON_FILE).read_bytes()


def launcher_command() -> list[str]:
    """How to start this installation: its ``stt-studio`` script beside the running Python, else ``python -m``."""
    script = Path(sys.executable).parent / ("stt-studio.exe" if sys.platform == "win32" else "stt-studio")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "stt_studio"]


_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_argument(arg: str) -> str:
    """Quote one argument of an Exec key (Desktop Entry spec, "The Exec key"), then escape it as a string value."""
    if any(c in _RESERVED for c in arg):
        arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return arg.replace("\\", "\\\\")


def entry_text(command: Sequence[str]) -> str:
    """The .desktop file that runs ``command gui`` on the files it is given."""
    exec_line = " ".join(_exec_argument(a) for a in [*command, "gui"]) + " %F"
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Name=STT Studio",
        "GenericName=Speech to Text",
        "Comment=Transcribe audio and video with WhisperX on your own GPU",
        f"Exec={exec_line}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "StartupNotify=true",
        "Categories=AudioVideo;Audio;",
        "Keywords=transcription;transcribe;speech;whisper;subtitles;diarization;",
        "MimeType=" + "".join(f"{m};" for m in MIME_TYPES),
    ]
    if len(command) == 1 and os.path.isabs(command[0]):  # menus hide the entry once the command is uninstalled
        lines.insert(6, "TryExec=" + command[0].replace("\\", "\\\\"))
    return "\n".join(lines) + "\n"


def _refresh_menu_caches(applications: Path) -> None:
    """Update the MIME-type cache when the tool exists; menus pick the new file up without it too."""
    tool = shutil.which("update-desktop-database")
    if tool is not None:
        subprocess.run([tool, "-q", str(applications)], check=False, timeout=30, capture_output=True)


def install(command: Sequence[str] | None = None) -> list[Path]:
    """Write the entry and the icon for this user; returns the paths written."""
    if sys.platform in ("win32", "darwin"):
        raise DesktopInstallError(
            "Desktop entries are for Linux desktops (freedesktop.org); on macOS and Windows start STT Studio "
            "with the stt-studio command."
        )
    entry, icon = entry_path(), icon_path()
    entry.parent.mkdir(parents=True, exist_ok=True)
    icon.parent.mkdir(parents=True, exist_ok=True)
    icon.write_bytes(icon_svg())
    entry.write_text(entry_text(command or launcher_command()), encoding="utf-8")
    entry.chmod(0o755)  # some desktops (GNOME's "untrusted launcher") want it executable
    _refresh_menu_caches(entry.parent)
    return [entry, icon]


def remove() -> list[Path]:
    """Delete the entry and the icon that ``install`` wrote; returns those that existed."""
    removed = []
    for path in (entry_path(), icon_path()):
        if path.exists():
            path.unlink()
            removed.append(path)
    if removed:
        _refresh_menu_caches(entry_path().parent)
    return removed
