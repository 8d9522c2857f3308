"""Diarization speed and accuracy of the no-token backend, measured in one run:

- DER (pyannote.metrics, collar 0) on pyannote.audio's own two-speaker sample, against its reference RTTM;
- DER and speaker count on espeak-ng dialogues with 2 and 3 speakers (known turns);
- diarization seconds per minute of audio, and its share of a whole transcribe-and-diarize run.

    .venv/bin/python -m benchmarks.diarization [--model tiny.en]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyannote.audio
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from stt_studio.engine.cpu import configure_process_environment
from tests.speech import SENTENCES, dialogue


def _annotation(turns: list[tuple[float, float, str]]) -> Annotation:
    ann = Annotation()
    for start, end, speaker in turns:
        ann[Segment(start, end)] = speaker
    return ann


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
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


if __name__ == "__main__":
    main()
