"""Decisions and identify-again on pyannote's two-speaker sample diarized for real by the shared serve's worker:
one speaker enrolled beforehand and named as a suggestion (name_speakers_automatically=false), rejected; the other
enrolled after the job and found by identify-again, which keeps the rejection; accepted, then named in exports."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from stt_studio.engine.result import TranscriptionResult
from stt_studio.voices.library import VoiceLibrary
from tests import live
from tests.conftest import LiveService
from tests.test_diarization import ENROLLED_TURNS, SAMPLE_DIR, enroll_sample_speakers, reference_speaker

pytestmark = pytest.mark.slow


def _speakers(answer: httpx.Response) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    result = TranscriptionResult.model_validate_json(answer.content)
    return {s.speaker: s.model_dump() for s in result.speakers or ()}


def test_reject_identify_again_after_enrolling_then_accept(
    service: LiveService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = VoiceLibrary.in_data_dir(service.data_dir)
    only_91 = {"speaker91": ENROLLED_TURNS["speaker91"]}
    monkeypatch.setattr("tests.test_diarization.ENROLLED_TURNS", only_91)
    enroll_sample_speakers(library, tmp_path)
    try:
        job_id = live.submit(
            service.url, SAMPLE_DIR / "sample.wav", enable_diarization="true", name_speakers_automatically="false"
        )
        job = live.wait_job(service.url, job_id, timeout=900)
        assert job["status"] == "completed", job
        result = TranscriptionResult.model_validate(job["result"])
        assert result.speakers is not None and result.speaker_turns is not None and len(result.speakers) == 2
        who = {
            s.speaker: reference_speaker(s.speaker, result.speaker_turns, SAMPLE_DIR / "sample.rttm")
            for s in result.speakers
        }
        label_91 = next(label for label, ref in who.items() if ref == "speaker91")
        label_90 = next(label for label, ref in who.items() if ref == "speaker90")
        found = {s.speaker: s for s in result.speakers}
        for s in result.speakers:
            print(f"{s.speaker} ({who[s.speaker]}): {s.match} {s.name} score {s.score}")
        assert (found[label_91].match, found[label_91].name) == ("suggested", "speaker91")  # clear, yet asked
        assert found[label_90].match == "unknown"

        url = f"{service.url}/jobs/{job_id}"
        rejected = _speakers(httpx.post(f"{url}/speakers/{label_91}/decision", json={"decision": "reject"}))
        voice_91 = found[label_91].voice_id
        assert rejected[label_91]["match"] == "unknown" and rejected[label_91]["rejected_voices"] == [voice_91]

        monkeypatch.setattr("tests.test_diarization.ENROLLED_TURNS", {"speaker90": ENROLLED_TURNS["speaker90"]})
        enroll_sample_speakers(library, tmp_path)
        again = _speakers(httpx.post(f"{url}/identify", timeout=30))
        for label, fields in again.items():
            print(f"identify again: {label} ({who[label]}): {fields['match']} {fields['name']} score {fields['score']}")
        assert (again[label_90]["name"], again[label_90]["match"]) == ("speaker90", "suggested")
        assert again[label_91]["match"] == "unknown" and again[label_91]["rejected_voices"] == [voice_91]

        before = httpx.get(f"{url}/export", params={"format": "txt"}).text
        assert "speaker90" not in before and "speaker91" not in before
        accepted = _speakers(httpx.post(f"{url}/speakers/{label_90}/decision", json={"decision": "accept"}))
        assert accepted[label_90]["match"] == "accepted"
        for fmt in ("txt", "srt", "vtt", "rttm", "html"):
            text = httpx.get(f"{url}/export", params={"format": fmt}).text
            assert "speaker90" in text, fmt
            assert "speaker91" not in text, fmt
        nothing = httpx.post(f"{url}/speakers/{label_90}/decision", json={"decision": "accept"})
        assert nothing.status_code == 409 and "accepted as speaker90" in nothing.json()["detail"]
    finally:
        shutil.rmtree(library.folder, ignore_errors=True)  # later diarized jobs of the session run without one
