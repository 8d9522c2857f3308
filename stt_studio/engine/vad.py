"""Voice activity detection: find speech, then merge it into ≤ 30 s chunks the way WhisperX does.

Two backends, both offline: WhisperX's pyannote segmentation model (its weights ship in the whisperx wheel)
and Silero VAD from the ``silero-vad`` package (WhisperX's own Silero path fetches from GitHub via torch.hub).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from stt_studio.engine.audio import SAMPLE_RATE
from stt_studio.settings import VadMethod

CHUNK_SECONDS = 30.0
VAD_ONSET = 0.5
VAD_OFFSET = 0.363

FractionCallback = Callable[[float], None]


@dataclass(frozen=True)
class SpeechChunk:
    start: float
    end: float
    speech: tuple[tuple[float, float], ...] = field(default=(), compare=False)
    """The speech turns the chunk was merged from (start, end): where the detector heard speech."""


class SpeechDetector(Protocol):
    name: str

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: FractionCallback) -> list[SpeechChunk]: ...


def merge_into_chunks(turns: Sequence[tuple[float, float]], chunk_seconds: float = CHUNK_SECONDS) -> list[SpeechChunk]:
    """WhisperX's chunk merge (``whisperx.vads.vad.Vad.merge_chunks``): grow a chunk over consecutive speech turns
    until the next turn would end more than ``chunk_seconds`` after the chunk's start. Written out here because
    importing ``whisperx.vads`` loads all of pyannote.audio (about 450 MB and 9 s), which the Silero path
    does not need."""
    chunks: list[SpeechChunk] = []
    if not turns:
        return chunks
    start, end = turns[0][0], turns[0][0]
    inside: list[tuple[float, float]] = []
    for turn_start, turn_end in turns:
        if turn_end - start > chunk_seconds and end > start:
            chunks.append(SpeechChunk(start, end, tuple(inside)))
            start, inside = turn_start, []
        end = turn_end
        inside.append((turn_start, turn_end))
    chunks.append(SpeechChunk(start, end, tuple(inside)))
    return chunks


class PyannoteDetector:
    name = "pyannote"

    def __init__(self, device: str) -> None:
        from whisperx.vads.pyannote import load_vad_model

        self._pipeline = load_vad_model(device, vad_onset=VAD_ONSET, vad_offset=VAD_OFFSET)

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: FractionCallback) -> list[SpeechChunk]:
        import torch
        from pyannote.core import Annotation
        from whisperx.vads.pyannote import Binarize

        def hook(*_: Any, completed: int | None = None, total: int | None = None, **__: Any) -> None:
            if completed is not None and total:
                on_fraction(completed / total)

        waveform = {"waveform": torch.from_numpy(audio).unsqueeze(0), "sample_rate": SAMPLE_RATE}
        # The pipeline's own apply() drops the hook; calling its segmentation Inference directly keeps the
        # per-batch progress (and so cancellation) inside long files.
        scores = self._pipeline._segmentation(waveform, hook=hook)
        speech: Annotation = Binarize(max_duration=CHUNK_SECONDS, onset=VAD_ONSET, offset=VAD_OFFSET)(scores)
        return merge_into_chunks([(t.start, t.end) for t in speech.get_timeline()])


class SileroDetector:
    name = "silero"

    def __init__(self) -> None:
        from silero_vad import load_silero_vad

        self._model = load_silero_vad()

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: FractionCallback) -> list[SpeechChunk]:
        import torch
        from silero_vad import get_speech_timestamps

        stamps = get_speech_timestamps(
            torch.from_numpy(audio),
            self._model,
            sampling_rate=SAMPLE_RATE,
            threshold=VAD_ONSET,
            max_speech_duration_s=CHUNK_SECONDS,
            progress_tracking_callback=lambda percent: on_fraction(percent / 100.0),
        )
        return merge_into_chunks([(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps])


def load_detector(method: VadMethod, device: str) -> SpeechDetector:
    if method == "pyannote":
        return PyannoteDetector(device)
    return SileroDetector()
