"""The per-job model a submission may ask for: names the server has, aliases as their model, never a path."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException

from stt_studio.api.served_models import job_model
from stt_studio.settings import Settings


def _settings(tmp_path: Path, *, offline: bool, model: str = "tiny.en") -> Settings:
    return Settings(
        data_dir=tmp_path / "data", models_dir=tmp_path / "models", whisper_model_size=model, offline=offline
    )


def test_the_default_runs_on_the_worker_and_aliases_are_their_model(tmp_path: Path) -> None:
    online = _settings(tmp_path, offline=False)
    assert job_model("tiny.en", online) is None  # the worker's own model
    assert job_model("turbo", online) == "large-v3-turbo"
    assert job_model("large", online) == "large-v3"
    assert job_model("base", _settings(tmp_path, offline=True)) == "base"  # bundled


@pytest.mark.parametrize("asked", ["/srv/models/tiny", "../models/base", "~/whisper", "C:\\models\\base", "whisper-1"])
def test_paths_and_unknown_names_are_refused_naming_the_models(tmp_path: Path, asked: str) -> None:
    with pytest.raises(HTTPException) as refused:
        job_model(asked, _settings(tmp_path, offline=True))
    assert refused.value.status_code == 400
    assert (
        refused.value.detail == f"Unknown model '{asked}': this server has tiny.en, base (a model name, never a path)"
    )


def test_a_configured_folder_is_offered_by_its_name_only(tmp_path: Path) -> None:
    folder = tmp_path / "mine" / "my-whisper"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"\0")
    settings = _settings(tmp_path, offline=True, model=str(folder))
    assert job_model("my-whisper", settings) is None
    with pytest.raises(HTTPException):
        job_model(str(folder), settings)
