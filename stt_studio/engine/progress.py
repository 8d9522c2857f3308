"""Named stages, one overall percentage that only goes up, and cooperative cancellation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.engine.errors import CancelledError


class Stage(str, Enum):
    DECODING = "decoding"
    DOWNLOADING_MODEL = "downloading_model"
    """Only in a run whose model must be fetched from the hub first."""
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
    Stage.DOWNLOADING_MODEL: "Downloading model",
    Stage.LOADING_MODEL: "Loading model",
    Stage.VAD: "Detecting speech",
    Stage.TRANSCRIBING: "Transcribing",
    Stage.ALIGNING: "Aligning words",
    Stage.DIARIZING: "Finding speakers",
}

# Rough share of a run's time on a CPU, until the caller knows this machine's (``stage_weights``).
_WEIGHTS = {
    Stage.DECODING: 3.0,
    Stage.DOWNLOADING_MODEL: 50.0,
    Stage.LOADING_MODEL: 2.0,
    Stage.VAD: 10.0,
    Stage.TRANSCRIBING: 70.0,
    Stage.ALIGNING: 10.0,
    Stage.DIARIZING: 25.0,
}


_MIN_STEP = 0.5
_MIN_WIDTH_SHARE = 0.005
"""Every stage keeps at least this share of the bar, however fast it was measured."""


@dataclass(frozen=True)
class ProgressUpdate:
    stage: Stage
    percent: float
    """Overall progress of the whole run, 0..100, never lower than the previous update."""
    fraction: float = 0.0
    """Share of ``stage`` done, 0..1."""
    piece_end: float | None = None
    """The share of ``stage`` done once the piece of work in hand (a batch of chunks) is finished, when known:
    no report comes while it runs."""
    span: tuple[float, float] = (0.0, 100.0)
    """Where ``stage`` lies in the overall percentage: its start and width."""
    later: tuple[Stage, ...] = ()
    """The stages still to run after this one."""
    audio_seconds: float | None = None
    """Length of the audio, once decoded."""
    download: DownloadProgress | None = None
    """DOWNLOADING_MODEL: the download's bytes (``fraction`` is its share done)."""

    def percent_at(self, fraction: float) -> float:
        """The overall percentage at ``fraction`` of this stage."""
        start, width = self.span
        return start + width * min(max(fraction, 0.0), 1.0)


ProgressCallback = Callable[[ProgressUpdate], None]
CancelCheck = Callable[[], bool]


class ProgressTracker:
    """Maps per-stage fractions onto one overall percentage and checks for cancellation at every report."""

    def __init__(
        self,
        stages: Sequence[Stage],
        callback: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        weights: Mapping[Stage, float] | None = None,
    ) -> None:
        """``weights``: each stage's expected share of the run's time (any unit), by default a CPU's rough one;
        the bar then moves in step with the clock when they are right."""
        chosen = {s: max((weights or _WEIGHTS).get(s, _WEIGHTS[s]), 0.0) for s in stages}
        floor = _MIN_WIDTH_SHARE * sum(chosen.values())
        chosen = {s: max(w, floor, 1e-9) for s, w in chosen.items()}
        total = sum(chosen.values())
        self._ranges: dict[Stage, tuple[float, float]] = {}
        start = 0.0
        for stage in stages:
            width = 100.0 * chosen[stage] / total
            self._ranges[stage] = (start, width)
            start += width
        self._callback = callback
        self._should_cancel = should_cancel
        self.percent = 0.0
        self.stage = stages[0]
        self.audio_seconds: float | None = None
        """Set once the audio is decoded: updates carry it for the time-left estimate."""
        self._emitted: ProgressUpdate | None = None

    @property
    def stages(self) -> list[Stage]:
        return list(self._ranges)

    def report(self, stage: Stage, fraction: float = 0.0, piece_end: float | None = None) -> None:
        """Record that ``stage`` is ``fraction`` (0..1) done, and when known that the work now starting takes it to
        ``piece_end`` with no report meanwhile; raises CancelledError when cancel was asked."""
        self.check_cancel()
        self._report(stage, fraction, piece_end)

    def report_download(self, download: DownloadProgress) -> None:
        """The model's download has got this far. Called from the download's watcher thread, so it never raises:
        a cancel is honoured at the next report after the download (the hub's client can't be stopped midway)."""
        self._report(Stage.DOWNLOADING_MODEL, download.fraction, None, download)

    def _report(
        self, stage: Stage, fraction: float, piece_end: float | None, download: DownloadProgress | None = None
    ) -> None:
        start, width = self._ranges[stage]
        fraction = min(max(fraction, 0.0), 1.0)
        self.stage = stage
        self.percent = max(self.percent, min(start + width * fraction, 100.0))
        stages = list(self._ranges)
        later = tuple(stages[stages.index(stage) + 1 :])
        percent = round(self.percent, 1)
        span = (start, width)
        self._emit(ProgressUpdate(stage, percent, fraction, piece_end, span, later, self.audio_seconds, download))

    def quiet(self) -> ProgressTracker:
        """A tracker that checks for cancellation like this one but reports nothing (for extra work inside a
        stage already reported)."""
        return ProgressTracker(list(self._ranges), None, self._should_cancel)

    def finish(self) -> None:
        self.percent = 100.0
        start, width = self._ranges[self.stage]
        self._emit(ProgressUpdate(self.stage, 100.0, 1.0, None, (start, width), (), self.audio_seconds))

    def _emit(self, update: ProgressUpdate) -> None:
        """Pass on stage changes, new pieces of work and rises of at least half a point; backends report far more
        often."""
        last = self._emitted
        if (
            last is not None
            and last.stage == update.stage
            and last.piece_end == update.piece_end
            and update.percent - last.percent < _MIN_STEP
            and (update.download is None or last.download is None or update.fraction - last.fraction < 0.01)
        ):
            return
        self._emitted = update
        if self._callback is not None:
            self._callback(update)

    def check_cancel(self) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise CancelledError()
