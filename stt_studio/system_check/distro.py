"""Which Linux this is (``/etc/os-release``), its package manager, and the command that installs packages."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from stt_studio.system_check.libraries import PackageManager

OS_RELEASE_FILES = (Path("/etc/os-release"), Path("/usr/lib/os-release"))

MANAGERS: dict[str, PackageManager] = {
    "debian": "apt", "ubuntu": "apt",
    "fedora": "dnf", "rhel": "dnf", "centos": "dnf",
    "arch": "pacman",
    "suse": "zypper", "opensuse": "zypper",
}  # fmt: skip
"""os-release IDs (of the distribution or of one it is like) and their package manager; derivatives (Mint, Pop!_OS,
Rocky, Manjaro, Tumbleweed, …) name their parent in ID_LIKE."""


@dataclass(frozen=True)
class Distribution:
    name: str
    """PRETTY_NAME, for the message (``Debian GNU/Linux 12 (bookworm)``); "Linux" when unknown."""
    manager: PackageManager | None
    """None: a distribution this doesn't know: the message names the library files instead of packages."""


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines, shell-quoted values unquoted; comments and malformed lines skipped."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key] = words[0] if words else ""
    return fields


def distribution(os_release: str) -> Distribution:
    fields = parse_os_release(os_release)
    ids = [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]
    manager = next((MANAGERS[i] for i in (_family(i) for i in ids) if i in MANAGERS), None)
    return Distribution(fields.get("PRETTY_NAME") or fields.get("NAME") or "Linux", manager)


def _family(os_id: str) -> str:
    # openSUSE's IDs are "opensuse-leap", "opensuse-tumbleweed"; SLES says "sles" and is like "suse"
    return "opensuse" if os_id.startswith("opensuse") else os_id.lower()


def this_distribution(files: tuple[Path, ...] = OS_RELEASE_FILES) -> Distribution:
    for path in files:
        try:
            return distribution(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return Distribution("Linux", None)


def install_command(manager: PackageManager, packages: list[str], as_root: bool) -> str:
    """The command a user types to install ``packages`` (sudo unless already root: minimal containers lack it)."""
    unique = list(dict.fromkeys(packages))
    words = {
        "apt": ["apt-get", "install", "-y"],
        "dnf": ["dnf", "install", "-y"],
        "pacman": ["pacman", "-S", "--needed"],
        "zypper": ["zypper", "install"],
    }[manager]
    return shlex.join([*([] if as_root else ["sudo"]), *words, *unique])
