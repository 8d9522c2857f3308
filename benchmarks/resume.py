"""What a worker killed while finding speakers costs with checkpoints: a 5-minute espeak-ng dialogue (2 voices),
transcribed and diarized once whole by a freshly started engine, then again by another fresh engine (the restarted
worker: its models loaded again) from the checkpoints a kill in diarization leaves (every stage's but
diarization's). Prints both times and the resume's share of the whole job; the goal is the diarization stage's
share plus the model load, nothing more.

    .venv/bin/python -m benchmarks.resume [--model tiny.en] [--minutes 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from stt_studio.engine.cpu import configure_process_environment
from tests.speech import SENTENCES, dialogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.engine.stages import KEPT_AFTER_COMPLETION, StageClock
    from stt_studio.jobs.checkpoints import JobCheckpoints
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-resume-"))
    lines: list[tuple[int, str]] = []
    talk = None
    while talk is None or talk.turns[-1][1] < args.minutes * 60:  # about 5 s a line
        lines += [(len(lines) % 2, SENTENCES[len(lines) % len(SENTENCES)]) for _ in range(12)]
        talk = dialogue(work / "audio", lines, "talk")
    audio = talk.path
    audio_seconds = talk.turns[-1][1]
    settings = Settings(offline=True, diarization_backend="local")
    options = TranscribeOptions(diarization=DiarizationOptions())
    kept = JobCheckpoints(work / "checkpoints")

    def run(clock: StageClock) -> tuple[float, str]:
        started = time.perf_counter()
        engine = Engine(settings, model=args.model, device="cpu")  # a worker's start: its models load
        engine.load()
        result = engine.transcribe(audio, options, checkpoints=kept, clock=clock)
        return time.perf_counter() - started, result.text

    whole_clock = StageClock(1)
    whole, text = run(whole_clock)
    kept_bytes = kept.disk_bytes()
    finished_bytes = sum((kept.folder / f"{stage.value}.json").stat().st_size for stage in KEPT_AFTER_COMPLETION)
    (kept.folder / "diarizing.json").unlink()  # what a kill in diarization leaves: the stages before it
    resumed_clock = StageClock(2)
    resumed, resumed_text = run(resumed_clock)
    assert resumed_text == text, "the resumed job's text differs"
    stages = whole_clock.stage_seconds()
    load = whole - sum(stages.values())
    print(f"model {args.model}, CPU; {audio_seconds:.0f} s of a 2-voice espeak-ng dialogue, diarization on")
    print("whole job, stage by stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    print(f"whole job (fresh engine, models loaded): {whole:.1f} s (model loads and the rest: {load:.1f} s)")
    print(
        "resumed after a kill in diarization: "
        f"{resumed:.1f} s = {resumed / whole:.0%} of the whole job; goal: diarization + loads = "
        f"{(stages['diarizing'] + load) / whole:.0%}"
    )
    print("reused: " + ", ".join(r.name for r in resumed_clock.runs if r.reused))
    per_hour = 3600 / audio_seconds / 2**20
    print(
        f"checkpoints: {kept_bytes / 1024:.0f} KiB for {audio_seconds / 60:.1f} min of audio while the job runs "
        f"({kept_bytes * per_hour:.1f} MiB per audio hour), {finished_bytes / 1024:.0f} KiB once it has completed "
        f"({finished_bytes * per_hour:.1f} MiB per audio hour)"
    )


if __name__ == "__main__":
    main()
