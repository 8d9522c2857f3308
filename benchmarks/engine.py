"""Engine vs bare faster-whisper vs the whisperx CLI: same ≥ 5-minute clip, model, threads, in one run.

    .venv/bin/python -m benchmarks.engine [--model base] [--minutes 5] [--threads N]

Each contender runs in a fresh subprocess (so each pays its own start-up and has its own peak RSS, read with
wait4). Prints wall time including start-up, transcription time, real-time factor (RTF = seconds of compute per
second of audio), the ratio to bare faster-whisper, WER against the known text, and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.speech import SENTENCES, speech_clip, wer

_CHILD = "--child"


@dataclass
class Run:
    name: str
    wall: float
    transcribe: float
    text: str
    peak_mib: float


def _child_engine(audio: str, model: str, threads: int, vad: str, batch: int) -> dict[str, object]:
    from stt_studio.engine.pipeline import Engine
    from stt_studio.settings import Settings

    engine = Engine(Settings(offline=True, cpu_threads=threads, batch_size=batch), model=model, device="cpu", vad=vad)  # type: ignore[arg-type]
    engine.load()
    started = time.perf_counter()
    result = engine.transcribe(audio)
    return {"transcribe": time.perf_counter() - started, "text": result.text}


def _child_faster_whisper(audio: str, model_dir: str, threads: int) -> dict[str, object]:
    from faster_whisper import WhisperModel

    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
    started = time.perf_counter()
    segments, _ = model.transcribe(audio, beam_size=5)
    text = " ".join(s.text.strip() for s in segments)
    return {"transcribe": time.perf_counter() - started, "text": text}


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> tuple[Run, dict[str, object]]:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{name} failed (status {status})")
    data = json.loads(out.strip().splitlines()[-1]) if _CHILD in argv else {}
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    return Run(name, wall, float(data.get("transcribe", wall)), str(data.get("text", "")), peak), data


def _median_run(name: str, runs: list[Run]) -> Run:
    """The run with the median transcription time (and the largest peak memory seen)."""
    ordered = sorted(runs, key=lambda r: r.transcribe)
    mid = ordered[(len(ordered) - 1) // 2]
    return Run(name, mid.wall, mid.transcribe, mid.text, max(r.peak_mib for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base", help="bundled model name (base or tiny.en)")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rounds", type=int, default=2, help="contenders run interleaved, this many times each")
    parser.add_argument(_CHILD, nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, audio, model, threads, *rest = args.child
        if kind == "engine":
            data = _child_engine(audio, model, int(threads), rest[0], int(rest[1]))
        else:
            data = _child_faster_whisper(audio, model, int(threads))
        print(json.dumps(data))
        return

    from stt_studio.engine.cpu import configure_process_environment
    from stt_studio.engine.models import bundled_model
    from stt_studio.settings import Settings

    configure_process_environment()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    model_dir = bundled_model(args.model, Settings().resolved_models_dir)
    assert model_dir is not None, f"{args.model} is not a bundled model"
    work = Path(tempfile.mkdtemp(prefix="stt-bench-"))
    repeats = max(1, round(args.minutes * 60 / 50))  # SENTENCES take about 50 s
    audio = speech_clip(work, SENTENCES * repeats, "clip")
    from stt_studio.engine.audio import decode_audio

    duration = decode_audio(audio).duration
    reference = " ".join(SENTENCES * repeats)
    me = [sys.executable, "-m", "benchmarks.engine", _CHILD]
    contenders = [
        ("faster-whisper (bare)", [*me, "fw", str(audio), str(model_dir), str(args.threads)]),
        (
            "engine (defaults: silero, batch 4)",
            [*me, "engine", str(audio), args.model, str(args.threads), "silero", "4"],
        ),
        ("engine (pyannote VAD, batch 4)", [*me, "engine", str(audio), args.model, str(args.threads), "pyannote", "4"]),
        ("engine (silero, batch 8)", [*me, "engine", str(audio), args.model, str(args.threads), "silero", "8"]),
        (
            "whisperx CLI (batch 8, --no_align)",
            [
                str(Path(sys.executable).with_name("whisperx")),
                str(audio),
                "--model",
                str(model_dir),
                "--device",
                "cpu",
                "--compute_type",
                "int8",
                "--threads",
                str(args.threads),
                "--batch_size",
                "8",
                "--no_align",
                "--language",
                "en",
                "--output_dir",
                str(work / "wx"),
                "--output_format",
                "txt",
            ],
        ),
    ]
    print(f"audio {duration:.0f} s, model {args.model}, {args.threads} threads, int8, CPU, {args.rounds} rounds")
    samples: dict[str, list[Run]] = {name: [] for name, _ in contenders}
    for round_no in range(args.rounds):
        for name, argv in contenders:
            run, _ = _spawn(name, argv, env)
            if name.startswith("whisperx"):
                run.text = (work / "wx" / "clip.txt").read_text()
            samples[name].append(run)
            print(f"  round {round_no + 1}: {name} ({run.wall:.1f} s)", file=sys.stderr)
    runs = [_median_run(name, rs) for name, rs in samples.items()]

    base = runs[0]
    header = f"{'contender':38} {'wall s':>7} {'asr s':>7} {'RTF':>6} {'vs bare':>8} {'WER':>6} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    for r in runs:
        print(
            f"{r.name:38} {r.wall:7.1f} {r.transcribe:7.1f} {r.transcribe / duration:6.3f} "
            f"{r.transcribe / base.transcribe:8.2f} {wer(reference, r.text):6.3f} {r.peak_mib:9.0f}"
        )
    print("asr s: transcription alone after the model is loaded (whisperx CLI: whole run, it reports no split);")
    print("median of the rounds; the engine also computes word timestamps, bare faster-whisper does not")


if __name__ == "__main__":
    main()
