"""Find speakers again, the fast parts: speaker counts, carrying a review onto new speakers, what a finished upload
keeps (its decoded audio as FLAC), what the queue refuses (real Valkey, no worker), and cleaning up (gc, delete)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stt_studio.cli import app
from stt_studio.engine.audio import decode_audio
from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn, TranscriptionResult, Word
from stt_studio.jobs import review
from stt_studio.jobs.checkpoint_gc import collect, expired
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.kept_audio import keep_decoded_audio, kept_audio
from stt_studio.jobs.models import JobOptions, JobStatus, LibraryEntry
from stt_studio.jobs.rediarize import NothingKeptError, ReviewWouldChangeError, rediarize
from stt_studio.jobs.speaker_counts import SpeakerCountError, SpeakerCounts
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore
from stt_studio.review.new_speakers import carry_review, speaker_at

UNKNOWN_JOB = "00000000-0000-0000-0000-000000000000"


# --- speaker counts ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("counts", "says"),
    [
        ({"num_speakers": 2, "min_speakers": 1}, "not both"),
        ({"num_speakers": 2, "max_speakers": 3}, "not both"),
        ({"min_speakers": 3, "max_speakers": 2}, "must not be larger"),
        ({"num_speakers": 0}, "between 1 and 20"),
        ({"max_speakers": 21}, "between 1 and 20"),
    ],
)
def test_speaker_counts_that_make_no_sense_are_refused_with_the_reason(counts: dict[str, int], says: str) -> None:
    with pytest.raises(SpeakerCountError, match=says):
        SpeakerCounts(**counts)


def test_exactly_n_or_a_range_is_taken() -> None:
    assert SpeakerCounts(num_speakers=2).num_speakers == 2
    assert SpeakerCounts(min_speakers=2, max_speakers=2).max_speakers == 2
    assert SpeakerCounts(max_speakers=4).min_speakers is None
    assert SpeakerCounts() == SpeakerCounts(None, None, None)  # the diarizer decides


# --- a review carried onto new speakers -------------------------------------------------------------------------
def _word(text: str, start: float, end: float, speaker: str, *, edited: bool = False) -> Word:
    return Word(word=text, start=start, end=end, score=None if edited else 0.9, speaker=speaker, edited=edited)


def _reviewed() -> TranscriptionResult:
    """Three old speakers: A talks 0-4 s, B 4-6 s, C (one the new diarization hears as A) 6-8 s; A and C named."""
    segments = [
        Segment(
            id=0,
            start=0,
            end=4,
            text=" Hello edited there",
            speaker="SPEAKER_00",
            words=[
                _word(" Hello", 0, 1, "SPEAKER_00"),
                _word(" edited", 1, 3, "SPEAKER_00", edited=True),
                _word(" there", 3, 4, "SPEAKER_00"),
            ],
        ),
        Segment(id=1, start=4, end=6, text=" Yes", speaker="SPEAKER_01", words=[_word(" Yes", 4, 6, "SPEAKER_01")]),
        Segment(id=2, start=6, end=8, text=" Again", speaker="SPEAKER_02", words=[_word(" Again", 6, 8, "SPEAKER_02")]),
    ]
    return TranscriptionResult(
        text="Hello edited there Yes Again",
        language="en",
        duration=8.0,
        segments=segments,
        processing_time=1.0,
        model="tiny.en",
        device="cpu",
        word_timestamps="wav2vec2",
        speakers=[SpeakerSummary(speaker=f"SPEAKER_0{i}", speaking_time=2.0) for i in range(3)],
        speaker_turns=[
            SpeakerTurn(start=0, end=4, speaker="SPEAKER_00"),
            SpeakerTurn(start=4, end=6, speaker="SPEAKER_01"),
            SpeakerTurn(start=6, end=8, speaker="SPEAKER_02"),
        ],
        speaker_names={"SPEAKER_00": "Alice", "SPEAKER_02": "Carol"},
    )


def _rediarized(turns: list[tuple[float, float, str]]) -> TranscriptionResult:
    return _reviewed().model_copy(
        update={
            "speaker_turns": [SpeakerTurn(start=a, end=b, speaker=s) for a, b, s in turns],
            "speakers": [SpeakerSummary(speaker=s, speaking_time=1.0) for s in sorted({s for *_, s in turns})],
            "speaker_names": {},
            "speaker_count_note": None,
        }
    )


def test_the_review_keeps_its_text_and_takes_the_new_speakers_by_time() -> None:
    new = _rediarized([(0, 4.1, "SPEAKER_01"), (4.1, 6, "SPEAKER_00"), (6, 8, "SPEAKER_01")])
    carried = carry_review(_reviewed(), new).result
    assert [s.text for s in carried.segments] == [s.text for s in _reviewed().segments]
    assert carried.segments[0].words[1].edited and carried.segments[0].words[1].word == " edited"
    assert [s.speaker for s in carried.segments] == ["SPEAKER_01", "SPEAKER_00", "SPEAKER_01"]
    assert [w.speaker for w in carried.segments[0].words] == ["SPEAKER_01"] * 3
    assert carried.speaker_turns == new.speaker_turns and carried.speakers == new.speakers


def test_a_name_carries_over_only_to_the_speaker_that_is_clearly_the_same() -> None:
    # A (4 s) and C (2 s) both become new SPEAKER_01: it came mostly from A, so it is Alice; Carol has no match
    new = _rediarized([(0, 4, "SPEAKER_01"), (4, 6, "SPEAKER_00"), (6, 8, "SPEAKER_01")])
    carried = carry_review(_reviewed(), new)
    assert carried.result.speaker_names == {"SPEAKER_01": "Alice"}
    assert carried.dropped_names == ["Carol"]


def test_a_name_is_dropped_when_the_new_speaker_is_mostly_someone_else() -> None:
    # only C is named: all of C's 2 s went to new SPEAKER_01, but 4 of SPEAKER_01's 6 s are A's (unnamed)
    reviewed = _reviewed().model_copy(update={"speaker_names": {"SPEAKER_02": "Carol"}})
    new = _rediarized([(0, 4, "SPEAKER_01"), (4, 6, "SPEAKER_00"), (6, 8, "SPEAKER_01")])
    carried = carry_review(reviewed, new)
    assert carried.result.speaker_names == {} and carried.dropped_names == ["Carol"]


def test_a_name_is_dropped_when_its_speaker_is_split_evenly() -> None:
    # Alice's words: "Hello" (1 s) and "there" (1 s) to new SPEAKER_00, "edited" (2 s) to SPEAKER_01: half each
    new = _rediarized([(0, 1, "SPEAKER_00"), (1, 3, "SPEAKER_01"), (3, 4, "SPEAKER_00"), (4, 8, "SPEAKER_02")])
    carried = carry_review(_reviewed(), new)
    assert "Alice" in carried.dropped_names and "Alice" not in carried.result.speaker_names.values()


def test_a_word_in_a_gap_takes_the_nearest_turn() -> None:
    turns = [SpeakerTurn(start=0, end=1, speaker="A"), SpeakerTurn(start=5, end=6, speaker="B")]
    assert speaker_at(4.0, 4.5, turns) == "B" and speaker_at(1.2, 1.4, turns) == "A"
    assert speaker_at(0.5, 5.5, turns) in {"A", "B"} and speaker_at(1, 2, []) is None


# --- what a finished upload keeps -------------------------------------------------------------------------------
def test_an_uploads_decoded_audio_is_kept_as_flac_with_its_hash(short_wav: Path, tmp_path: Path) -> None:
    checkpoints = JobCheckpoints.of_job(tmp_path)
    assert kept_audio(checkpoints) is None
    kept = keep_decoded_audio(short_wav, checkpoints, 600.0)
    assert kept_audio(checkpoints) == kept and kept.path.suffix == ".flac"
    original, copy = decode_audio(short_wav).samples, decode_audio(kept.path).samples
    assert len(copy) == len(original) and float(np.abs(copy - original).max()) < 1e-3  # int16: 3e-5
    assert kept.path.stat().st_size < len(original) * 2  # smaller than 16-bit PCM
    checkpoints.keep_only(["decoding", "aligning"])  # as a finished job tidies: the audio stays
    assert kept_audio(checkpoints) == kept


# --- what the queue refuses (real Valkey, no worker) ------------------------------------------------------------
def _completed(store: JobStore, tmp_path: Path, *, with_words: bool = True, audio: bool = True) -> str:
    """A job as the worker leaves a completed one: its record, transcript and kept checkpoints (no Redis job)."""
    job_id, job_dir = store.new_job_dir()
    source = tmp_path / "talk.wav"
    source.write_bytes(b"RIFF")
    store._write_record(
        job_id,
        filename="talk.wav",
        options=JobOptions().model_dump(),
        source_path=str(source) if audio else None,
        created_at=datetime.now(timezone.utc).isoformat(),
    )
    store.save_result(job_id, _reviewed(), None)
    if with_words:
        JobCheckpoints.of_job(job_dir).save("aligning", "fp", [])
    return job_id


def test_unknown_job_is_404_and_counts_reach_the_queue(store: JobStore, tmp_path: Path) -> None:
    with pytest.raises(JobNotFoundError):
        rediarize(store, UNKNOWN_JOB, SpeakerCounts(num_speakers=2))
    job_id = _completed(store, tmp_path)
    view = rediarize(store, job_id, SpeakerCounts(min_speakers=2, max_speakers=3))
    assert view.status == JobStatus.QUEUED
    assert view.options is not None and view.options.enable_diarization and view.options.max_speakers == 3
    with pytest.raises(JobConflictError, match="is queued; find speakers again once it has finished"):
        rediarize(store, job_id, SpeakerCounts(num_speakers=2))


def test_a_job_that_kept_nothing_says_what_is_missing(store: JobStore, tmp_path: Path) -> None:
    with pytest.raises(NothingKeptError, match="word checkpoint is gone"):
        rediarize(store, _completed(store, tmp_path, with_words=False), SpeakerCounts(num_speakers=2))
    with pytest.raises(NothingKeptError, match="its audio was not kept"):
        rediarize(store, _completed(store, tmp_path, audio=False), SpeakerCounts(num_speakers=2))


def test_a_reviewed_transcript_needs_keep_review(store: JobStore, tmp_path: Path) -> None:
    job_id = _completed(store, tmp_path)
    review.save(store.job_dir(job_id), _reviewed(), None)
    with pytest.raises(ReviewWouldChangeError, match="keep_review=true"):
        rediarize(store, job_id, SpeakerCounts(num_speakers=2))
    assert rediarize(store, job_id, SpeakerCounts(num_speakers=2), keep_review=True).status == JobStatus.QUEUED


# --- cleaning up ------------------------------------------------------------------------------------------------
def _entry(job_id: str, status: JobStatus, days_ago: float | None, now: datetime) -> LibraryEntry:
    ended = None if days_ago is None else now - timedelta(days=days_ago)
    return LibraryEntry(job_id=job_id, status=status, filename="x", completed_at=ended)


def test_gc_takes_finished_jobs_past_the_retention_only() -> None:
    now = datetime(2026, 12, 7, tzinfo=timezone.utc)
    entries = [
        _entry("old", JobStatus.COMPLETED, 31, now),
        _entry("new", JobStatus.COMPLETED, 29, now),
        _entry("failed-old", JobStatus.FAILED, 40, now),
        _entry("no-end", JobStatus.COMPLETED, None, now),
    ]
    assert expired(entries, now, 30) == ["old", "failed-old"]


def test_gc_and_delete_remove_the_checkpoints_and_keep_the_transcript(store: JobStore, tmp_path: Path) -> None:
    job_id = _completed(store, tmp_path)
    checkpoints = JobCheckpoints.of_job(store.job_dir(job_id))
    assert collect(store, datetime.now(timezone.utc), 30).jobs == 0 and checkpoints.has("aligning")
    done = collect(store, datetime.now(timezone.utc) + timedelta(days=31), 30)
    assert done.jobs == 1 and done.freed_bytes > 0 and not checkpoints.folder.exists()
    assert store.transcript(job_id).result.text == _reviewed().text
    other = _completed(store, tmp_path)
    store.delete(other)
    assert not JobCheckpoints.of_job(store.job_dir(other)).folder.exists()


def test_the_gc_command_cleans_the_data_dir(store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _completed(store, tmp_path)
    monkeypatch.setenv("STT_DATA_DIR", str(tmp_path / "data"))
    kept = CliRunner().invoke(app, ["gc"])  # 30 days by default: the job just ended
    assert kept.exit_code == 0 and "of 0 finished jobs older than 30 days" in kept.output, kept.output
    done = CliRunner().invoke(app, ["gc", "--days", "0"])
    assert done.exit_code == 0 and "of 1 finished jobs older than 0 days" in done.output, done.output
    assert not JobCheckpoints.of_job(store.job_dir(job_id)).folder.exists()
