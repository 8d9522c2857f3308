"""The API's fast rendering of a job (stored transcript embedded unparsed) says exactly what the model says."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from stt_studio.engine.result import Segment, SpeakerSummary, TranscriptionResult, Word
from stt_studio.jobs.models import JobStatus, JobView


def _result() -> TranscriptionResult:
    words = [Word(word="Hello", start=0.0, end=0.4, score=0.9, speaker="SPEAKER_00"),
             Word(word="wörld", start=0.5, end=0.9, score=0.8, speaker="SPEAKER_00")]  # fmt: skip
    return TranscriptionResult(
        text="Hello wörld",
        language="en",
        duration=1.0,
        segments=[Segment(id=0, start=0.0, end=0.9, text="Hello wörld", words=words, speaker="SPEAKER_00")],
        processing_time=0.5,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=[SpeakerSummary(speaker="SPEAKER_00", speaking_time=0.9)],
    )


def test_embedded_transcript_matches_the_model_rendering() -> None:
    result = _result()
    when = datetime(2026, 11, 30, 12, 0, 5, 123456, tzinfo=timezone.utc)
    view = JobView(job_id="j", status=JobStatus.COMPLETED, progress=100, created_at=when, filename="a.wav")
    with_model = view.model_copy(update={"result": result}).to_response()
    fast = json.loads(view.to_json(result.model_dump_json().encode()))
    assert fast == with_model
    assert fast["created_at"] == "2026-11-30T12:00:05"  # the contract's format
    assert list(fast)[-1] == "result"


def test_unfinished_job_has_neither_result_nor_error() -> None:
    data = json.loads(JobView(job_id="j", status=JobStatus.PROCESSING, progress=40, stage="transcribing").to_json())
    assert data["progress"] == 40 and data["stage"] == "transcribing"
    assert "result" not in data and "error" not in data
