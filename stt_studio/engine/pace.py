"""Time left for a running job, from how fast this machine went through each stage on earlier jobs.

A :class:`Pace` holds wall seconds per second of audio for each stage (for loading models, which costs the same
whatever the audio, plain seconds), blended over the jobs this machine ran (the newest weighs most). Within the
running stage the engine says how far it got and, while it works on a long piece (a batch of Whisper chunks, the
clustering of speakers), how far that piece will take it: between two reports the share of the piece that the
expected time says is done is shown as done, so the bar moves while a batch is decoded but never reaches the
piece's end before the engine does. Pure logic: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stt_studio.engine.progress import Stage

DEFAULT_PACE: Mapping[Stage, float] = {
    Stage.DECODING: 0.01,
    Stage.DOWNLOADING_MODEL: 60.0,
    Stage.LOADING_MODEL: 1.0,
    Stage.VAD: 0.03,
    Stage.TRANSCRIBING: 0.5,
    Stage.ALIGNING: 0.1,
    Stage.DIARIZING: 0.3,
}
"""Wall seconds per second of audio until this machine has measured its own (a CPU running a base-size model);
for LOADING_MODEL, seconds (the models are usually loaded already), and for DOWNLOADING_MODEL a guess (the
download's own speed soon takes over)."""

FIXED_COST = frozenset({Stage.LOADING_MODEL, Stage.DOWNLOADING_MODEL})
"""Stages whose time does not grow with the audio's length."""

NEWEST_WEIGHT = 0.5
"""Share of the newest job in a blended pace: a machine that got busier is believed within two jobs."""

KNEE = 0.8
"""Share of a piece shown as done at its expected time; beyond it the rest is approached and never reached."""

OVERDUE_SHARE = 0.25
"""A piece that runs past its expected time is expected to need at least this share of its time so far again."""

MIN_LEFT_SECONDS = 1.0
"""The least time left shown while work remains: never 0:00 before the end."""

_MIN_OBSERVED_FRACTION = 0.02
"""Below this share of a stage, its speed so far says too little to be trusted."""


@dataclass(frozen=True)
class Pace:
    """Wall seconds per second of audio, by stage name, as measured on this machine."""

    seconds_per_audio_second: Mapping[str, float] = field(default_factory=dict)
    """By stage name; seconds for the FIXED_COST stages."""

    def expected(self, stage: Stage, audio_seconds: float) -> float:
        """Wall seconds ``stage`` is expected to take on ``audio_seconds`` of audio."""
        rate = self.seconds_per_audio_second.get(stage.value, DEFAULT_PACE[stage])
        return rate if stage in FIXED_COST else rate * max(audio_seconds, 0.0)

    def weights(self, audio_seconds: float) -> dict[Stage, float]:
        """Each stage's expected seconds on ``audio_seconds`` of audio: its share of the progress bar."""
        return {stage: self.expected(stage, audio_seconds) for stage in Stage}

    def learned(self, stage_seconds: Mapping[str, float], audio_seconds: float) -> Pace:
        """This pace with one more job's wall time per stage blended in."""
        if audio_seconds <= 0:
            return self
        rates = dict(self.seconds_per_audio_second)
        for stage, seconds in stage_seconds.items():
            if stage not in Stage._value2member_map_ or seconds < 0:
                continue
            measured = seconds if Stage(stage) in FIXED_COST else seconds / audio_seconds
            before = rates.get(stage)
            rates[stage] = measured if before is None else before + NEWEST_WEIGHT * (measured - before)
        return Pace(rates)


@dataclass(frozen=True)
class StagePosition:
    """Where the running stage stands, as the engine last said."""

    stage: Stage
    fraction: float
    """Share of the stage done, 0..1."""
    reported_after: float
    """Seconds into the stage when the engine said so."""
    piece_end: float | None = None
    """The share of the stage done once the piece of work in hand is finished, when the engine said."""


@dataclass(frozen=True)
class Estimate:
    fraction: float
    """Share of the running stage to show as done, never beyond the engine's piece in hand."""
    remaining_seconds: float
    """Time left for the whole run, at least MIN_LEFT_SECONDS."""


def piece_share(elapsed: float, expected: float) -> float:
    """Share of a piece to show as done ``elapsed`` seconds into it when it is expected to take ``expected``:
    in proportion up to KNEE, then closer to the end without reaching it (the gap shrinks as 1/time)."""
    if elapsed <= 0:
        return 0.0
    if expected <= 0:
        return KNEE
    x = elapsed / expected
    return x if x <= KNEE else 1.0 - (1.0 - KNEE) * KNEE / x


def stage_seconds(expected: float, fraction: float, reported_after: float) -> float:
    """The stage's whole expected duration: the earlier jobs' pace, then more and more the speed seen so far."""
    if fraction < _MIN_OBSERVED_FRACTION or reported_after <= 0:
        return expected
    observed = reported_after / fraction
    weight = min(fraction, 1.0)
    return expected * (1.0 - weight) + observed * weight


def estimate(
    position: StagePosition, stage_elapsed: float, later: Sequence[Stage], audio_seconds: float, pace: Pace
) -> Estimate:
    """What to show ``stage_elapsed`` seconds into ``position.stage``, with the ``later`` stages still to run."""
    fraction = min(max(position.fraction, 0.0), 1.0)
    total = stage_seconds(pace.expected(position.stage, audio_seconds), fraction, position.reported_after)
    since_report = max(0.0, stage_elapsed - position.reported_after)
    shown = fraction
    if position.piece_end is not None and position.piece_end > fraction:
        piece = min(position.piece_end, 1.0) - fraction
        shown = fraction + piece * piece_share(since_report, piece * total)
    left = max(total * (1.0 - fraction) - since_report, OVERDUE_SHARE * since_report, MIN_LEFT_SECONDS)
    left += sum(pace.expected(stage, audio_seconds) for stage in later)
    return Estimate(fraction=shown, remaining_seconds=left)
