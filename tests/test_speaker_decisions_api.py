"""POST /jobs/{id}/speakers/{label}/decision and POST /jobs/{id}/identify on a real store (embedded Valkey) and a job
folder laid out as the worker leaves it (``tests/enroll_jobs.py``: transcript, constructed voice prints); the
library a real folder. The same on a job diarized for real: tests/test_diarization.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stt_studio.api.app import create_app
from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.voices.library import NewSample, VoiceLibrary
from tests.enroll_jobs import finished_job, tone_wav

MODEL = "campplus-192:test"
UNKNOWN_JOB = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def library(store: JobStore) -> VoiceLibrary:
    return VoiceLibrary.in_data_dir(store.jobs_dir.parent)


@pytest.fixture
def client(store: JobStore) -> TestClient:
    return TestClient(create_app(Settings(data_dir=store.jobs_dir.parent), store))


@pytest.fixture
def job_id(store: JobStore, tmp_path: Path) -> str:
    """A finished job whose speakers' prints are (1,0,0), (0,1,0), (0,0,1) (SPEAKER_00..02)."""
    return finished_job(store, tone_wav(tmp_path / "talk.wav"), MODEL)


def enroll(library: VoiceLibrary, tmp_path: Path, name: str, vector: tuple[float, ...]) -> str:
    clip = tmp_path / f"{name}.wav"
    clip.write_bytes(b"RIFF")
    return library.add_voice(name, NewSample(vector, MODEL, clip, 10.0, "test", "agreed")).id


def speakers(answer: Any) -> dict[str, dict[str, Any]]:
    result = TranscriptionResult.model_validate_json(answer.content)
    return {s.speaker: s.model_dump() for s in result.speakers or ()}


def test_identify_again_then_accept_reject_and_merge(
    client: TestClient, library: VoiceLibrary, job_id: str, tmp_path: Path
) -> None:
    diane = enroll(library, tmp_path, "Diane", (0.75, 0.0, 0.66))  # 0.75 with SPEAKER_00: a suggestion
    bob = enroll(library, tmp_path, "Bob", (0.0, 1.0, 0.05))  # SPEAKER_01, clearly
    identified = client.post(f"/jobs/{job_id}/identify")
    assert identified.status_code == 200, identified.text
    assert identified.headers["X-Transcript-Reviewed"] == "true" and identified.headers["ETag"]
    found = speakers(identified)
    assert (found["SPEAKER_00"]["name"], found["SPEAKER_00"]["match"]) == ("Diane", "suggested")
    assert (found["SPEAKER_01"]["name"], found["SPEAKER_01"]["match"]) == ("Bob", "auto")
    # SPEAKER_02 (0,0,1) scores 0.66 with Diane, named on SPEAKER_00: below the 0.70 of a hint
    assert found["SPEAKER_02"]["match"] == "unknown"

    def export() -> str:
        answer = client.get(f"/jobs/{job_id}/export", params={"format": "txt", "include_timestamps": "false"})
        assert answer.status_code == 200, answer.text
        return answer.text

    assert "Bob" in export() and "Diane" not in export()  # a suggestion is no name until accepted

    accepted = client.post(f"/jobs/{job_id}/speakers/SPEAKER_00/decision", json={"decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert speakers(accepted)["SPEAKER_00"]["match"] == "accepted"
    assert "Diane" in export()

    rejected = client.post(f"/jobs/{job_id}/speakers/SPEAKER_01/decision", json={"decision": "reject"})
    assert rejected.status_code == 200, rejected.text
    assert (speakers(rejected)["SPEAKER_01"]["match"], speakers(rejected)["SPEAKER_01"]["rejected_voices"]) == (
        "unknown",
        [bob],
    )
    assert "Bob" not in export()
    # identify again: the rejection holds, the accepted name stays
    again = speakers(client.post(f"/jobs/{job_id}/identify"))
    assert again["SPEAKER_01"]["match"] == "unknown" and again["SPEAKER_01"]["rejected_voices"] == [bob]
    assert bob not in [c["voice_id"] for c in again["SPEAKER_01"]["candidates"]]
    assert (again["SPEAKER_00"]["match"], again["SPEAKER_00"]["voice_id"]) == ("accepted", diane)

    # SPEAKER_02 now also sounds like Diane (another sample close to it): merge it into SPEAKER_00
    library.add_sample(diane, NewSample((0.3, 0.0, 0.95), MODEL, tmp_path / "Diane.wav", 10.0, "test", "agreed"))
    hinted = speakers(client.post(f"/jobs/{job_id}/identify"))
    assert hinted["SPEAKER_02"]["also_sounds_like"]["name"] == "Diane"
    merged = client.post(f"/jobs/{job_id}/speakers/SPEAKER_02/decision", json={"decision": "merge"})
    assert merged.status_code == 200, merged.text
    assert sorted(speakers(merged)) == ["SPEAKER_00", "SPEAKER_01"]


def test_refusals_say_why(
    client: TestClient, store: JobStore, library: VoiceLibrary, job_id: str, tmp_path: Path
) -> None:
    def decide(job: str, label: str, body: object) -> tuple[int, str]:
        answer = client.post(f"/jobs/{job}/speakers/{label}/decision", json=body)
        return answer.status_code, answer.text

    assert decide(UNKNOWN_JOB, "SPEAKER_00", {"decision": "accept"})[0] == 404
    status, text = decide(job_id, "SPEAKER_09", {"decision": "accept"})
    assert status == 404 and "SPEAKER_09" in text
    status, text = decide(job_id, "SPEAKER_00", {"decision": "accept"})
    assert status == 409 and "no suggested name" in text and "not compared" in text
    assert decide(job_id, "SPEAKER_00", {"decision": "maybe"})[0] == 422
    assert decide(job_id, "SPEAKER_00", {})[0] == 422

    status_code = client.post(f"/jobs/{job_id}/identify")
    assert status_code.status_code == 409 and "no voices" in status_code.json()["detail"]
    assert client.post(f"/jobs/{UNKNOWN_JOB}/identify").status_code == 404
    enroll(library, tmp_path, "Diane", (1.0, 0.0, 0.0))
    flat = finished_job(store, tone_wav(tmp_path / "flat.wav"), MODEL, diarized=False)
    refused = client.post(f"/jobs/{flat}/identify")
    assert refused.status_code == 409 and "without finding speakers" in refused.json()["detail"]
    other_model = finished_job(store, tone_wav(tmp_path / "other.wav"), "another-model:1")
    refused = client.post(f"/jobs/{other_model}/identify")
    assert refused.status_code == 409 and "another-model:1" in refused.json()["detail"]


def test_identify_speakers_and_naming_go_with_the_job(client: TestClient, tmp_path: Path) -> None:
    wav = tone_wav(tmp_path / "tone.wav", seconds=2.0)
    submitted = client.post(
        "/transcribe/async",
        files={"file": ("tone.wav", wav.read_bytes(), "audio/wav")},
        data={"enable_diarization": "true", "identify_speakers": "false", "name_speakers_automatically": "false"},
    )
    assert submitted.status_code == 200, submitted.text
    options = client.get(f"/jobs/{submitted.json()['job_id']}").json()["options"]
    assert (options["identify_speakers"], options["name_speakers_automatically"]) == (False, False)
    default = client.post("/transcribe/async", files={"file": ("tone.wav", wav.read_bytes(), "audio/wav")})
    options = client.get(f"/jobs/{default.json()['job_id']}").json()["options"]
    assert (options["identify_speakers"], options["name_speakers_automatically"]) == (True, True)
