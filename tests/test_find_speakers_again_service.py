"""Find speakers again, end to end on the real worker (``serve`` with tiny.en and the bundled speaker models):
pyannote's two-speaker sample diarized with exactly 3, reviewed (a word corrected, a speaker named), then found
again with exactly 2 and keep_review: 2 speakers, the transcription read back (``reused``), the edit and the name
kept; the refusals (409 while it runs, on a review without keep_review; 404; 400s), and the CLI's. Then the same job
transcribed again with base (discard_review): speech regions and speaker turns read back, the words found anew."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from stt_studio.cli import app
from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.speakers import rename_speaker
from stt_studio.jobs.models import JobStatus
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.ui.remote_service import RemoteJobService, RemoteProfile
from stt_studio.ui.service import RediarizeRefusedError, RetranscribeRefusedError
from tests import live
from tests.conftest import LiveService
from tests.test_diarization import SAMPLE_DIR

pytestmark = pytest.mark.slow

UNKNOWN_JOB = "00000000-0000-0000-0000-000000000000"
NEW_WORD = "Xylophone"
NAME = "Dr. Chen"


def _post(service: LiveService, job_id: str, **form: str) -> httpx.Response:
    return httpx.post(f"{service.url}/jobs/{job_id}/rediarize", data=form, timeout=30)


def _reviewed(result: TranscriptionResult) -> TranscriptionResult:
    """A word of the first segment corrected, and the speaker who talks longest named."""
    edited = result.model_copy(deep=True)
    segment = edited.segments[0]
    index, old = next((i, w.word) for i, w in enumerate(segment.words) if len(w.word.strip()) >= 3)
    segment.words[index] = segment.words[index].model_copy(
        update={"word": f" {NEW_WORD}", "score": None, "edited": True}
    )
    segment.text = segment.text.replace(old.strip(), NEW_WORD, 1)
    assert result.speakers is not None
    longest = max(result.speakers, key=lambda s: s.speaking_time).speaker
    return rename_speaker(edited, longest, NAME)


def test_three_speakers_found_again_as_two_keep_the_review(service: LiveService, tmp_path: Path) -> None:
    job_id = live.submit(service.url, SAMPLE_DIR / "sample.wav", enable_diarization="true", num_speakers="3")
    job = live.wait_job(service.url, job_id, timeout=600)
    assert job["status"] == "completed", job
    assert len(job["result"]["speakers"]) == 3, job["result"]["speakers"]
    assert (service.data_dir / "jobs" / job_id / "checkpoints" / "decoding.flac").is_file(), "the upload's audio"

    transcript = httpx.get(f"{service.url}/jobs/{job_id}/transcript", timeout=10)
    edited = _reviewed(TranscriptionResult.model_validate_json(transcript.content))
    saved = httpx.put(
        f"{service.url}/jobs/{job_id}/transcript",
        content=edited.model_dump_json(),
        headers={"If-Match": transcript.headers["ETag"], "Content-Type": "application/json"},
        timeout=30,
    )
    assert saved.status_code == 200, saved.text

    refused = _post(service, job_id, num_speakers="2")
    assert refused.status_code == 409 and "keep_review=true" in refused.json()["detail"]
    for form, says in (
        ({"num_speakers": "2", "min_speakers": "1"}, "not both"),
        ({"min_speakers": "3", "max_speakers": "2"}, "must not be larger"),
        ({"num_speakers": "0"}, "between 1 and 20"),
        ({"max_speakers": "21"}, "between 1 and 20"),
    ):
        bad = _post(service, job_id, **form)
        assert bad.status_code == 400 and says in bad.json()["detail"], (form, bad.text)
    assert _post(service, UNKNOWN_JOB, num_speakers="2").status_code == 404

    remote = RemoteJobService(RemoteProfile("serve", service.url), None, tmp_path)  # the window's way to a server
    queued = asyncio.run(remote.rediarize(job_id, SpeakerCounts(num_speakers=2), keep_review=True))
    assert queued.job_id == job_id and queued.status in (JobStatus.QUEUED, JobStatus.PROCESSING), queued
    again = _post(service, job_id, num_speakers="2", keep_review="true")
    assert again.status_code == 409 and re.search(r"is (queued|processing)", again.json()["detail"]), again.text

    job = live.wait_job(service.url, job_id, timeout=600)
    assert job["status"] == "completed", job
    result = TranscriptionResult.model_validate(job["result"])
    assert result.speakers is not None and len(result.speakers) == 2, result.speakers
    last = max(stage["attempt"] for stage in job["stages"])
    reused = {stage["name"]: stage["reused"] for stage in job["stages"] if stage["attempt"] == last}
    assert reused["transcribing"] and reused["aligning"] and not reused["diarizing"], job["stages"]
    assert job["reviewed"] and NEW_WORD in result.segments[0].text, "the review's edit is kept"
    assert result.segments[0].words[0].speaker in {s.speaker for s in result.speakers}, "new speakers on its words"
    assert list(result.speaker_names.values()) == [NAME], result.speaker_names
    named = next(label for label, name in result.speaker_names.items() if name == NAME)
    assert named in {s.speaker for s in result.speakers}
    original = httpx.get(f"{service.url}/jobs/{job_id}/transcript/original", timeout=10).json()
    assert len(original["speakers"]) == 2 and NEW_WORD not in original["segments"][0]["text"]

    _transcribed_again_with_base(service, job_id)


def _retranscribe(service: LiveService, job_id: str, **form: str) -> httpx.Response:
    return httpx.post(f"{service.url}/jobs/{job_id}/retranscribe", data=form, timeout=30)


def _transcribed_again_with_base(service: LiveService, job_id: str) -> None:
    """The reviewed tiny.en job transcribed again with base: the speech regions read back, the words anew."""
    for form, code, says in (
        ({"model": "tiny.en"}, 409, "Nothing would change"),
        ({"task": "translate"}, 409, "cannot translate"),
        ({"model": "tiny.en", "task": "translate"}, 400, "cannot translate"),
        ({"model": "/etc/passwd"}, 400, "Unknown model"),
        ({"language": "xx", "model": "base"}, 400, "Unknown language code"),
        ({"model": "base"}, 409, "discard_review=true"),
    ):
        refused = _retranscribe(service, job_id, **form)
        assert refused.status_code == code and says in refused.json()["detail"], (form, refused.text)
    assert _retranscribe(service, UNKNOWN_JOB, model="base").status_code == 404
    queued = _retranscribe(service, job_id, model="base", discard_review="true")
    assert queued.status_code == 202 and queued.json()["job_id"] == job_id, queued.text
    job = live.wait_job(service.url, job_id, timeout=600)
    assert job["status"] == "completed" and job["result"]["model"] == "base", job
    assert not job["reviewed"] and NEW_WORD not in job["result"]["text"], "the review of the old text is discarded"
    last = max(stage["attempt"] for stage in job["stages"])
    reused = {stage["name"]: stage["reused"] for stage in job["stages"] if stage["attempt"] == last}
    assert reused["vad"] and not reused["decoding"], job["stages"]  # decoding the kept 16 kHz FLAC always runs
    assert not reused["transcribing"] and not reused["aligning"], job["stages"]
    assert reused["diarizing"], "the speaker turns depend on the audio alone: read back, put on the new words"


def test_the_cli_and_the_remote_window_say_why_they_cannot(service: LiveService, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["rediarize", UNKNOWN_JOB, "--speakers", "2", "--url", service.url])
    assert unknown.exit_code == 1 and "Job not found" in unknown.output, unknown.output
    both = runner.invoke(app, ["rediarize", UNKNOWN_JOB, "--speakers", "2", "--min-speakers", "1"])
    assert both.exit_code == 2 and "not both" in both.output, both.output
    remote = RemoteJobService(RemoteProfile("serve", service.url), None, tmp_path)
    with pytest.raises(RediarizeRefusedError, match="Job not found"):
        asyncio.run(remote.rediarize(UNKNOWN_JOB, SpeakerCounts(num_speakers=2), keep_review=False))
    retranscribe = runner.invoke(app, ["retranscribe", UNKNOWN_JOB, "--model", "base", "--url", service.url])
    assert retranscribe.exit_code == 1 and "Job not found" in retranscribe.output, retranscribe.output
    with pytest.raises(RetranscribeRefusedError, match="Job not found"):
        asyncio.run(remote.retranscribe(UNKNOWN_JOB, NewTranscription(model="base"), discard_review=False))
