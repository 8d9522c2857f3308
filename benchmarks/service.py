"""The service's overheads, measured side by side in one run:

1. one file through ``stt-studio serve`` (submit → completed, as a client sees it) vs the bare engine in-process;
2. ten short files through the queue vs ten runs of the ``whisperx`` CLI (which starts up every time);
3. submit and status latency (p50/p99) with 50 concurrent pollers while a job runs.

    .venv/bin/python -m benchmarks.service [--model tiny.en] [--port 8011]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from stt_studio.engine.cpu import configure_process_environment
from tests import live
from tests.speech import SENTENCES, speech_clip


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _through_queue(url: str, paths: list[Path]) -> float:
    started = time.perf_counter()
    ids = [live.submit(url, p) for p in paths]
    for job_id in ids:
        assert live.wait_job(url, job_id, timeout=1800)["status"] == "completed"
    return time.perf_counter() - started


def _sync_call(url: str, path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as f:
        response = httpx.post(f"{url}/transcribe", files={"file": f}, timeout=1800)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def _latency_under_load(
    url: str, long_clip: Path, short_clip: Path, pollers: int, seconds: float, interval: float
) -> dict[str, float]:
    job_id = live.submit(url, long_clip)
    live.wait_for(lambda: httpx.get(f"{url}/jobs/{job_id}").json()["status"] == "processing", 120, "processing")
    status_times: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def poll() -> None:
        with httpx.Client() as client:
            while time.monotonic() < stop:
                t = time.perf_counter()
                client.get(f"{url}/jobs/{job_id}").raise_for_status()
                with lock:
                    status_times.append(time.perf_counter() - t)
                time.sleep(interval)

    threads = [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    submit_times: list[float] = []
    data = short_clip.read_bytes()
    with httpx.Client() as client:
        while time.monotonic() < stop:
            t = time.perf_counter()
            r = client.post(f"{url}/transcribe/async", files={"file": ("s.wav", data)})
            submit_times.append(time.perf_counter() - t)
            client.post(f"{url}/jobs/{r.json()['job_id']}/cancel")
            time.sleep(0.2)
    for thread in threads:
        thread.join()
    httpx.post(f"{url}/jobs/{job_id}/cancel")
    ms = 1000.0
    return {
        "status_requests": len(status_times),
        "status_p50_ms": _percentile(status_times, 0.5) * ms,
        "status_p99_ms": _percentile(status_times, 0.99) * ms,
        "submit_requests": len(submit_times),
        "submit_p50_ms": _percentile(submit_times, 0.5) * ms,
        "submit_p99_ms": _percentile(submit_times, 0.99) * ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between one poller's requests")
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.engine.models import bundled_model
    from stt_studio.engine.pipeline import Engine
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-service-"))
    one = speech_clip(work / "one", SENTENCES, "one")  # ~50 s
    shorts = [speech_clip(work / f"s{i}", SENTENCES[i : i + 2], f"short{i}") for i in range(10)]  # ~9 s each
    long_clip = speech_clip(work / "long", SENTENCES * 4, "long")

    env = live.service_env(work / "data", Settings().resolved_models_dir, WHISPER_MODEL_SIZE=args.model)
    url = f"http://127.0.0.1:{args.port}"
    serve = live.start(["serve", "--port", str(args.port), "--workers", "1"], env, work / "serve.log")
    try:
        live.wait_until_up(url, workers=1)
        _through_queue(url, [shorts[0]])  # warm-up: first-run costs (VAD JIT, caches) out of the figures

        # 1. one file: serve vs the bare engine (warm model in both), alternated to share the noise
        engine = Engine(Settings(offline=True), model=args.model, device="cpu")
        engine.transcribe(shorts[0])
        serve_times, engine_times = [], []
        for _ in range(3):
            serve_times.append(_sync_call(url, one))
            t = time.perf_counter()
            engine.transcribe(one)
            engine_times.append(time.perf_counter() - t)
        del engine

        # 2. ten short files: queue vs whisperx CLI
        queue_ten = _through_queue(url, shorts)
        model_dir = bundled_model(args.model, Settings().resolved_models_dir)
        whisperx = str(Path(sys.executable).with_name("whisperx"))
        t = time.perf_counter()
        for clip in shorts:
            subprocess.run(
                [
                    whisperx, str(clip), "--model", str(model_dir), "--device", "cpu", "--compute_type", "int8",
                    "--no_align", "--language", "en", "--output_dir", str(work / "wx"), "--output_format", "txt",
                ],
                check=True, capture_output=True, env={**env, "HF_HUB_OFFLINE": "1"},
            )  # fmt: skip
        cli_ten = time.perf_counter() - t

        # 3. latency under load
        latency = _latency_under_load(url, long_clip, shorts[1], args.pollers, 20.0, args.poll_interval)
    finally:
        live.stop(serve)

    s_med, e_med = statistics.median(serve_times), statistics.median(engine_times)
    print(f"model {args.model}, CPU, 1 worker")
    print(f"1. one file (~50 s audio) via POST /transcribe: serve {s_med:.2f} s vs bare engine {e_med:.2f} s "
          f"(medians of 3) -> ratio {s_med / e_med:.3f} (goal <= 1.05)")  # fmt: skip
    print(f"2. ten short files: queue {queue_ten:.1f} s vs whisperx CLI x10 {cli_ten:.1f} s "
          f"-> queue is {cli_ten / queue_ten:.1f}x faster (goal >= 3x)")  # fmt: skip
    print(
        f"3. with {args.pollers} pollers (each every {args.poll_interval:g} s) during a job: "
        f"status p50 {latency['status_p50_ms']:.1f} ms, "
        f"p99 {latency['status_p99_ms']:.1f} ms ({latency['status_requests']:.0f} requests); "
        f"submit p50 {latency['submit_p50_ms']:.1f} ms, p99 {latency['submit_p99_ms']:.1f} ms "
        f"({latency['submit_requests']:.0f} requests) (goal p99 <= 20 ms)"
    )


if __name__ == "__main__":
    main()
