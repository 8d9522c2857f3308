"""Does a system library load? Asked of the dynamic loader itself (dlopen), as Qt will ask it: it honours
LD_LIBRARY_PATH and the loader's cache, and a library whose own dependencies are missing fails here too."""

from __future__ import annotations

import ctypes


def library_loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True
