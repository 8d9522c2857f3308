"""The voice library's REST routes on a real library folder (the app in-process: these routes touch no queue)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stt_studio.api.app import create_app
from stt_studio.settings import DiarizationBackend, Settings
from stt_studio.voices.library import NewSample, Voice, VoiceLibrary


@pytest.fixture
def library(tmp_path: Path) -> VoiceLibrary:
    return VoiceLibrary.in_data_dir(tmp_path / "data")


@pytest.fixture
def client(tmp_path: Path, library: VoiceLibrary) -> TestClient:
    return TestClient(create_app(Settings(data_dir=library.folder.parent)))


def _numbers_in_lists(value: object) -> bool:
    """Whether any list in a JSON answer holds numbers (a voice vector); a timestamp may well contain "0.6"."""
    if isinstance(value, dict):
        return any(_numbers_in_lists(item) for item in value.values())
    if isinstance(value, list):
        return any(isinstance(item, (int, float)) or _numbers_in_lists(item) for item in value)
    return False


def enroll(library: VoiceLibrary, tmp_path: Path, name: str) -> Voice:
    clip = tmp_path / f"{name}.wav"
    clip.write_bytes(b"RIFF")
    return library.add_voice(name, NewSample((0.6, 0.8), "m:1", clip, 11.0, f"job:1 {name}", "agreed"))


def test_list_read_rename_and_delete_without_ever_showing_a_vector(
    client: TestClient, library: VoiceLibrary, tmp_path: Path
) -> None:
    diane = enroll(library, tmp_path, "Diane")
    enroll(library, tmp_path, "Bob")
    listing = client.get("/voices")
    assert listing.status_code == 200 and [v["name"] for v in listing.json()["voices"]] == ["Bob", "Diane"]
    assert "embedding" not in listing.text and not _numbers_in_lists(listing.json())
    one = client.get(f"/voices/{diane.id}").json()
    assert (one["name"], one["speech_seconds"], one["samples"][0]["consent"]) == ("Diane", 11.0, "agreed")
    renamed = client.patch(f"/voices/{diane.id}", json={"name": "Diane K"})
    assert renamed.status_code == 200 and library.get(diane.id).name == "Diane K"
    clip = library.clip_path(diane.samples[0])
    assert client.delete(f"/voices/{diane.id}").json() == {"id": diane.id, "deleted": True}
    assert not clip.exists() and client.get(f"/voices/{diane.id}").status_code == 404


def test_bad_input_gets_a_4xx_that_says_why(client: TestClient, library: VoiceLibrary, tmp_path: Path) -> None:
    diane = enroll(library, tmp_path, "Diane")
    enroll(library, tmp_path, "Bob")
    cases = [
        (client.patch(f"/voices/{diane.id}", json={"name": "bob"}), 409, "'Bob' is already in the library"),
        (client.patch(f"/voices/{diane.id}", json={"name": "   "}), 422, "name"),
        (client.patch(f"/voices/{diane.id}", json={"name": ""}), 422, "name"),
        (client.get("/voices/v_000000000000"), 404, "No voice"),
        (client.get("/voices/..secrets"), 404, "No voice"),
        (client.delete(f"/voices/{diane.id}/samples/s_000000000000"), 404, "has no sample"),
    ]
    for response, code, words in cases:
        assert response.status_code == code, response.text
        assert words in response.text


def test_a_damaged_voice_file_is_named_and_the_others_still_list(
    client: TestClient, library: VoiceLibrary, tmp_path: Path
) -> None:
    diane = enroll(library, tmp_path, "Diane")
    enroll(library, tmp_path, "Bob")
    (library.folder / "voices" / f"{diane.id}.json").write_text("{")
    listing = client.get("/voices").json()
    assert [v["name"] for v in listing["voices"]] == ["Bob"]
    assert f"{diane.id}.json" in listing["problems"][0]
    damaged = client.get(f"/voices/{diane.id}")
    assert damaged.status_code == 409 and f"{diane.id}.json" in damaged.json()["detail"]


def test_a_voice_with_samples_of_another_speaker_model_needs_a_refresh(library: VoiceLibrary, tmp_path: Path) -> None:
    """Judged against the model this server's voice prints come from: the no-token backend's CAM++ weights with
    either backend (the hub pipeline's speakers are embedded again with it), so a sample of the hub's own model
    needs a refresh."""
    from stt_studio.engine.diarization.local import local_embedding_fingerprint

    for name, model in (("Diane", local_embedding_fingerprint()), ("Bob", "hub:pyannote/speaker-diarization-3.1")):
        clip = tmp_path / f"{name}.wav"
        clip.write_bytes(b"RIFF")
        library.add_voice(name, NewSample((0.6, 0.8), model, clip, 11.0, f"job:1 {name}", "agreed"))
    data_dir = library.folder.parent
    backends: list[tuple[DiarizationBackend, set[str]]] = [("local", {"Bob"}), ("hub", {"Bob"})]
    for backend, marked in backends:
        settings = Settings(
            data_dir=data_dir, diarization_backend=backend, diarization_model="pyannote/speaker-diarization-3.1"
        )
        voices = TestClient(create_app(settings)).get("/voices").json()["voices"]
        assert {v["name"] for v in voices if v["needs_refresh"]} == marked, backend
