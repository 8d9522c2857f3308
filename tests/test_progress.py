"""Unit tests of progress mapping, throttling and cancellation (no model)."""

from __future__ import annotations

import pytest

from stt_studio.engine.errors import CancelledError
from stt_studio.engine.progress import ProgressTracker, ProgressUpdate, Stage

STAGES = [Stage.DECODING, Stage.VAD, Stage.TRANSCRIBING]


def test_overall_percent_only_rises_and_ends_at_100() -> None:
    seen: list[ProgressUpdate] = []
    tracker = ProgressTracker(STAGES, seen.append)
    tracker.report(Stage.DECODING)
    tracker.report(Stage.VAD, 0.5)
    tracker.report(Stage.VAD, 0.2)  # a backend going backwards must not move the bar back
    tracker.report(Stage.TRANSCRIBING, 0.5)
    tracker.finish()
    percents = [u.percent for u in seen]
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    assert [u.stage for u in seen][:2] == [Stage.DECODING, Stage.VAD]


def test_stage_ranges_are_proportional() -> None:
    seen: list[ProgressUpdate] = []
    tracker = ProgressTracker(STAGES, seen.append)
    tracker.report(Stage.TRANSCRIBING, 0.0)
    start = seen[-1].percent
    tracker.report(Stage.TRANSCRIBING, 1.0)
    assert 0 < start < seen[-1].percent <= 100.0


def test_tiny_steps_are_not_passed_on() -> None:
    seen: list[ProgressUpdate] = []
    tracker = ProgressTracker(STAGES, seen.append)
    for i in range(1000):
        tracker.report(Stage.VAD, i / 1000)
    assert len(seen) < 100  # about one per half point of overall progress


def test_cancel_is_checked_at_every_report() -> None:
    calls: list[bool] = []

    def should_cancel() -> bool:
        calls.append(True)
        return len(calls) >= 3

    tracker = ProgressTracker(STAGES, None, should_cancel)
    tracker.report(Stage.DECODING)
    tracker.report(Stage.VAD, 0.001)
    with pytest.raises(CancelledError):
        tracker.report(Stage.VAD, 0.002)


def test_measured_weights_shape_the_bar() -> None:
    """A machine that spends most of a run finding speakers gives that stage most of the bar."""
    seen: list[ProgressUpdate] = []
    weights = {Stage.DECODING: 0.0, Stage.VAD: 1.0, Stage.TRANSCRIBING: 1.0, Stage.DIARIZING: 8.0}
    tracker = ProgressTracker(
        [Stage.DECODING, Stage.VAD, Stage.TRANSCRIBING, Stage.DIARIZING], seen.append, None, weights
    )
    tracker.report(Stage.DIARIZING)
    start, width = seen[-1].span
    assert seen[-1].percent == pytest.approx(20.0, abs=0.5) and width == pytest.approx(80.0, abs=0.5)
    tracker.report(Stage.DIARIZING, 0.5, piece_end=1.0)
    assert seen[-1].percent_at(0.5) == pytest.approx(start + width / 2)
    assert seen[-1].later == () and seen[-1].piece_end == 1.0
    decoding = ProgressTracker([Stage.DECODING, Stage.VAD], None, None, weights)._ranges[Stage.DECODING]
    assert decoding[1] > 0  # a stage measured as instant still has a place on the bar


def test_a_new_piece_of_work_is_passed_on_even_without_a_rise() -> None:
    seen: list[ProgressUpdate] = []
    tracker = ProgressTracker(STAGES, seen.append)
    tracker.report(Stage.TRANSCRIBING, 0.0, piece_end=0.5)
    tracker.report(Stage.TRANSCRIBING, 0.001, piece_end=0.6)
    assert [u.piece_end for u in seen] == [0.5, 0.6]
