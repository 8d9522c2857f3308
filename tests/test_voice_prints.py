"""What a diarized job keeps of each speaker's voice (pure: to JSON and back, speech per speaker)."""

from __future__ import annotations

import math

import pytest

from stt_studio.voices.prints import JobVoicePrints, VoicePrintsError, job_voice_prints


def test_prints_carry_the_model_each_vector_and_each_speakers_clean_speech() -> None:
    turns = [(0.0, 4.0, "SPEAKER_00"), (4.0, 5.5, "SPEAKER_01"), (6.0, 9.0, "SPEAKER_00")]
    prints = job_voice_prints("m:1", {"SPEAKER_01": [0.0, 1.0], "SPEAKER_00": [1.0, 0.0]}, turns)
    assert prints is not None and prints.model == "m:1"
    assert [(s.label, s.vector, s.speech_seconds) for s in prints.speakers] == [
        ("SPEAKER_00", (1.0, 0.0), 7.0),
        ("SPEAKER_01", (0.0, 1.0), 1.5),
    ]
    assert JobVoicePrints.from_json(prints.to_json()) == prints


def test_no_embeddings_no_prints_and_a_non_finite_vector_is_left_out() -> None:
    assert job_voice_prints("m", {}, []) is None
    prints = job_voice_prints("m", {"A": [math.nan, 1.0], "B": [0.0, 0.0]}, [])
    assert prints is not None and [s.label for s in prints.speakers] == ["B"]  # a zero row is matching's to judge


@pytest.mark.parametrize(
    "data", [None, {}, {"model": "m", "speakers": [{"label": "A"}]}, {"model": "m", "speakers": 3}]
)
def test_damaged_prints_are_refused_with_a_clear_error(data: object) -> None:
    with pytest.raises(VoicePrintsError, match="voice prints"):
        JobVoicePrints.from_json(data)
