"""Run a command on this machine as on a system that lacks some shared libraries: in a private mount namespace
where each library's file is /dev/null, so the dynamic loader (ours, and Qt's) fails on it as on a system without
the package. Needs root (``unshare --mount``), as CI and these machines have."""

from __future__ import annotations

import os
import re
import subprocess


def library_file(soname: str) -> str:
    """The file the dynamic loader would open for ``soname`` (from its cache)."""
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    found = re.search(rf"^\s+{re.escape(soname)} \(libc6,x86-64\) => (\S+)$", cache, re.MULTILINE)
    assert found, f"{soname} is not installed here: it must be present to be hidden"
    return os.path.realpath(found.group(1))


def without(sonames: list[str], command: list[str]) -> list[str]:
    """``command``, run where the libraries ``sonames`` read as empty files."""
    script = 'while [ "$1" != -- ]; do mount --bind /dev/null "$1" || exit 97; shift; done; shift; exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            *(library_file(soname) for soname in sonames), "--", *command]  # fmt: skip
