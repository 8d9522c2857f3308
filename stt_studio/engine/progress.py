"""Named stages, one overall percentage that only goes up, and cooperative cancellation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from stt_studio.engine.errors import CancelledError


class Stage(str, Enum):
    DECODING = "decoding"
    LOADING_MODEL = "loading_model"
    VAD = "vad"
    TRANSCRIBING = "transcribing"
    ALIGNING = "aligning"
    DIARIZING = "diarizing"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Stage.DECODING: "Decoding audio",
    Stage.LOADING_MODEL: "Loading model",
    Stage.VAD: "Detecting speech",
    Stage.TRANSCRIBING: "Transcribing",
    Stage.ALIGNING: "Aligning words",
    Stage.DIARIZING: "Finding speakers",
}

# Rough share of a run's time on a CPU; only the order and the monotonicity matter to users.
_WEIGHTS = {
    Stage.DECODING: 3.0,
    Stage.LOADING_MODEL: 2.0,
    Stage.VAD: 10.0,
    Stage.TRANSCRIBING: 70.0,
    Stage.ALIGNING: 10.0,
    Stage.DIARIZING: 25.0,
}


_MIN_STEP = 0.5


@dataclass(frozen=True)
class ProgressUpdate:
    stage: Stage
    percent: float
    """Overall progress of the whole run, 0..100, never lower than the previous update."""


ProgressCallback = Callable[[ProgressUpdate], None]
CancelCheck = Callable[[], bool]


class ProgressTracker:
    """Maps per-stage fractions onto one overall percentage and checks for cancellation at every report."""

    def __init__(
        self,
        stages: Sequence[Stage],
        callback: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> None:
        total = sum(_WEIGHTS[s] for s in stages)
        self._ranges: dict[Stage, tuple[float, float]] = {}
        start = 0.0
        for stage in stages:
            width = 100.0 * _WEIGHTS[stage] / total
            self._ranges[stage] = (start, width)
            start += width
        self._callback = callback
        self._should_cancel = should_cancel
        self.percent = 0.0
        self.stage = stages[0]
        self._emitted: ProgressUpdate | None = None

    def report(self, stage: Stage, fraction: float = 0.0) -> None:
        """Record that ``stage`` is ``fraction`` (0..1) done; raises CancelledError when cancel was asked."""
        self.check_cancel()
        start, width = self._ranges[stage]
        overall = start + width * min(max(fraction, 0.0), 1.0)
        self.stage = stage
        self.percent = max(self.percent, min(overall, 100.0))
        self._emit(ProgressUpdate(stage, round(self.percent, 1)))

    def quiet(self) -> ProgressTracker:
        """A tracker that checks for cancellation like this one but reports nothing (for extra work inside a
        stage already reported)."""
        return ProgressTracker(list(self._ranges), None, self._should_cancel)

    def finish(self) -> None:
        self.percent = 100.0
        self._emit(ProgressUpdate(self.stage, 100.0))

    def _emit(self, update: ProgressUpdate) -> None:
        """Pass on stage changes and rises of at least half a point; backends report far more often."""
        last = self._emitted
        if last is not None and last.stage == update.stage and update.percent - last.percent < _MIN_STEP:
            return
        self._emitted = update
        if self._callback is not None:
            self._callback(update)

    def check_cancel(self) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise CancelledError()
