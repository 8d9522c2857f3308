"""Which model to suggest for this machine, and what each one offers here: its download, the speed measured by
the probe (scaled by the model's cost) and one line on its quality. Plain logic: the welcome dialog shows it."""

from __future__ import annotations

from dataclasses import dataclass

from stt_studio.engine.device import DeviceFacts, model_figures
from stt_studio.engine.model_catalog import human_size, known_model
from stt_studio.engine.models import FALLBACK_MODEL
from stt_studio.engine.speed_probe import SpeedProbe, expected_real_time_factor

BUNDLED_MODEL = FALLBACK_MODEL
"""What "Use the bundled model" chooses: base ships with STT Studio (multilingual, works offline)."""

QUALITY_NOTES = {
    "base": "Bundled, works offline at once. Good on clear speech; misses more words in noise and accents.",
    "small": "Clearly better than base on everyday recordings; a good choice for a laptop CPU.",
    "medium": "Close to the large models on clear speech; slow on a CPU.",
    "large-v3-turbo": "Nearly large-v3's accuracy at several times its speed; the best choice for most GPUs.",
    "large-v3": "The most accurate, in every language; needs a GPU to be quick.",
}
"""The models the welcome step offers, smallest first, each with its one-line note."""
WELCOME_MODELS = tuple(QUALITY_NOTES)
QUALITY_ORDER = ("large-v3", "large-v3-turbo", "medium", "small", "base")
"""Most accurate first: the recommendation is the first one quick enough (and, on a GPU, that fits)."""
QUICK_ENOUGH = 0.25
"""A recommended model transcribes at least 4× faster than real time (an hour of audio in 15 minutes)."""
GPU_WEIGHT_BYTES = 2.0
"""float16 weights on a GPU."""


@dataclass(frozen=True)
class Hardware:
    gpu_name: str | None
    gpu_free_mb: float
    cpu_cores: int

    @classmethod
    def of(cls, facts: DeviceFacts, cpu_cores: int) -> Hardware:
        gpu = facts.gpu(0) if facts.ctranslate2_cuda_devices else None
        return cls(gpu.name if gpu else None, gpu.free_mb if gpu else 0.0, cpu_cores)

    def describe(self) -> str:
        if self.gpu_name:
            return f"GPU: {self.gpu_name}, {self.gpu_free_mb / 1024:.1f} GB of its memory free."
        cores = f"{self.cpu_cores} CPU core{'s' if self.cpu_cores != 1 else ''}"
        return f"No NVIDIA GPU found: models run on the CPU ({cores})."


def fits_gpu(model: str, hardware: Hardware) -> bool:
    figures = model_figures(model)
    need_mb = figures.params_millions * GPU_WEIGHT_BYTES + figures.overhead_mb
    return need_mb <= hardware.gpu_free_mb


def recommend(hardware: Hardware, probe: SpeedProbe | None) -> str:
    """The most accurate model quick enough on this machine; the bundled one when nothing was measured."""
    if probe is None:
        return BUNDLED_MODEL
    for model in QUALITY_ORDER:
        if hardware.gpu_name and probe.device == "cuda" and not fits_gpu(model, hardware):
            continue
        if expected_real_time_factor(model, probe) <= QUICK_ENOUGH:
            return model
    return BUNDLED_MODEL


def speed_text(real_time_factor: float) -> str:
    """'about 12× real time: 1 h of audio in about 5 min'."""
    if real_time_factor <= 0:
        return "not measured"
    minutes = 60 * real_time_factor
    took = f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"
    if real_time_factor < 1:
        times = 1 / real_time_factor
        rate = f"{times:.1f}" if times < 10 else f"{times:.0f}"
        return f"about {rate}× real time: 1 h of audio in about {took}"
    return f"slower than real time: 1 h of audio takes about {took}"


def download_text(model: str) -> str:
    if model == BUNDLED_MODEL:
        return "bundled"
    known = known_model(model)
    return human_size(known.download_mb * 1_000_000) if known else "—"


@dataclass(frozen=True)
class ModelOffer:
    name: str
    download: str
    speed: str
    note: str


def offers(probe: SpeedProbe | None) -> list[ModelOffer]:
    return [
        ModelOffer(
            name,
            download_text(name),
            speed_text(expected_real_time_factor(name, probe)) if probe else "not measured",
            QUALITY_NOTES[name],
        )
        for name in WELCOME_MODELS
    ]
