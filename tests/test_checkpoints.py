"""A job's checkpoint files (stt_studio/jobs/checkpoints.py), and the real engine resuming from them: reused
stages and batches, a damaged file ignored with a warning and its stage run again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from stt_studio.engine.pipeline import Engine
from stt_studio.engine.result import Segment
from stt_studio.engine.stages import StageClock
from stt_studio.engine.vad import SpeechChunk, SpeechDetector
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.store import JobStore


def test_a_checkpoint_is_read_back_only_with_its_fingerprint(tmp_path: Path) -> None:
    kept = JobCheckpoints.of_job(tmp_path)
    kept.save("vad", "fp-1", [[0.0, 1.0, []]])
    assert kept.load("vad", "fp-1") == [[0.0, 1.0, []]]
    assert kept.load("vad", "fp-other-model") is None
    assert kept.load("aligning", "fp-1") is None
    assert not list(kept.folder.glob("*.tmp")), "written atomically: no temporary file is left"


@pytest.mark.parametrize("damage", ["truncated", "not an object", "no fingerprint"])
def test_a_damaged_checkpoint_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    kept = JobCheckpoints.of_job(tmp_path)
    kept.save("diarizing", "fp", {"turns": []})
    path = kept.folder / "diarizing.json"
    text = {
        "truncated": path.read_text()[:10],
        "not an object": "[1, 2]",
        "no fingerprint": '{"data": {"turns": []}}',
    }[damage]
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        assert kept.load("diarizing", "fp") is None
    assert "is damaged" in caplog.text and "running that stage again" in caplog.text


def test_a_finished_job_keeps_only_what_running_one_stage_again_needs(tmp_path: Path) -> None:
    kept = JobCheckpoints.of_job(tmp_path)
    for key in ("vad", "language", "transcribing-00000", "transcribing-00001", "aligning", "diarizing"):
        kept.save(key, "fp", [])
    kept.keep_only(["vad", "aligning", "diarizing"])
    assert sorted(p.name for p in kept.folder.iterdir()) == ["aligning.json", "diarizing.json", "vad.json"]
    kept.remove()
    assert not kept.folder.exists()


def test_a_checkpoint_name_cannot_leave_its_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Not a checkpoint name"):
        JobCheckpoints.of_job(tmp_path).save("../record", "fp", {})


def test_canceling_a_queued_job_removes_its_checkpoints(store: JobStore, short_wav: Path) -> None:
    """A job queued again after its worker died has checkpoints while it waits (no worker runs here)."""
    job_id, job_dir = store.new_job_dir()
    store.submit(job_id, short_wav, JobOptions(), filename="short.wav", delete_audio_after=False)
    kept = JobCheckpoints.of_job(job_dir)
    kept.save("vad", "fp", [])
    assert store.cancel(job_id).status == JobStatus.CANCELED
    assert not kept.folder.exists()


class TurnPerChunk:
    """The engine's detector, each speech turn its own chunk (a long recording's chunks, on a short clip)."""

    def __init__(self, detector: SpeechDetector | None) -> None:
        assert detector is not None
        self.detector = detector
        self.name = detector.name

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: Callable[[float], None]) -> list[SpeechChunk]:
        turns = [turn for chunk in self.detector.chunks(audio, on_fraction) for turn in chunk.speech]
        assert len(turns) == 2, turns
        return [SpeechChunk(start, end, ((start, end),)) for start, end in turns]


def test_the_engine_continues_at_the_first_batch_not_finished(
    tiny_engine: Engine,
    short_wav: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One speech turn a chunk and one chunk a batch: the short clip's two sentences are two batches. A run that
    stopped after the first batch (the second's checkpoint missing, the aligned words' damaged) decodes only the
    second again and gives the same transcript; a run after a finished one reads every stage back."""
    monkeypatch.setattr(tiny_engine, "batch_size", 1)
    monkeypatch.setattr(tiny_engine, "_detector", TurnPerChunk(tiny_engine._detector))
    kept = JobCheckpoints.of_job(tmp_path)
    told: list[tuple[list[Segment], float]] = []
    aligned: list[tuple[list[Segment], float]] = []
    first = tiny_engine.transcribe(
        short_wav,
        checkpoints=kept,
        clock=StageClock(1),
        on_segments=lambda s, until: told.append((s, until)),
        on_aligned=lambda s, until: aligned.append((s, until)),
    )
    # then the aligned segments, in their place: the result's, with words, before the speakers
    assert aligned == [(first.segments, first.duration)] and all(s.words for s in first.segments)

    (kept.folder / "transcribing-00001.json").unlink()
    (kept.folder / "aligning.json").write_text('{"fingerprint": "')
    resumed = StageClock(2)
    told_again: list[tuple[list[Segment], float]] = []
    with caplog.at_level(logging.WARNING):
        second = tiny_engine.transcribe(
            short_wav, checkpoints=kept, clock=resumed, on_segments=lambda s, until: told_again.append((s, until))
        )
    # the transcript as it is made: a batch at a time, numbered on, the last covering the audio to its end; a
    # resumed run tells the batch it read back too, so a new attempt's transcript so far starts whole
    ids = [s.id for batch, _ in told for s in batch]
    assert len(told) == 2 and ids == list(range(len(ids))) and len(ids) >= 2
    assert told[0][1] < told[1][1] == first.duration
    assert told_again == told
    runs = {run.name: run for run in resumed.runs}
    assert "aligning.json is damaged" in caplog.text
    assert (runs["transcribing"].chunks, runs["transcribing"].reused_chunks) == (2, 1)
    assert not runs["transcribing"].reused and not runs["aligning"].reused
    assert runs["vad"].reused and runs["language"].reused

    again = StageClock(3)
    aligned_again: list[tuple[list[Segment], float]] = []
    third = tiny_engine.transcribe(
        short_wav, checkpoints=kept, clock=again, on_aligned=lambda s, until: aligned_again.append((s, until))
    )
    assert aligned_again == aligned  # read back from the checkpoint (finding speakers again), told the same
    assert {run.name: run.reused for run in again.runs} == {
        "decoding": False,  # never kept: decoding again is cheaper than storing samples
        "vad": True,
        "language": True,
        "transcribing": True,
        "aligning": True,
    }
    assert first.text == second.text == third.text
    assert set(third.stage_seconds) == {"decoding", "vad", "language", "transcribing", "aligning"}
