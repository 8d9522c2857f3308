"""Saving a finished job's speaker to the voice library (``voices/enroll.py``) and its REST routes, on job folders
laid out as the worker leaves them (tests/enroll_jobs.py: no model runs). The same on a real diarized job, and the
saved voice naming its speaker: tests/test_diarization.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from stt_studio.api.app import create_app
from stt_studio.client import StudioClient
from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
from stt_studio.engine.diarization.local import local_embedding_fingerprint
from stt_studio.engine.result import SpeakerTurn
from stt_studio.jobs.store import JobNotFoundError, JobStore
from stt_studio.settings import Settings
from stt_studio.ui.voices.service import RemoteVoiceService, VoiceRefusedError
from stt_studio.voices.enroll import (
    EnrollmentRefusedError,
    NoSuchSpeakerError,
    NotEnrollableError,
    OtherModelError,
    TooLittleSpeechError,
    clean_turns,
    enroll_from_job,
)
from stt_studio.voices.library import VoiceLibrary
from tests.enroll_jobs import files_only_store, finished_job, tone_wav

CONSENT = "Diane agreed on 2026-12-07, by e-mail"


@pytest.fixture(scope="module")
def model() -> str:
    return local_embedding_fingerprint()


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return files_only_store(tmp_path / "data")


@pytest.fixture
def library(tmp_path: Path) -> VoiceLibrary:
    return VoiceLibrary.in_data_dir(tmp_path / "data")


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return tone_wav(tmp_path / "talk.wav")


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


def test_clean_turns_leave_out_overlap_and_short_stretches_longest_first_up_to_a_minute() -> None:
    turns = [SpeakerTurn(start=s, end=e, speaker=who) for s, e, who in
             [(0, 12, "A"), (11, 14, "B"), (14, 20, "A"), (20, 21.4, "A"), (30, 100, "A"), (50, 52, "B")]]  # fmt: skip
    speech = clean_turns(turns, "A")
    # 30-50 (20 s) and 52-100 (48 s) are the longest; the minute ends 40 s into the second one
    assert speech.turns == ((52.0, 100.0), (30.0, 42.0))
    assert speech.seconds == 60.0
    assert clean_turns(turns, "B").turns == ((12.0, 14.0),)  # A's time taken out of 11-14 and all of 50-52


def test_a_speaker_becomes_a_voice_with_a_clip_of_its_clean_turns_then_a_sample_of_it(
    store: JobStore, library: VoiceLibrary, audio: Path, model: str
) -> None:
    job_id = finished_job(store, audio, model)
    saved = enroll_from_job(store, library, job_id, "SPEAKER_00", consent=CONSENT, library_model=model, name="Diane")
    assert (saved.added_to_existing, saved.speech_seconds, saved.warning) == (False, 17.0, None)
    (sample,) = library.get(saved.voice.id).samples
    assert (sample.source, sample.consent, sample.model) == (f"job {job_id} speaker SPEAKER_00", CONSENT, model)
    assert sample.embedding == [1.0, 0.0, 0.0] and sample.speech_seconds == 17.0
    clip = decode_audio(library.clip_path(sample)).samples
    assert library.clip_path(sample).suffix == ".flac" and abs(len(clip) / SAMPLE_RATE - 17.0) < 0.01
    # longest turn first: 0-11 s (200 Hz at its start), then 14-20 s (480 Hz); 11-12 s, under Bob, left out
    assert dominant_hz(clip[: SAMPLE_RATE // 2]) == pytest.approx(200, abs=4)
    assert dominant_hz(clip[11 * SAMPLE_RATE : 11 * SAMPLE_RATE + SAMPLE_RATE // 2]) == pytest.approx(480, abs=4)

    desktop_job = finished_job(store, audio, model, keep_audio=False)  # the user's own file, not a kept copy
    again = enroll_from_job(
        store, library, desktop_job, "SPEAKER_02", consent="agreed", library_model=model, name="  dIANE "
    )
    assert again.added_to_existing and again.voice.id == saved.voice.id and len(library.voices()) == 1
    assert again.warning is not None and "6.0 s" in again.warning
    assert [s.speech_seconds for s in library.get(saved.voice.id).samples] == [17.0, 6.0]


def test_each_refusal_says_why(store: JobStore, library: VoiceLibrary, audio: Path, model: str) -> None:
    job_id = finished_job(store, audio, model)

    def enroll(job: str, speaker: str = "SPEAKER_00", consent: str = "agreed", current: str | None = model) -> None:
        enroll_from_job(store, library, job, speaker, consent=consent, library_model=current, name="Diane")

    cases: list[tuple[str, str, str, str, type[Exception], str]] = [
        (job_id, "SPEAKER_01", "agreed", model, TooLittleSpeechError, "alone for 4.5 s"),
        (job_id, "SPEAKER_07", "agreed", model, NoSuchSpeakerError, "no speaker 'SPEAKER_07'"),
        (job_id, "SPEAKER_00", "  ", model, EnrollmentRefusedError, "consent"),
        (job_id, "SPEAKER_00", "agreed", "campplus-192:other", OtherModelError, "campplus-192:other"),
        (finished_job(store, audio, model, diarized=False), "SPEAKER_00", "agreed", model, NotEnrollableError,
         "without finding speakers"),
        ("00000000-0000-4000-8000-000000000000", "SPEAKER_00", "agreed", model, JobNotFoundError, "00000000"),
    ]  # fmt: skip
    for job, speaker, consent, current, error, says in cases:
        with pytest.raises(error, match=says):
            enroll(job, speaker, consent, current)
    no_prints = finished_job(store, audio, model)
    (store.job_dir(no_prints) / "checkpoints" / "voice-prints.json").unlink()
    with pytest.raises(NotEnrollableError, match="kept no voice prints"):
        enroll(no_prints)
    gone = tone_wav(audio.with_name("gone.wav"))
    desktop_job = finished_job(store, gone, model, keep_audio=False)
    gone.unlink()
    with pytest.raises(NotEnrollableError, match="audio was not kept"):
        enroll(desktop_job)
    assert library.voices() == [] and not list(library.folder.glob("clips/*"))


# --- REST ----------------------------------------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path, store: JobStore) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "data"), store))


def test_post_voices_then_a_sample_and_the_same_name_again_adds_to_it(
    client: TestClient, store: JobStore, audio: Path, model: str
) -> None:
    job_id = finished_job(store, audio, model)
    created = client.post(
        "/voices", data={"name": "Diane", "job_id": job_id, "speaker": "SPEAKER_00", "consent": "true"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["added_to_existing"], body["warning"], body["speech_seconds"]) == (
        "Diane",
        False,
        None,
        17.0,
    )
    assert body["samples"][0]["consent"].startswith("The person agreed") and "embedding" not in created.text
    assert client.get(f"/voices/{body['id']}").json() == {
        k: v for k, v in body.items() if k not in ("added_to_existing", "warning", "sample_id")
    }
    form = {"job_id": job_id, "speaker": "SPEAKER_02", "consent": "true", "consent_note": "Carol said yes"}
    added = client.post(f"/voices/{body['id']}/samples", data=form)
    assert added.status_code == 201, added.text
    assert added.json()["added_to_existing"] and "6.0 s" in added.json()["warning"]
    assert added.json()["samples"][1]["consent"] == "Carol said yes"
    same_name = client.post("/voices", data={**form, "name": "DIANE"})
    assert same_name.status_code == 201 and same_name.json()["id"] == body["id"]
    assert len(same_name.json()["samples"]) == 3


def test_post_voices_refusals_are_4xx_that_say_which(
    client: TestClient, store: JobStore, audio: Path, model: str
) -> None:
    job_id = finished_job(store, audio, model)
    plain = finished_job(store, audio, model, diarized=False)
    other = finished_job(store, audio, "campplus-192:0000")
    ok = {"name": "Diane", "job_id": job_id, "speaker": "SPEAKER_00", "consent": "true"}
    cases = [
        ({**ok, "consent": "false"}, 422, "consent"),
        ({k: v for k, v in ok.items() if k != "consent"}, 422, "consent"),
        ({**ok, "name": "   "}, 422, "name"),
        ({**ok, "job_id": "00000000-0000-4000-8000-000000000000"}, 404, "Job not found"),
        ({**ok, "job_id": "not-a-job"}, 404, "Job not found"),
        ({**ok, "speaker": "SPEAKER_09"}, 404, "no speaker 'SPEAKER_09'"),
        ({**ok, "speaker": "SPEAKER_01"}, 409, "4.5 s"),
        ({**ok, "job_id": plain}, 409, "without finding speakers"),
        ({**ok, "job_id": other}, 409, "campplus-192:0000"),
    ]
    for form, code, says in cases:
        response = client.post("/voices", data=form)
        assert (response.status_code, says in response.json()["detail"]) == (code, True), (form, response.text)
    sample_form = {"job_id": job_id, "speaker": "SPEAKER_00", "consent": "true"}
    unknown = client.post("/voices/v_000000000000/samples", data=sample_form)
    assert unknown.status_code == 404 and "No voice" in unknown.json()["detail"]
    assert client.get("/voices").json()["voices"] == []


def test_a_name_of_separators_only_is_refused_by_the_documented_pattern(
    client: TestClient, store: JobStore, audio: Path, model: str
) -> None:
    """U+001C is no space to a JSON Schema's \\S but is to the library's name folding: the document must refuse it
    (422), not the library after the fact (a 400 for a schema-valid request)."""
    job_id = finished_job(store, audio, model)
    form = {"name": "\x1c\x1f", "job_id": job_id, "speaker": "SPEAKER_00", "consent": "true"}
    assert client.post("/voices", data=form).status_code == 422
    created = client.post("/voices", data={**form, "name": "Diane"}).json()
    assert client.patch(f"/voices/{created['id']}", json={"name": "\x1c"}).status_code == 422


def through(client: TestClient) -> httpx.MockTransport:
    """StudioClient's requests answered by the app in-process."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        response = client.request(request.method, path, content=request.content, headers=dict(request.headers))
        return httpx.Response(response.status_code, content=response.content, headers=dict(response.headers))

    return httpx.MockTransport(answer)


def test_the_window_on_a_server_saves_through_its_routes(
    client: TestClient, store: JobStore, audio: Path, model: str, tmp_path: Path
) -> None:
    """RemoteVoiceService (the window connected to a server) and StudioClient over the routes, in-process."""
    job_id = finished_job(store, audio, model)
    studio = StudioClient("http://testserver", transport=through(client))
    service = RemoteVoiceService(studio, tmp_path / "voice-samples")
    try:
        saved = asyncio.run(service.enroll(job_id, "SPEAKER_00", "Diane", "Diane said yes"))
        assert (saved.voice.name, saved.added_to_existing, saved.speech_seconds, saved.warning) == (
            "Diane",
            False,
            17.0,
            None,
        )
        again = asyncio.run(service.enroll(job_id, "SPEAKER_02", "dIANE", "Carol said yes"))
        assert again.added_to_existing and again.speech_seconds == 6.0 and again.warning is not None
        assert again.voice.samples[-1].consent == "Carol said yes"
        with pytest.raises(VoiceRefusedError, match=r"alone for 4\.5 s"):
            asyncio.run(service.enroll(job_id, "SPEAKER_01", "Bob", "Bob said yes"))
        third = studio.add_voice_sample(saved.voice.id, job_id, "SPEAKER_00")
        assert third.added_to_existing and len(third.voice.samples) == 3
        assert third.voice.samples[-1].consent.startswith("The person agreed")
    finally:
        service.close()
