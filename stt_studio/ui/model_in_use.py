"""Which Whisper model and device really run, for the window's every mention of them.

The workers report what they loaded (``WorkerInfo``): offline, ``large-v3`` asked for and not downloaded is the
bundled ``base``. For a model no worker has loaded yet (another one chosen for the next files), the model catalog
says beforehand what will stand in for it. No Qt here: the views ask ``ModelsInUse`` and show its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stt_studio.engine.model_catalog import offline_stand_in
from stt_studio.jobs.models import ModelDownload, WorkerInfo


@dataclass(frozen=True)
class ModelInUse:
    name: str
    """The model that runs (or ran)."""
    reason: str | None = None
    """Why it is not the one asked for: "large-v3 is not available offline"."""

    @property
    def label(self) -> str:
        return f"{self.name} — {self.reason}" if self.reason else self.name

    @classmethod
    def of(cls, info: WorkerInfo) -> ModelInUse:
        return cls(info.model, info.unavailable_reason if info.requested_model else None)


def downloads_label(downloads: list[ModelDownload]) -> tuple[str, str] | None:
    """The status bar's model label while workers download a model, and its tooltip; None when none does."""
    if not downloads:
        return None
    first = downloads[0]
    mb = 1_000_000
    tip = "\n".join(
        f"Downloading {d.model} from the Hugging Face hub: {d.done_bytes / mb:.0f} of {d.total_bytes / mb:.0f} MB, "
        f"{d.bytes_per_second / mb:.1f} MB/s" for d in downloads
    )
    return f"Downloading {first.model} {first.fraction * 100:.0f} %", tip


def device_label(info: WorkerInfo) -> str:
    """The device a worker runs on, and why when it is not the one asked for."""
    device = "GPU (CUDA)" if info.device == "cuda" else "CPU"
    text = f"{device}, {info.compute_type}"
    if info.device == "cpu" and info.requested_device == "cuda":
        text += " — no CUDA GPU was found on this machine"
    return text


def status_bar_device(infos: list[WorkerInfo]) -> tuple[str, str]:
    """The status bar's device (short: the bar is shared) and its tooltip: each GPU in use (one entry however many
    workers share it) with its name, compute type, memory and where VAD and alignment run, then the notices."""
    gpus: dict[int | None, WorkerInfo] = {}
    for info in infos:
        if info.device == "cuda":
            gpus.setdefault(info.gpu_index, info)
    notices = list(dict.fromkeys(n for info in infos for n in info.notices))
    if not gpus:
        return (f"Device: CPU ({infos[0].compute_type})" if infos else "Device: —"), "\n".join(notices)
    used = sum(i.gpu_memory_used_mb or 0.0 for i in gpus.values()) / 1024
    total = sum(i.gpu_memory_total_mb or 0.0 for i in gpus.values()) / 1024
    types = "/".join(dict.fromkeys(i.compute_type for i in gpus.values()))
    text = f"GPU: {types}" if len(gpus) == 1 else f"{len(gpus)} GPUs: {types}"
    if total:
        text += f" · {used:.1f}/{total:.0f} GB"
    lines = []
    for index, info in sorted(gpus.items(), key=lambda item: -1 if item[0] is None else item[0]):
        line = f"GPU {index if index is not None else 0}: {info.gpu_name or 'CUDA'}, {info.compute_type}"
        if info.gpu_memory_total_mb:
            line += f", {(info.gpu_memory_used_mb or 0) / 1024:.1f} of {info.gpu_memory_total_mb / 1024:.0f} GB used"
        if info.torch_device == "cpu":
            line += "; VAD, alignment and diarization on the CPU"
        lines.append(line)
    return text, "\n".join([*lines, *notices])


class ModelsInUse:
    """The model that runs for each model asked for: the workers' reports first, else the catalog's forecast."""

    def __init__(self, models_dir: Path | None = None, *, offline: bool = False) -> None:
        """``models_dir``: this machine's models (None for a server's queue, whose disk this app cannot see)."""
        self._models_dir = models_dir
        self._offline = offline
        self._infos: tuple[WorkerInfo, ...] = ()
        self._forecasts: dict[str, ModelInUse] = {}

    def use_reports(self, infos: list[WorkerInfo]) -> bool:
        """Take the workers' latest reports; True when what they say has changed."""
        before = [(i.model, i.requested_model, i.unavailable_reason) for i in self._infos]
        self._infos = tuple(infos)
        return before != [(i.model, i.requested_model, i.unavailable_reason) for i in self._infos]

    def forecast_from(self, models_dir: Path | None) -> None:
        """Forecast from this folder of models from now on (None: a server's queue, whose disk this app can't see)."""
        self._models_dir = models_dir
        self._forecasts.clear()

    def for_model(self, spec: str) -> ModelInUse:
        for info in self._infos:
            if spec == info.requested_model:
                return ModelInUse.of(info)
            if spec == info.model:
                return ModelInUse(spec)
        if spec not in self._forecasts:
            stand_in = None
            if self._models_dir is not None:
                stand_in = offline_stand_in(spec, self._models_dir, offline=self._offline)
            self._forecasts[spec] = ModelInUse(*stand_in) if stand_in else ModelInUse(spec)
        return self._forecasts[spec]
