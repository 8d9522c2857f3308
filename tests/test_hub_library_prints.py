"""The hub backend's speakers embedded again with the voice library's model (``engine/diarization/library_prints``):
without the hub (no network here), a stand-in pipeline answers with a real diarization, pyannote's two-speaker
sample's reference RTTM, and centroids of another model and size; the speakers' prints must be the library's model's
and name the voices enrolled from clips of that sample (through the jobs' own diarization), each its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stt_studio.engine.audio import decode_audio
from stt_studio.engine.diarization import PyannoteDiarizer
from stt_studio.engine.diarization.library_prints import clean_stretches
from stt_studio.engine.diarization.local import local_embedding_fingerprint
from stt_studio.engine.options import DiarizationOptions
from stt_studio.settings import Settings
from stt_studio.voices.clips import ClipEmbedder, enroll_from_clip
from stt_studio.voices.library import VoiceLibrary
from stt_studio.voices.matching import DEFAULT_THRESHOLDS, match_speakers
from stt_studio.voices.prints import JobVoicePrints, SpeakerPrint
from tests.sample_clips import SAMPLE, SAMPLE_DIR, SPEAKER90_TURNS, SPEAKER91_LONG, cut

pytestmark = pytest.mark.slow

HUB_SIZE = 256
"""The hub pipeline's embedding size (WeSpeaker ResNet34): not the library's 192."""


def _reference_turns() -> list[tuple[float, float, str]]:
    turns = []
    for line in (SAMPLE_DIR / "sample.rttm").read_text().splitlines():
        fields = line.split()
        start, length, who = float(fields[3]), float(fields[4]), fields[7]
        turns.append((start, start + length, who))
    return turns


@dataclass
class _HubOutput:
    speaker_diarization: Any
    speaker_embeddings: Any
    exclusive_speaker_diarization: Any = None


class _HubStandIn:
    """Answers as pyannote's hub pipeline does, with the reference diarization and centroids of its own model."""

    clustering = None

    def __call__(self, _file: Any, **_options: Any) -> _HubOutput:
        from pyannote.core import Annotation, Segment

        annotation = Annotation()
        for k, (start, end, who) in enumerate(_reference_turns()):
            annotation[Segment(start, end), k] = who
        centroids = np.random.default_rng(0).normal(size=(len(annotation.labels()), HUB_SIZE))
        return _HubOutput(annotation, centroids)


@pytest.fixture(scope="module")
def hub_diarizer(settings: Settings) -> PyannoteDiarizer:
    diarizer = PyannoteDiarizer(settings.model_copy(update={"diarization_backend": "hub"}), "cpu")
    diarizer._pipeline = _HubStandIn()  # what load() would have built from the hub
    return diarizer


def test_a_speakers_clean_stretches_leave_out_overlap_and_short_ones_longest_first_up_to_a_minute() -> None:
    turns = [(0.0, 10.0, "A"), (4.0, 5.0, "B"), (20.0, 21.0, "A"), (30.0, 100.0, "A"), (95.0, 96.0, "B")]
    assert clean_stretches(turns, "A") == ((30.0, 90.0),)  # longest first, cut at about a minute
    assert clean_stretches(turns[:3], "A") == ((5.0, 10.0), (0.0, 4.0))  # B's time out; 1 s is too short
    assert clean_stretches(turns, "B") == ()


def test_hub_speakers_get_prints_of_the_library_model_that_name_the_voices_enrolled_from_the_sample(
    hub_diarizer: PyannoteDiarizer, settings: Settings, tmp_path: Path
) -> None:
    audio = decode_audio(SAMPLE).samples
    found = hub_diarizer.find_turns(audio, DiarizationOptions(), lambda _done, _end: None)
    model = hub_diarizer.embedding_model()
    assert model == local_embedding_fingerprint()
    assert sorted(found.embeddings) == ["speaker90", "speaker91"]
    assert {len(v) for v in found.embeddings.values()} == {192}

    library = VoiceLibrary(tmp_path / "voices")
    embedder = ClipEmbedder(settings)
    for name, clip in (
        ("Ninety", cut(tmp_path / "speaker90.wav", *SPEAKER90_TURNS)),
        ("Ninety-one", cut(tmp_path / "speaker91.wav", SPEAKER91_LONG)),
    ):
        voices = embedder.voices(clip)
        assert voices.model == model
        enroll_from_clip(library, voices, consent="test", source=f"file {clip.name}", name=name)

    prints = JobVoicePrints(model, tuple(SpeakerPrint(k, tuple(v), 10.0) for k, v in sorted(found.embeddings.items())))
    matches = {m.label: m for m in match_speakers(prints, model, library.known_voices(model))}
    scores = {(m.label, c.name): round(c.score, 3) for m in matches.values() for c in m.candidates}
    print("hub speakers re-embedded vs voices enrolled from the sample:", scores)
    auto = DEFAULT_THRESHOLDS.auto
    assert scores[("speaker90", "Ninety")] >= auto and scores[("speaker91", "Ninety-one")] >= auto
    assert scores[("speaker90", "Ninety-one")] < auto and scores[("speaker91", "Ninety")] < auto
    assert (matches["speaker90"].name, matches["speaker90"].match) == ("Ninety", "auto")
    assert (matches["speaker91"].name, matches["speaker91"].match) == ("Ninety-one", "auto")
