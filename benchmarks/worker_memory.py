"""A worker's memory over jobs that alternate two Whisper models: flat after the second job.

One real ``stt-studio serve`` (one worker, default model tiny.en) takes ``--jobs`` jobs one after another, every
other one asking for ``--other`` (the REST API's ``model`` field): the worker holds its default model and at most
one other, and releases what a job leaves after it. Prints the worker's RSS after each job and how far jobs 3 to N
are from job 2 (on a GPU the same holds for device memory: scripts/gpu-check.sh).

    .venv/bin/python -m benchmarks.worker_memory [--other base] [--jobs 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil

from tests import live
from tests.reliability import serve
from tests.speech import SENTENCES, speech_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", default="base", help="the model every other job asks for (default: base)")
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args()

    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-worker-memory-"))
    clip = speech_clip(work / "clip", SENTENCES[:2], "clip")  # ~9 s of speech
    rows: list[tuple[int, str, float, float]] = []
    with serve(work / "serve", Settings().resolved_models_dir) as instance:
        worker = psutil.Process(instance.wait_for_ready_worker())
        loaded_mb = worker.memory_info().rss / 2**20
        for number in range(1, args.jobs + 1):
            asked = args.other if number % 2 == 0 else "tiny.en"
            started = time.perf_counter()
            job = live.wait_job(instance.url, live.submit(instance.url, clip, model=asked), timeout=900)
            assert job["status"] == "completed" and job["model"] == asked, job
            assert instance.wait_for_ready_worker() == worker.pid, "the worker was replaced"
            rows.append((number, asked, worker.memory_info().rss / 2**20, time.perf_counter() - started))

    print(f"worker RSS, default model tiny.en, every other job {args.other} (~9 s clip, CPU); "
          f"after loading, before any job: {loaded_mb:.0f} MB")  # fmt: skip
    print("job  model     RSS (MB)  vs job 2 (MB)  seconds")
    second = rows[1][2]
    for number, asked, rss, seconds in rows:
        print(f"{number:>3}  {asked:<8}  {rss:>8.0f}  {rss - second:>+13.0f}  {seconds:>7.1f}")
    later = [rss for _, _, rss, _ in rows[2:]]
    print(f"jobs 3-{args.jobs}: {min(later):.0f}-{max(later):.0f} MB; job {args.jobs} - job 2: "
          f"{rows[-1][2] - second:+.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
