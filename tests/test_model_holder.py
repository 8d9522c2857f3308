"""Which engine a job runs on, and what is unloaded: the default model, at most one other, aliases as one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from stt_studio.engine.model_holder import ModelChoice, ModelHolder, Use, canonical, choose_model
from stt_studio.engine.pipeline import Engine
from stt_studio.settings import Settings


def test_no_model_or_the_default_runs_on_the_default() -> None:
    assert choose_model("large-v3", None, None) == ModelChoice(Use.DEFAULT)
    assert choose_model("large-v3", "base", "large-v3") == ModelChoice(Use.DEFAULT)


def test_aliases_are_one_model() -> None:
    assert choose_model("large-v3-turbo", None, "turbo") == ModelChoice(Use.DEFAULT)
    assert choose_model("turbo", None, "large-v3-turbo") == ModelChoice(Use.DEFAULT)
    assert choose_model("large-v3", None, "large") == ModelChoice(Use.DEFAULT)
    assert choose_model("tiny.en", "large-v3-turbo", "turbo") == ModelChoice(Use.HELD)
    assert choose_model("tiny.en", None, "mobiuslabsgmbh/faster-whisper-large-v3-turbo") == ModelChoice(Use.LOAD)
    assert choose_model("tiny.en", "turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo") == ModelChoice(Use.HELD)
    assert canonical("turbo") == "large-v3-turbo" and canonical("my-org/my-model") == "my-org/my-model"


def test_the_held_model_is_kept_while_asked_for_and_unloaded_for_another() -> None:
    assert choose_model("tiny.en", None, "base") == ModelChoice(Use.LOAD, unload_held=False)
    assert choose_model("tiny.en", "base", "base") == ModelChoice(Use.HELD)
    assert choose_model("tiny.en", "base", "small") == ModelChoice(Use.LOAD, unload_held=True)


def test_local_folders_compare_by_path(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    assert choose_model(str(tmp_path / "m"), None, str(tmp_path / "." / "m")) == ModelChoice(Use.DEFAULT)


@dataclass
class FakeEngine:
    """Stands in for the engine's loading and unloading: the holder's bookkeeping, without a model."""

    model_spec: str
    device: str = "cpu"
    unloaded: bool = False
    made: list[FakeEngine] = field(default_factory=list)

    def for_model(self, model: str) -> FakeEngine:
        other = FakeEngine(model, self.device, made=self.made)
        self.made.append(other)
        return other

    def unload(self) -> None:
        self.unloaded = True


def test_holder_keeps_one_extra_and_releases_memory() -> None:
    released: list[str] = []
    default = FakeEngine("tiny.en", "cuda")
    holder = ModelHolder(cast(Engine, default), release=released.append)
    engines: list[Any] = [holder.engine_for(m) for m in (None, "base", None, "base", "turbo", "large-v3-turbo")]
    assert [e.model_spec for e in engines] == ["tiny.en", "base", "tiny.en", "base", "large-v3-turbo", "large-v3-turbo"]
    base, turbo = default.made
    assert engines[1] is engines[3] is base and engines[4] is engines[5] is turbo, "a model was loaded twice"
    assert base.unloaded and not turbo.unloaded and holder.current is cast(Engine, turbo)
    assert released == ["cuda"], "memory released before the next model loaded"
    holder.after_job()
    assert released == ["cuda", "cuda"]


def test_a_per_job_model_shares_the_vad_and_diarizer(settings: Settings) -> None:
    """Another model costs its Whisper weights only, not a second VAD and diarization stack (nothing is loaded
    here: the engines are built, not run)."""
    default = Engine(settings)
    default._detector = cast(Any, object())  # as after its load
    other = default.for_model("base")
    assert other.model_spec == "base" and other.device == default.device
    assert other._detector is default._detector and other._diarizer is default._diarizer
