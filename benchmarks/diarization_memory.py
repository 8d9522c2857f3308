"""Memory and time of the no-token diarization against audio length: a 10- and a 40-minute espeak-ng dialogue.

Each (file, embedding stride) is diarized by the engine's own entry point (``PyannoteDiarizer.find_turns``) in a
fresh process, so that one run's peak does not hide another's. Per run: the process's peak RSS (``ru_maxrss``)
minus the decoded audio's size, the RSS just before diarization (models loaded, audio decoded), the highest RSS
seen in each part of diarization (sampled every 20 ms), seconds per audio minute, DER (collar 0) against the
dialogue's known turns, how many embeddings the clustering was given (and their share of the usable ones), and
the load average before and after.

    .venv/bin/python -m benchmarks.diarization_memory [--minutes 10 40] [--strides 5] [--onednn off on] [--threads N]

The dialogues (two voices, cycling through the test sentences) are built once with espeak-ng and sox and kept
under /tmp/stt-bench-diar-memory/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.speech import DIALOGUE_VOICES, SENTENCES, dialogue

CACHE = Path("/tmp/stt-bench-diar-memory")
UNIT_LINES = 12
"""Lines of one ~1-minute dialogue unit; units alternate which voice starts, and are joined up to the length."""


def long_dialogue(minutes: int) -> tuple[Path, list[tuple[float, float, int]]]:
    """A two-voice dialogue of exactly ``minutes`` minutes and its turns (start, end, speaker), cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path, turns_path = CACHE / f"dialogue_{minutes}min.wav", CACHE / f"dialogue_{minutes}min.json"
    if path.exists() and turns_path.exists():
        return path, [tuple(t) for t in json.loads(turns_path.read_text())]  # type: ignore[misc]
    units = []
    for first in (0, 1):
        lines = [((i + first) % 2, SENTENCES[i % len(SENTENCES)]) for i in range(UNIT_LINES)]
        units.append(dialogue(CACHE / f"unit{first}", lines, f"unit{first}", voices=DIALOGUE_VOICES[:2]))
    gap = 0.7
    parts: list[str] = []
    turns: list[tuple[float, float, int]] = []
    offset, total = 0.0, minutes * 60.0
    silence = CACHE / "gap.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(silence), "trim", "0", str(gap)], check=True)
    while offset < total:
        unit = units[len(parts) // 2 % 2]
        parts += [str(unit.path), str(silence)]
        turns += [(offset + a, offset + b, who) for a, b, who in unit.turns]
        offset += unit.turns[-1][1] + gap
    subprocess.run(["sox", *parts, "-r", "16000", "-c", "1", str(path), "trim", "0", str(total)], check=True)
    turns = [(a, min(b, total), who) for a, b, who in turns if a < total]
    turns_path.write_text(json.dumps(turns))
    return path, turns


def child(path: Path, turns_path: Path, stride: int, threads: int | None, onednn: bool) -> None:
    """One diarization in this process; prints one JSON line."""
    from stt_studio.engine.cpu import configure_process_environment

    configure_process_environment()
    import psutil
    import torch
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
    from stt_studio.engine.diarization import PyannoteDiarizer
    from stt_studio.engine.options import DiarizationOptions
    from stt_studio.settings import Settings

    if threads:
        torch.set_num_threads(threads)
    diarizer = PyannoteDiarizer(
        Settings(offline=True, diarization_backend="local", diarization_embedding_stride=stride), "cpu"
    )
    diarizer.load()._embedding.onednn = onednn
    samples = decode_audio(path).samples
    process = psutil.Process()
    before = process.memory_info().rss
    phase = ["segmentation"]
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            rss = process.memory_info().rss
            peaks[phase[0]] = max(peaks.get(phase[0], 0), rss)

    def on_fraction(done: float, _until: float | None) -> None:
        phase[0] = "segmentation" if done < 0.3 else "embeddings" if done < 0.85 else "clustering+turns"

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    found = diarizer.find_turns(samples, DiarizationOptions(), on_fraction)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    reference, hypothesis = Annotation(), Annotation()
    for a, b, who in json.loads(turns_path.read_text()):
        reference[Segment(a, b)] = str(who)
    for a, b, speaker in found.raw_turns:
        hypothesis[Segment(a, b)] = speaker
    minutes = len(samples) / SAMPLE_RATE / 60
    print(json.dumps({
        "minutes": minutes,
        "audio_mb": samples.nbytes / 2**20,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,
        "before_mb": before / 2**20,
        "phase_peaks_mb": {k: v / 2**20 for k, v in peaks.items()},
        "s_per_min": seconds / minutes,
        "der": DiarizationErrorRate(collar=0.0)(reference, hypothesis),
        "speakers": len(hypothesis.labels()),
        "threads": torch.get_num_threads(),
        "onednn": onednn,
        "clustered": getattr(diarizer.load().clustering.last_estimate, "embeddings", 0),
        "clustered_share": diarizer.load().clustering.clustered_share,
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--strides", type=int, nargs="+", default=[5], help="embedding strides, one run each")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the engine's)")
    parser.add_argument("--onednn", nargs="+", choices=("on", "off"), default=["off"], help="CAM++ through oneDNN")
    parser.add_argument("--child", nargs=2, metavar=("WAV", "TURNS"), help=argparse.SUPPRESS)
    parser.add_argument("--stride", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.stride, args.threads, args.onednn == ["on"])
        return
    files = {minutes: long_dialogue(minutes)[0] for minutes in args.minutes}
    print("no-token diarization, CPU, one fresh process per row (MB = MiB)")
    print(f"{'audio':>6} {'stride':>6} {'oneDNN':>6} {'thr':>3} {'peak-audio':>10} {'peak':>6} {'before':>6} "
          f"{'seg':>6} {'emb':>6} {'clust':>6} {'s/min':>6} {'DER':>6} {'spk':>3} {'clustered':>11}  "
          "load before/after")  # fmt: skip
    for stride, onednn in ((stride, onednn) for stride in args.strides for onednn in args.onednn):
        for path in files.values():
            load = os.getloadavg()[0]
            command = [sys.executable, "-m", "benchmarks.diarization_memory", "--child", str(path),
                       str(path.with_suffix(".json")), "--stride", str(stride), "--onednn", onednn]  # fmt: skip
            if args.threads:
                command += ["--threads", str(args.threads)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            row: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
            phases = row["phase_peaks_mb"]
            print(f"{row['minutes']:5.1f}m {stride:6d} {onednn:>6} {row['threads']:3d} "
                  f"{row['peak_mb'] - row['audio_mb']:10.0f} {row['peak_mb']:6.0f} {row['before_mb']:6.0f} "
                  f"{phases.get('segmentation', 0):6.0f} "
                  f"{phases.get('embeddings', 0):6.0f} {phases.get('clustering+turns', 0):6.0f} "
                  f"{row['s_per_min']:6.1f} {row['der']:6.3f} {row['speakers']:3d} "
                  f"{row['clustered']:5d} ({row['clustered_share']:3.0%})  "
                  f"{load:.1f}/{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
