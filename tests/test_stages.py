"""The stages as data (stt_studio/engine/stages.py, stage_data.py): fingerprints, the stage clock, the job's
``stages`` list and the checkpoint data's round trips. Pure: no model, no Redis, no files."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from stt_studio.engine import stage_data
from stt_studio.engine.result import Segment, Word
from stt_studio.engine.stages import (
    STAGES,
    StageClock,
    StageName,
    StageOptionsError,
    StageOutputs,
    StageRun,
    batch_fingerprint,
    fingerprint,
    merged_runs,
)
from stt_studio.engine.vad import SpeechChunk
from stt_studio.engine.words import RawWord

AUDIO = fingerprint(StageName.DECODING, {"audio_sha256": "ab" * 32, "max_audio_seconds": 21600.0}, {})
VAD = fingerprint(StageName.VAD, {"vad_method": "silero"}, {StageName.DECODING: AUDIO})
LANGUAGE = fingerprint(
    StageName.LANGUAGE, {"model": "tiny.en", "compute_type": "int8", "requested": None}, {StageName.VAD: VAD}
)
TRANSCRIBING_OPTIONS: dict[str, Any] = {
    "model": "tiny.en",
    "compute_type": "int8",
    "task": "transcribe",
    "language": "en",
    "prompt": None,
    "batch_size": 4,
    "word_source": "whisper",
}
DIARIZING_OPTIONS: dict[str, Any] = {
    "backend": "local",
    "model": "local",
    "num_speakers": None,
    "min_speakers": None,
    "max_speakers": None,
}


def transcribing(language_fp: str = LANGUAGE, **changed: Any) -> str:
    return fingerprint(StageName.TRANSCRIBING, {**TRANSCRIBING_OPTIONS, **changed}, {StageName.LANGUAGE: language_fp})


def test_same_inputs_give_the_same_fingerprint() -> None:
    assert transcribing() == transcribing()


@pytest.mark.parametrize(
    "changed",
    [
        {"model": "base.en"},
        {"compute_type": "float16"},
        {"language": "de"},
        {"prompt": "Dr. Chen"},
        {"task": "translate"},
        {"batch_size": 16},
        {"word_source": "wav2vec2:default"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_another_model_or_option_gives_another_transcription_fingerprint(changed: dict[str, Any]) -> None:
    assert transcribing(**changed) != transcribing()


def test_a_change_upstream_reaches_every_stage_that_depends_on_it() -> None:
    other_audio = fingerprint(StageName.DECODING, {"audio_sha256": "cd" * 32, "max_audio_seconds": 21600.0}, {})
    other_vad = fingerprint(StageName.VAD, {"vad_method": "silero"}, {StageName.DECODING: other_audio})
    other_language = fingerprint(
        StageName.LANGUAGE, {"model": "tiny.en", "compute_type": "int8", "requested": None}, {StageName.VAD: other_vad}
    )
    assert other_vad != VAD
    assert transcribing(other_language) != transcribing()


def test_diarization_depends_on_the_audio_and_its_options_not_on_the_transcription() -> None:
    exactly_two = fingerprint(
        StageName.DIARIZING, {**DIARIZING_OPTIONS, "num_speakers": 2}, {StageName.DECODING: AUDIO}
    )
    any_count = fingerprint(StageName.DIARIZING, DIARIZING_OPTIONS, {StageName.DECODING: AUDIO})
    assert exactly_two != any_count
    assert StageName.TRANSCRIBING not in STAGES[StageName.DIARIZING].needs  # another model keeps the speakers


def test_a_fingerprint_must_name_exactly_the_stages_options_and_parents() -> None:
    with pytest.raises(StageOptionsError, match="vad"):
        fingerprint(StageName.VAD, {}, {StageName.DECODING: AUDIO})
    with pytest.raises(StageOptionsError, match="vad"):
        fingerprint(StageName.VAD, {"vad_method": "silero"}, {})


def test_each_stage_needs_only_stages_before_it() -> None:
    order = list(STAGES)
    for name, spec in STAGES.items():
        assert all(order.index(need) < order.index(name) for need in spec.needs), name


def test_each_batch_of_chunks_has_its_own_fingerprint() -> None:
    first = batch_fingerprint(transcribing(), 0, [(0.0, 29.5)])
    assert first != batch_fingerprint(transcribing(), 1, [(0.0, 29.5)])
    assert first != batch_fingerprint(transcribing(), 0, [(0.0, 28.0)])
    assert first != batch_fingerprint(transcribing(model="base.en"), 0, [(0.0, 29.5)])


# --- the clock and the job's stages ------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def seconds(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=self.t)


def test_the_clock_times_each_stage_and_tells_its_start_and_end() -> None:
    clock_time = FakeTime()
    told: list[tuple[str, bool]] = []
    clock = StageClock(
        2,
        lambda run: told.append((run.name, run.finished_at is not None)),
        now=clock_time.now,
        seconds=clock_time.seconds,
    )
    with clock.stage(StageName.VAD) as run:
        run.reused = True
    with clock.stage(StageName.TRANSCRIBING):
        clock_time.t += 12.5
    assert told == [("vad", False), ("vad", True), ("transcribing", False), ("transcribing", True)]
    assert clock.stage_seconds() == {"vad": 0.0, "transcribing": 12.5}
    assert [(r.attempt, r.reused) for r in clock.runs] == [(2, True), (2, False)]


def test_a_stage_that_raises_stays_unfinished() -> None:
    clock = StageClock()
    with pytest.raises(RuntimeError), clock.stage(StageName.ALIGNING):
        raise RuntimeError("worker died")
    [run] = clock.runs
    assert (run.finished_at, run.seconds) == (None, None)
    assert clock.stage_seconds() == {}


def test_the_jobs_stages_get_one_entry_per_stage_and_attempt() -> None:
    started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = merged_runs([], StageRun(name="vad", attempt=1, started_at=started))
    died_in = merged_runs(first, StageRun(name="transcribing", attempt=1, started_at=started))
    vad_done = merged_runs(died_in, StageRun(name="vad", attempt=1, started_at=started, seconds=2.0))
    again = merged_runs(vad_done, StageRun(name="vad", attempt=2, started_at=started, reused=True))
    assert [(e["name"], e["attempt"], e["seconds"], e["reused"]) for e in again] == [
        ("vad", 1, 2.0, False),
        ("transcribing", 1, None, False),
        ("vad", 2, None, True),
    ]


# --- reading a stage's output back -------------------------------------------------------------------------------


class DictStore:
    def __init__(self) -> None:
        self.kept: dict[str, tuple[str, Any]] = {}

    def load(self, key: str, fingerprint: str) -> Any | None:
        fp, data = self.kept.get(key, ("", None))
        return data if fp == fingerprint else None

    def save(self, key: str, fingerprint: str, data: Any) -> None:
        self.kept[key] = (fingerprint, data)


def test_a_stage_output_is_read_back_only_under_its_fingerprint() -> None:
    outputs, store = StageOutputs(DictStore()), None
    store = outputs.store
    assert isinstance(store, DictStore)
    runs = [StageRun(name="vad", attempt=n, started_at=datetime.now(timezone.utc)) for n in (1, 2, 3)]
    computed: list[int] = []

    def compute() -> list[SpeechChunk]:
        computed.append(1)
        return [SpeechChunk(0.5, 3.0, ((0.5, 1.5), (2.0, 3.0)))]

    args = (stage_data.chunks_to_json, stage_data.chunks_from_json)
    first = outputs.value(runs[0], "vad", VAD, compute, *args)
    again = outputs.value(runs[1], "vad", VAD, compute, *args)
    other = outputs.value(runs[2], "vad", "another fingerprint", compute, *args)
    assert first == again == other
    assert again[0].speech == ((0.5, 1.5), (2.0, 3.0))
    assert [r.reused for r in runs] == [False, True, False]
    assert len(computed) == 2


def test_stage_data_of_another_shape_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    store = DictStore()
    store.save("aligning", "fp", [{"start": "not a number"}])
    run = StageRun(name="aligning", attempt=2, started_at=datetime.now(timezone.utc))
    fresh = [Segment(id=0, start=0.0, end=1.0, text="hello")]
    with caplog.at_level(logging.WARNING):
        value = StageOutputs(store).value(
            run, "aligning", "fp", lambda: fresh, stage_data.segments_to_json, stage_data.segments_from_json
        )
    assert value == fresh and not run.reused
    assert "Checkpoint aligning is damaged" in caplog.text


def test_without_a_store_every_stage_runs() -> None:
    run = StageRun(name="vad", attempt=1, started_at=datetime.now(timezone.utc))
    assert StageOutputs(None).value(run, "vad", VAD, list, list, list) == []
    assert not run.reused


def test_stage_outputs_survive_the_round_trip() -> None:
    pieces = [
        stage_data.AsrPiece(
            0.0, 2.5, " Hello there.", [RawWord(" Hello", 0.0, 1.0, 0.9), RawWord(" there.", None, None, 0.5)]
        )
    ]
    assert stage_data.pieces_from_json(stage_data.pieces_to_json(pieces)) == pieces
    segments = [Segment(id=0, start=0.0, end=1.0, text=" Hi", words=[Word(word=" Hi", start=0.0, end=1.0, score=0.8)])]
    assert stage_data.segments_from_json(stage_data.segments_to_json(segments)) == segments
    with pytest.raises(stage_data.StageDataError):
        stage_data.pieces_from_json([[0.0, 1.0]])
    with pytest.raises(stage_data.StageDataError):
        stage_data.chunks_from_json("vad")
    with pytest.raises(stage_data.StageDataError):
        stage_data.language_from_json(3)
