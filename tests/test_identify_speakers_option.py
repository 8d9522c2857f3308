"""``identify_speakers`` on a real job: the shared ``serve`` (embedded Valkey, a real worker, tiny.en and the no-token
speaker models) diarizes pyannote's two-speaker sample with both its speakers enrolled in the server's library.
``false``: the job's speakers get no names, suggestions or candidates (the voice prints are kept all the same, so
identifying again later names them); ``true``: the enrolled voices name them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stt_studio.engine.result import TranscriptionResult
from stt_studio.voices.library import VoiceLibrary
from tests import live
from tests.conftest import LiveService
from tests.test_diarization import SAMPLE_DIR, enroll_sample_speakers, reference_speaker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def jobs(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """The sample's job with ``identify_speakers`` false and true, by that value, the library enrolled meanwhile."""
    library = VoiceLibrary.in_data_dir(service.data_dir)
    enroll_sample_speakers(library, tmp_path_factory.mktemp("enrolled"))
    try:
        submitted = {
            flag: live.submit(service.url, SAMPLE_DIR / "sample.wav", enable_diarization="true", identify_speakers=flag)
            for flag in ("false", "true")
        }
        yield {flag: live.wait_job(service.url, job_id, timeout=600) for flag, job_id in submitted.items()}
    finally:
        shutil.rmtree(library.folder)  # the session's other diarized jobs run without a library


def _result(job: dict[str, Any]) -> TranscriptionResult:
    assert job["status"] == "completed", job
    return TranscriptionResult.model_validate(job["result"])


def test_without_identification_the_speakers_get_no_names(
    service: LiveService, jobs: dict[str, dict[str, Any]]
) -> None:
    result = _result(jobs["false"])
    assert result.speakers is not None and len(result.speakers) == 2
    for speaker in result.speakers:
        named = (speaker.name, speaker.voice_id, speaker.match, speaker.score, speaker.candidates)
        assert named == (None,) * 5 and speaker.also_sounds_like is None, speaker
    assert result.speaker_names == {}
    text = httpx.get(f"{service.url}/jobs/{jobs['false']['job_id']}/export", params={"format": "txt"}).text
    assert "speaker90" not in text and "speaker91" not in text

    # its prints were kept: identifying again names the speakers
    identified = httpx.post(f"{service.url}/jobs/{jobs['false']['job_id']}/identify", timeout=60)
    assert identified.status_code == 200, identified.text
    again = TranscriptionResult.model_validate_json(identified.content)
    assert {s.name for s in again.speakers or ()} == {"speaker90", "speaker91"}


def test_with_identification_the_enrolled_voices_name_them(jobs: dict[str, dict[str, Any]]) -> None:
    result = _result(jobs["true"])
    assert result.speakers is not None and result.speaker_turns is not None and len(result.speakers) == 2
    for speaker in result.speakers:
        print(f"{speaker.speaker}: {speaker.name} {speaker.match} score {speaker.score} margin {speaker.margin}")
        assert speaker.name == reference_speaker(speaker.speaker, result.speaker_turns, Path(SAMPLE_DIR, "sample.rttm"))
        assert speaker.match == "auto" and speaker.voice_id is not None and speaker.candidates
