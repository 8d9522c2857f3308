"""GET /voices/{id}/samples/{sample_id}/audio: a voice sample's speech clip, to hear whom the library names (the app
in-process on a real library folder; the clip a real cut of pyannote's two-speaker sample)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from stt_studio.api.app import create_app
from stt_studio.engine.audio import decode_audio
from stt_studio.settings import Settings
from stt_studio.voices.library import NewSample, Voice, VoiceLibrary
from tests.sample_clips import SPEAKER91_LONG, cut


@pytest.fixture
def library(tmp_path: Path) -> VoiceLibrary:
    return VoiceLibrary.in_data_dir(tmp_path / "data")


@pytest.fixture
def diane(library: VoiceLibrary, tmp_path: Path) -> Voice:
    clip = cut(tmp_path / "diane.flac", SPEAKER91_LONG)
    return library.add_voice("Diane", NewSample((0.6, 0.8), "m:1", clip, 6.1, "file diane.flac", "agreed"))


def test_a_samples_clip_is_served_as_the_library_keeps_it(library: VoiceLibrary, diane: Voice, tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=library.folder.parent)))
    sample = diane.samples[0]
    response = client.get(f"/voices/{diane.id}/samples/{sample.id}/audio")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/flac"
    assert response.content == library.clip_path(sample).read_bytes()
    received = tmp_path / "received.flac"
    received.write_bytes(response.content)
    assert abs(len(decode_audio(received).samples) / 16000 - 6.07) < 0.05  # the speech itself, not a stand-in


def test_unknown_voices_samples_and_missing_clips_are_404s_that_say_which(library: VoiceLibrary, diane: Voice) -> None:
    client = TestClient(create_app(Settings(data_dir=library.folder.parent)))
    sample = diane.samples[0]
    cases = [
        (f"/voices/v_000000000000/samples/{sample.id}/audio", "No voice 'v_000000000000' in the library"),
        (f"/voices/{diane.id}/samples/s_000000000000/audio", "Voice 'Diane' has no sample 's_000000000000'"),
        (f"/voices/..secrets/samples/{sample.id}/audio", "No voice '..secrets' in the library"),
    ]
    for path, detail in cases:
        response = client.get(path)
        assert (response.status_code, response.json()["detail"]) == (404, detail)
    library.clip_path(sample).unlink()
    gone = client.get(f"/voices/{diane.id}/samples/{sample.id}/audio")
    assert gone.status_code == 404
    assert gone.json()["detail"] == f"The clip of sample '{sample.id}' of voice 'Diane' is missing from the library"


def test_the_route_needs_a_key_as_the_others_do(library: VoiceLibrary, diane: Voice) -> None:
    settings = Settings(data_dir=library.folder.parent, require_api_key="always", api_keys=[SecretStr("stt_k1")])
    client = TestClient(create_app(settings))
    path = f"/voices/{diane.id}/samples/{diane.samples[0].id}/audio"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": "stt_k1"}).status_code == 200


def test_the_route_is_documented_with_its_audio_type() -> None:
    document = TestClient(create_app(Settings())).get("/openapi.json").json()
    route = document["paths"]["/voices/{voice_id}/samples/{sample_id}/audio"]["get"]
    assert "audio/flac" in route["responses"]["200"]["content"]
    assert "404" in route["responses"]
