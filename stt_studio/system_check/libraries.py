"""The system libraries the desktop window loads, and the package that brings each on each kind of Linux.

The lists come from the installed PySide6 (``readelf -d``): ``libQt6Gui``/``libQt6Widgets``/``libQt6DBus`` and
``libQt6Network`` (the window's single-instance socket; Kerberos and Brotli, which a minimal Debian lacks) need
CORE on any platform (offscreen too), the X11 plugin ``platforms/libqxcb.so`` (with ``libQt6XcbQpa``) needs XCB,
the Wayland plugin ``platforms/libqwayland.so`` needs WAYLAND, and ``libQt6Multimedia`` (the player) needs AUDIO.
Libraries every Linux system has (libc, libstdc++, zlib) and those PySide6 ships (ICU) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PackageManager = Literal["apt", "dnf", "pacman", "zypper"]


@dataclass(frozen=True)
class SystemLibrary:
    soname: str
    """The file name the dynamic loader looks for (``libxcb-cursor.so.0``)."""
    apt: str
    dnf: str
    pacman: str
    zypper: str

    def package(self, manager: PackageManager) -> str:
        """The package that installs this library with ``manager``."""
        packages: dict[PackageManager, str] = {
            "apt": self.apt, "dnf": self.dnf, "pacman": self.pacman, "zypper": self.zypper,
        }  # fmt: skip
        return packages[manager]


def _table(rows: str) -> tuple[SystemLibrary, ...]:
    """Rows of: soname, then the package that brings it on Debian/Ubuntu (apt), Fedora/RHEL (dnf), Arch (pacman)
    and openSUSE (zypper)."""
    return tuple(SystemLibrary(*line.split()) for line in rows.splitlines() if line.strip())


CORE = _table("""
    libEGL.so.1              libegl1              libglvnd-egl         libglvnd             libEGL1
    libGL.so.1               libgl1               libglvnd-glx         libglvnd             libGL1
    libfontconfig.so.1       libfontconfig1       fontconfig           fontconfig           libfontconfig1
    libfreetype.so.6         libfreetype6         freetype             freetype2            libfreetype6
    libxkbcommon.so.0        libxkbcommon0        libxkbcommon         libxkbcommon         libxkbcommon0
    libglib-2.0.so.0         libglib2.0-0         glib2                glib2                libglib-2_0-0
    libgthread-2.0.so.0      libglib2.0-0         glib2                glib2                libgthread-2_0-0
    libdbus-1.so.3           libdbus-1-3          dbus-libs            dbus                 libdbus-1-3
    libX11.so.6              libx11-6             libX11               libx11               libX11-6
    libgssapi_krb5.so.2      libgssapi-krb5-2     krb5-libs            krb5                 krb5
    libbrotlidec.so.1        libbrotli1           libbrotli            brotli               libbrotlidec1
    libbrotlicommon.so.1     libbrotli1           libbrotli            brotli               libbrotlicommon1
""")

# libxcb-cursor: Qt 6.5 and later need it and many desktop installs lack it (Qt then aborts: "Could not load the
# Qt platform plugin")
XCB = _table("""
    libxcb.so.1              libxcb1              libxcb               libxcb               libxcb1
    libX11-xcb.so.1          libx11-xcb1          libX11-xcb           libx11               libX11-xcb1
    libxkbcommon-x11.so.0    libxkbcommon-x11-0   libxkbcommon-x11     libxkbcommon-x11     libxkbcommon-x11-0
    libxcb-cursor.so.0       libxcb-cursor0       xcb-util-cursor      xcb-util-cursor      libxcb-cursor0
    libxcb-icccm.so.4        libxcb-icccm4        xcb-util-wm          xcb-util-wm          libxcb-icccm4
    libxcb-util.so.1         libxcb-util1         xcb-util             xcb-util             libxcb-util1
    libxcb-image.so.0        libxcb-image0        xcb-util-image       xcb-util-image       libxcb-image0
    libxcb-keysyms.so.1      libxcb-keysyms1      xcb-util-keysyms     xcb-util-keysyms     libxcb-keysyms1
    libxcb-render-util.so.0  libxcb-render-util0  xcb-util-renderutil  xcb-util-renderutil  libxcb-render-util0
    libxcb-randr.so.0        libxcb-randr0        libxcb               libxcb               libxcb-randr0
    libxcb-render.so.0       libxcb-render0       libxcb               libxcb               libxcb-render0
    libxcb-shape.so.0        libxcb-shape0        libxcb               libxcb               libxcb-shape0
    libxcb-shm.so.0          libxcb-shm0          libxcb               libxcb               libxcb-shm0
    libxcb-sync.so.1         libxcb-sync1         libxcb               libxcb               libxcb-sync1
    libxcb-xfixes.so.0       libxcb-xfixes0       libxcb               libxcb               libxcb-xfixes0
    libxcb-xkb.so.1          libxcb-xkb1          libxcb               libxcb               libxcb-xkb1
""")

WAYLAND = _table("""
    libwayland-client.so.0   libwayland-client0   libwayland-client    wayland              libwayland-client0
    libwayland-cursor.so.0   libwayland-cursor0   libwayland-cursor    wayland              libwayland-cursor0
""")

# QtMultimedia (the player) links the PulseAudio client; PipeWire systems provide it too (pipewire-pulse)
AUDIO = _table("""
    libpulse.so.0            libpulse0            pulseaudio-libs      libpulse             libpulse0
""")

PLATFORM_LIBRARIES: dict[str, tuple[SystemLibrary, ...]] = {
    "xcb": XCB,
    "wayland": WAYLAND,
    "wayland-egl": WAYLAND,
}
"""What each Qt platform plugin needs beyond CORE (offscreen, minimal, vnc, … need nothing more)."""


def known_library(text: str) -> SystemLibrary | None:
    """The library of this catalog that ``text`` (a loader's error message) names, if any."""
    return next((lib for lib in (*CORE, *XCB, *WAYLAND, *AUDIO) if lib.soname in text), None)
