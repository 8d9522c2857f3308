"""Unit tests of the time-left estimate and of the progress shown while a long piece of work runs (no model)."""

from __future__ import annotations

import pytest

from stt_studio.engine.pace import (
    DEFAULT_PACE,
    KNEE,
    MIN_LEFT_SECONDS,
    Pace,
    StagePosition,
    estimate,
    piece_share,
    stage_seconds,
)
from stt_studio.engine.progress import Stage

AUDIO = 100.0
LATER = (Stage.ALIGNING, Stage.DIARIZING)


def test_an_unmeasured_machine_uses_the_default_pace() -> None:
    assert Pace().expected(Stage.TRANSCRIBING, AUDIO) == pytest.approx(DEFAULT_PACE[Stage.TRANSCRIBING] * AUDIO)


def test_a_job_teaches_the_pace_and_newer_jobs_weigh_more() -> None:
    first = Pace().learned({"transcribing": 20.0, "diarizing": 50.0}, AUDIO)
    assert first.expected(Stage.TRANSCRIBING, AUDIO) == pytest.approx(20.0)
    assert first.expected(Stage.DIARIZING, 200.0) == pytest.approx(100.0)  # per second of audio
    second = first.learned({"transcribing": 40.0}, AUDIO)
    assert 20.0 < second.expected(Stage.TRANSCRIBING, AUDIO) < 40.0
    assert second.expected(Stage.DIARIZING, AUDIO) == pytest.approx(50.0)  # untouched


def test_loading_models_costs_the_same_whatever_the_audio() -> None:
    """A first job that loaded the models for 40 s must not make the next hour-long one expect 4 hours of it."""
    pace = Pace().learned({"loading_model": 40.0, "transcribing": 5.0}, 10.0)
    assert pace.expected(Stage.LOADING_MODEL, 3600.0) == pytest.approx(40.0)
    assert pace.expected(Stage.TRANSCRIBING, 3600.0) == pytest.approx(1800.0)
    weights = pace.weights(3600.0)
    assert weights[Stage.LOADING_MODEL] < weights[Stage.TRANSCRIBING] / 10


def test_learning_ignores_what_it_cannot_use() -> None:
    pace = Pace({"vad": 0.1})
    assert pace.learned({"vad": 5.0}, 0.0) == pace
    assert pace.learned({"no such stage": 5.0, "vad": -1.0}, AUDIO) == pace


def test_time_left_is_the_rest_of_this_stage_and_the_later_stages() -> None:
    pace = Pace({"transcribing": 0.5, "aligning": 0.1, "diarizing": 0.3})
    at_start = estimate(StagePosition(Stage.TRANSCRIBING, 0.0, 0.0), 0.0, LATER, AUDIO, pace)
    assert at_start.remaining_seconds == pytest.approx(50.0 + 10.0 + 30.0)
    halfway = estimate(StagePosition(Stage.TRANSCRIBING, 0.5, 25.0), 25.0, LATER, AUDIO, pace)
    assert halfway.remaining_seconds == pytest.approx(25.0 + 40.0)


def test_the_stage_speed_seen_so_far_takes_over_from_earlier_jobs() -> None:
    assert stage_seconds(100.0, 0.0, 0.0) == 100.0
    assert stage_seconds(100.0, 0.5, 10.0) == pytest.approx(0.5 * 100.0 + 0.5 * 20.0)
    assert stage_seconds(100.0, 1.0, 10.0) == pytest.approx(10.0)
    # a twice-slower machine than measured: the estimate grows as the stage shows it
    pace = Pace({"transcribing": 0.5})
    slow = estimate(StagePosition(Stage.TRANSCRIBING, 0.5, 50.0), 50.0, (), AUDIO, pace)
    assert slow.remaining_seconds > 25.0


def test_a_piece_in_hand_moves_the_bar_but_never_reaches_its_end() -> None:
    pace = Pace({"transcribing": 1.0})  # 100 s for the stage
    position = StagePosition(Stage.TRANSCRIBING, 0.25, 25.0, piece_end=0.75)  # on pace; a batch of 50 s expected
    shown = [estimate(position, 25.0 + t, (), AUDIO, pace).fraction for t in (0, 10, 20, 40, 60, 200, 10_000)]
    assert shown[0] == 0.25
    assert shown == sorted(shown) and len(set(shown)) == len(shown)  # moves at every step
    assert shown[2] == pytest.approx(0.25 + 0.5 * 20 / 50)  # in proportion before the knee
    assert all(f < 0.75 for f in shown)


def test_piece_share_is_continuous_and_below_one() -> None:
    assert piece_share(0.0, 10.0) == 0.0
    assert piece_share(KNEE * 10.0, 10.0) == pytest.approx(KNEE)
    assert piece_share(KNEE * 10.0 + 1e-6, 10.0) == pytest.approx(KNEE)
    assert piece_share(1e9, 10.0) < 1.0
    assert piece_share(5.0, 0.0) == KNEE  # nothing measured: the piece is shown most of the way at once


def test_time_left_never_reads_zero_while_work_remains() -> None:
    pace = Pace({"diarizing": 0.01})  # expected 1 s, still running after 50 s (the clustering)
    left = [
        estimate(StagePosition(Stage.DIARIZING, 0.95, 0.5, piece_end=1.0), t, (), AUDIO, pace).remaining_seconds
        for t in (1.0, 10.0, 50.0)
    ]
    assert min(left) >= MIN_LEFT_SECONDS
    assert left == sorted(left) and left[-1] > left[0]  # overdue: it grows rather than sits at 0:00
    done = estimate(StagePosition(Stage.DIARIZING, 1.0, 5.0), 5.0, (), AUDIO, pace)
    assert done.remaining_seconds == MIN_LEFT_SECONDS  # the result is still being saved
