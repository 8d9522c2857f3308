"""``POST /voices`` and ``POST /voices/{id}/samples`` with a clip (``file``), on the app in-process (these routes
touch no queue) and real speech: clips of pyannote's two-speaker sample, their speakers found by the real
diarization in the server process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stt_studio.api.app import create_app
from stt_studio.engine.audio import decode_audio
from stt_studio.settings import Settings
from stt_studio.voices.library import VoiceLibrary
from tests.sample_clips import BOTH_LONGER, SPEAKER91_LONG, SPEAKER91_SHORT, cut, silence

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    text = folder / "notes.mp3"
    text.write_text("not audio\n" * 5000)
    return {
        "speaker91": cut(folder / "speaker91.flac", SPEAKER91_LONG),
        "speaker91-short": cut(folder / "speaker91-short.wav", SPEAKER91_SHORT),
        "both": cut(folder / "both.ogg", BOTH_LONGER),
        "silence": silence(folder / "silence.wav", 6.0),
        "text": text,
    }


@pytest.fixture(scope="module")
def app_client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    data = tmp_path_factory.mktemp("voices-api") / "data"
    app = create_app(settings.model_copy(update={"data_dir": data}))
    yield TestClient(app), data


def _post(client: TestClient, path: str, clip: Path, **form: str) -> tuple[int, dict[str, object]]:
    with clip.open("rb") as f:
        answer = client.post(path, data={"consent": "true", **form}, files={"file": (clip.name, f)})
    return answer.status_code, answer.json()


def test_a_clip_becomes_a_voice_then_another_sample_of_it(
    app_client: tuple[TestClient, Path], files: dict[str, Path]
) -> None:
    client, data = app_client
    code, voice = _post(client, "/voices", files["speaker91"], name="Diane")
    print("POST /voices with speaker91's clip:", code, {k: voice[k] for k in ("speech_seconds", "warning")})
    assert code == 201, voice
    assert voice["name"] == "Diane" and isinstance(voice["id"], str) and voice["added_to_existing"] is False
    assert 5.0 <= float(voice["speech_seconds"]) <= 6.1  # type: ignore[arg-type]
    assert isinstance(voice["warning"], str) and "10 s" in voice["warning"]
    samples = voice["samples"]
    assert isinstance(samples, list) and len(samples) == 1
    sample = samples[0]
    assert sample["source"] == "file speaker91.flac" and sample["model"].startswith("campplus-192:")
    assert "embedding" not in str(voice) and "vector" not in str(voice)
    library = VoiceLibrary.in_data_dir(data)
    (stored,) = library.get(str(voice["id"])).samples
    clip = library.clip_path(stored)
    assert clip.suffix == ".flac" and abs(decode_audio(clip).duration - stored.speech_seconds) < 0.01
    import av

    with av.open(str(clip)) as container:
        stream = container.streams.audio[0]
        assert (stream.rate, stream.channels) == (16000, 1)

    code, more = _post(client, f"/voices/{voice['id']}/samples", files["speaker91"])
    assert code == 201 and more["added_to_existing"] is True and len(more["samples"]) == 2  # type: ignore[arg-type]
    code, again = _post(client, "/voices", files["speaker91"], name="diane")  # the same name, another case
    assert code == 201 and again["id"] == voice["id"] and len(again["samples"]) == 3  # type: ignore[arg-type]


def test_a_clip_of_two_voices_is_409_listing_them_and_one_is_picked(
    app_client: tuple[TestClient, Path], files: dict[str, Path]
) -> None:
    client, _ = app_client
    code, refused = _post(client, "/voices", files["both"], name="Bob")
    print("two voices:", code, refused)
    assert code == 409 and "2 voices" in str(refused["detail"])
    speakers = refused["speakers"]
    assert isinstance(speakers, list) and len(speakers) == 2
    most, other = speakers
    assert most["speech_seconds"] >= 5.0 > other["speech_seconds"]
    assert all(s["first_end"] > s["first_start"] >= 0 for s in speakers)
    assert all(v["name"] != "Bob" for v in client.get("/voices").json()["voices"])

    code, picked = _post(client, "/voices", files["both"], name="Bob", speaker=most["speaker"])
    assert code == 201, picked
    assert picked["samples"][0]["source"] == f"file both.ogg ({most['speaker']})"  # type: ignore[index]
    assert abs(float(picked["speech_seconds"]) - most["speech_seconds"]) < 0.05  # type: ignore[arg-type]
    code, little = _post(client, "/voices", files["both"], name="Carol", speaker=other["speaker"])
    assert code == 422 and "a voice needs at least 5 s" in str(little["detail"])
    code, unknown = _post(client, "/voices", files["both"], name="Carol", speaker="SPEAKER_09")
    assert code == 422 and "no speaker 'SPEAKER_09'" in str(unknown["detail"])


def test_clips_that_give_no_voice_are_4xx_that_say_why(
    app_client: tuple[TestClient, Path], files: dict[str, Path], tmp_path: Path
) -> None:
    client, _ = app_client
    cases = [
        ("/voices", files["silence"], {"name": "Eve"}, 422, "No speech"),
        ("/voices", files["speaker91-short"], {"name": "Eve"}, 422, "3.2 s long; it needs at least 5 s"),
        ("/voices", files["text"], {"name": "Eve"}, 422, "cannot be used as audio"),
        ("/voices", files["speaker91"], {"name": "Eve", "job_id": "x", "speaker": "S"}, 422, "not both"),
        ("/voices", files["speaker91"], {"name": "Eve", "consent": "false"}, 422, "consent"),
        ("/voices/v_000000000000/samples", files["speaker91"], {}, 404, "No voice"),
    ]
    for path, clip, form, code, says in cases:
        got, body = _post(client, path, clip, **form)
        assert (got, says in str(body["detail"])) == (code, True), (path, clip.name, form, body)
    neither = client.post("/voices", data={"name": "Eve", "consent": "true"})
    assert neither.status_code == 422 and "send a clip" in neither.json()["detail"]
    no_speaker = client.post("/voices", data={"name": "Eve", "consent": "true", "job_id": "j"})
    assert no_speaker.status_code == 422 and "speaker: required with job_id" in no_speaker.json()["detail"]
    assert all(v["name"] != "Eve" for v in client.get("/voices").json()["voices"])


def test_a_refresh_embeds_an_older_models_samples_from_their_clips(
    app_client: tuple[TestClient, Path], files: dict[str, Path]
) -> None:
    """A voice whose sample is marked as another model's (a model change) is left out of matching until
    POST /voice-library/refresh embeds its saved clip with the current model: close to the vector it was enrolled
    with."""
    client, data = app_client
    code, voice = _post(client, "/voices", files["speaker91"], name="Refreshed")
    assert code == 201, voice
    library = VoiceLibrary.in_data_dir(data)
    stored = library.get(str(voice["id"]))
    enrolled = list(stored.samples[0].embedding)
    current = stored.samples[0].model
    path = library.folder / "voices" / f"{stored.id}.json"
    raw = json.loads(path.read_text())
    raw["samples"][0].update(model="campplus-192:older", embedding=[0.1] * len(enrolled))
    path.write_text(json.dumps(raw))
    assert next(v for v in client.get("/voices").json()["voices"] if v["id"] == stored.id)["needs_refresh"] is True

    answer = client.post("/voice-library/refresh")
    print("POST /voice-library/refresh:", answer.status_code, answer.json())
    assert answer.status_code == 200 and answer.json()["model"] == current
    assert answer.json()["refreshed"] >= 1 and answer.json()["problems"] == []
    (sample,) = library.get(stored.id).samples
    assert sample.model == current
    cosine = float(np.dot(sample.embedding, enrolled) / (np.linalg.norm(sample.embedding) * np.linalg.norm(enrolled)))
    print(f"refreshed vs enrolled vector: cosine {cosine:.4f}")
    # the saved clip is the speaker's speech alone, cut from the enrolled file: the same speech, not the same
    # samples, so the vector is close, not equal (0.966 here; impostors on this recording reach 0.66)
    assert cosine > 0.9
    assert next(v for v in client.get("/voices").json()["voices"] if v["id"] == stored.id)["needs_refresh"] is False
