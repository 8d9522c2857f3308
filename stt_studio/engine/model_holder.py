"""The Whisper models a worker holds: its configured (default) model, and at most one other that a job asked for.

Memory must not grow with the jobs a worker runs (on a GPU, every model and every cached block stays in VRAM until
released): a job asking for another model replaces the previous extra one rather than joining it, aliases
(``turbo`` = ``large-v3-turbo``) are one model, and after each job the garbage collector runs and torch's CUDA cache
is given back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from stt_studio.engine.model_catalog import known_model, same_model
from stt_studio.engine.pipeline import Engine

log = logging.getLogger(__name__)


class Use(Enum):
    DEFAULT = "default"
    """The worker's configured model."""
    HELD = "held"
    """The extra model already loaded."""
    LOAD = "load"
    """Another model: loaded as the extra one, after the one held (if any) is unloaded."""


@dataclass(frozen=True)
class ModelChoice:
    use: Use
    unload_held: bool = False


def choose_model(default: str, held: str | None, wanted: str | None) -> ModelChoice:
    """Which engine runs a job that asks for ``wanted`` (None: the default), given the extra model ``held``."""
    if wanted is None or same_model(wanted, default):
        return ModelChoice(Use.DEFAULT)
    if held is not None and same_model(wanted, held):
        return ModelChoice(Use.HELD)
    return ModelChoice(Use.LOAD, unload_held=held is not None)


def canonical(spec: str) -> str:
    """A known model by its own name (``turbo`` → ``large-v3-turbo``); anything else as given."""
    known = known_model(spec)
    return known.name if known is not None else spec


def release_cached_memory(device: str) -> None:
    """Give back what the last job left: unreachable objects (a model just dropped, its tensors) and, on a GPU, the
    blocks torch's caching allocator keeps for reuse (they count as used for every other process)."""
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
    _trim_heap()


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc keeps them otherwise, and the worker's RSS creeps up
    with each job's peak); a no-op where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class ModelHolder:
    def __init__(self, default: Engine, release: Callable[[str], None] = release_cached_memory) -> None:
        self.default = default
        self.extra: Engine | None = None
        self._release = release

    @property
    def current(self) -> Engine:
        """The engine that ran (or runs) the latest job that asked for a model, else the default."""
        return self.extra or self.default

    def engine_for(self, wanted: str | None) -> Engine:
        held = self.extra.model_spec if self.extra is not None else None
        choice = choose_model(self.default.model_spec, held, wanted)
        if choice.use is Use.DEFAULT:
            return self.default
        if choice.use is Use.HELD:
            assert self.extra is not None
            return self.extra
        assert wanted is not None
        if choice.unload_held and self.extra is not None:
            log.info("Unloading the Whisper model %s to load %s", self.extra.model_spec, wanted)
            self.extra.unload()
            self.extra = None
            self._release(self.default.device)  # before the next one is loaded: never both at once
        self.extra = self.default.for_model(canonical(wanted))
        return self.extra

    def after_job(self) -> None:
        self._release(self.default.device)
