"""Does a system library load? Asked of the dynamic loader itself (dlopen), as Qt will ask it: it honours
LD_LIBRARY_PATH and the loader's cache, and a library whose own dependencies are missing fails here too. Does the
display answer? Asked as Qt will: libxcb's own connect for X11, the compositor's socket for Wayland."""

from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path


def library_loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def display_answers(platform: str, display: str) -> bool:
    """Whether the display server that ``platform`` (xcb, wayland) would draw on accepts a connection."""
    if platform == "xcb":
        return _x11_answers(display)
    return _wayland_answers(display)


def _x11_answers(display: str) -> bool:
    xcb = ctypes.CDLL("libxcb.so.1")
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)  # never NULL: a failed one carries its error
    failed = int(xcb.xcb_connection_has_error(connection))
    xcb.xcb_disconnect(connection)
    return failed == 0


def _wayland_answers(display: str) -> bool:
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"))
    path = Path(display) if display.startswith("/") else runtime / display
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(2.0)
        try:
            connection.connect(str(path))
        except OSError:
            return False
    return True
