"""Voice activity detection: find speech, then merge it into ≤ 30 s chunks the way WhisperX does.

Two backends, both offline: WhisperX's pyannote segmentation model (its weights ship in the whisperx wheel)
and Silero VAD from the ``silero-vad`` package (WhisperX's own Silero path fetches from GitHub via torch.hub).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


class SpeechDetector(Protocol):
    name: str

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: FractionCallback) -> list[SpeechChunk]: ...


def _merge(segments: list[Any]) -> list[SpeechChunk]:
    from whisperx.vads.vad import Vad

    if not segments:
        return []
    merged = Vad.merge_chunks(segments, CHUNK_SECONDS, onset=VAD_ONSET, offset=VAD_OFFSET)
    return [SpeechChunk(float(m["start"]), float(m["end"])) for m in merged]


class PyannoteDetector:
    name = "pyannote"

    def __init__(self, device: str) -> None:
        from whisperx.vads.pyannote import load_vad_model

        self._pipeline = load_vad_model(device, vad_onset=VAD_ONSET, vad_offset=VAD_OFFSET)

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: FractionCallback) -> list[SpeechChunk]:
        import torch
        from pyannote.core import Annotation
        from whisperx.diarize import Segment as SegmentX
        from whisperx.vads.pyannote import Binarize

        def hook(*_: Any, completed: int | None = None, total: int | None = None, **__: Any) -> None:
            if completed is not None and total:
                on_fraction(completed / total)

        waveform = {"waveform": torch.from_numpy(audio).unsqueeze(0), "sample_rate": SAMPLE_RATE}
        # The pipeline's own apply() drops the hook; calling its segmentation Inference directly keeps the
        # per-batch progress (and so cancellation) inside long files.
        scores = self._pipeline._segmentation(waveform, hook=hook)
        speech: Annotation = Binarize(max_duration=CHUNK_SECONDS, onset=VAD_ONSET, offset=VAD_OFFSET)(scores)
        turns = [SegmentX(t.start, t.end, "UNKNOWN") for t in speech.get_timeline()]
        return _merge(turns)


class SileroDetector:
    name = "silero"

    def __init__(self) -> None:
        from silero_vad import load_silero_vad

        self._model = load_silero_vad()

    def chunks(self, audio: npt.NDArray[np.float32], on_fraction: FractionCallback) -> list[SpeechChunk]:
        import torch
        from silero_vad import get_speech_timestamps
        from whisperx.diarize import Segment as SegmentX

        stamps = get_speech_timestamps(
            torch.from_numpy(audio),
            self._model,
            sampling_rate=SAMPLE_RATE,
            threshold=VAD_ONSET,
            max_speech_duration_s=CHUNK_SECONDS,
            progress_tracking_callback=lambda percent: on_fraction(percent / 100.0),
        )
        return _merge([SegmentX(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE, "UNKNOWN") for s in stamps])


def load_detector(method: VadMethod, device: str) -> SpeechDetector:
    if method == "pyannote":
        return PyannoteDetector(device)
    return SileroDetector()
