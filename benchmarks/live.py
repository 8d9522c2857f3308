"""Live transcription: latency from the end of each spoken sentence to its final text, the live worker's CPU use,
and how far behind real time it is at the end of a long run.

    .venv/bin/python -m benchmarks.live [--models tiny.en base] [--minutes 3] [--policies endpointing agreement]

The real live worker process (``stt_studio.live.session.LiveWorkerProcess``) is sent espeak-ng sentences (2 s
apart) in real time, 0.1 s at a time, as ``stt-studio live`` sends what it captures (the capture's own 0.3 s lag
and PulseAudio's are not in these figures). A sentence's latency: from the moment its audio has been sent up to
its end to the moment its last word arrives as final. CPU: the worker's CPU seconds per second of the run (2.0 =
both cores of a 2-core machine). Lag at the end: from the last audio sent to the worker's last final words.
Policies: ``endpointing`` (the default: a pause ends a stretch of speech, one decoding temperature) and
``agreement`` (local agreement and length trims alone, Whisper's temperature fallback: the policy before it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import psutil

from stt_studio.engine.audio import decode_audio
from stt_studio.live.session import LiveWorkerProcess
from stt_studio.live.streaming import StreamingConfig, Word, text_of
from stt_studio.live.worker import LiveWorkerConfig, words_from_wire
from stt_studio.settings import Settings
from tests.speech import SENTENCES, concat_with_pauses, speak, wer

PAUSE_SECONDS = 2.0
CHUNK = 1600
WHISPER_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
POLICIES = ("endpointing", "agreement")


@dataclass
class Result:
    model: str
    policy: str
    audio_seconds: float
    latencies: list[float]
    missed: int
    cpu: float
    end_lag: float
    wer: float


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return float(w.getnframes()) / float(w.getframerate())


def build_clip(folder: Path, minutes: float) -> tuple[Path, list[tuple[float, float]], str]:
    """Sentences 2 s apart up to ``minutes``: the clip, each sentence's (start, end), the text."""
    parts: list[Path] = []
    spans: list[tuple[float, float]] = []
    texts: list[str] = []
    t = 0.0
    i = 0
    while t < minutes * 60:
        text = SENTENCES[i % len(SENTENCES)]
        part = speak(text, folder / f"s{i}.wav")
        length = _seconds(part)
        parts.append(part)
        spans.append((t, t + length))
        texts.append(text)
        t += length + PAUSE_SECONDS
        i += 1
    return concat_with_pauses(parts, folder / "live.wav", PAUSE_SECONDS), spans, " ".join(texts)


def run(model: str, policy: str, audio: np.ndarray, spans: list[tuple[float, float]], text: str) -> Result:
    settings = Settings(offline=True)
    config = LiveWorkerConfig(
        model=model, main_model=model, device="cpu", language="en" if model.endswith(".en") else None, prompt=None,
        models_dir=settings.resolved_models_dir, offline=True, hf_token=None, compute_type=None, cpu_threads=None,
    )  # fmt: skip
    if policy == "agreement":
        config = replace(
            config, streaming=StreamingConfig(endpoint_pause_seconds=None), temperatures=WHISPER_TEMPERATURES
        )
    worker = LiveWorkerProcess(config)
    arrivals: list[tuple[float, Word]] = []
    while not any(kind == "ready" for kind, _ in worker.events(timeout=120)):
        pass
    process = psutil.Process(worker.process.pid)
    cpu_before = sum(process.cpu_times()[:2])
    started = time.monotonic()

    def take(timeout: float = 0.0) -> bool:
        done = False
        for kind, payload in worker.events(timeout):
            if kind == "final":
                now = time.monotonic()
                arrivals.extend((now, word) for word in words_from_wire(payload))
            done = done or kind == "done"
        return done

    for n, i in enumerate(range(0, len(audio), CHUNK)):
        time.sleep(max(0.0, started + (n + 1) * CHUNK / 16_000 - time.monotonic()))
        worker.send(audio[i : i + CHUNK])
        take()
    sent_all = time.monotonic()
    worker.end_of_audio()
    while not take(timeout=1.0):
        pass
    last_final = max((t for t, _ in arrivals), default=sent_all)
    cpu = (sum(process.cpu_times()[:2]) - cpu_before) / (time.monotonic() - started)
    worker.close()

    latencies: list[float] = []
    missed = 0
    for start, end in spans:
        mine = [t for t, w in arrivals if start - 0.3 <= (w.start + w.end) / 2 <= end + 0.3]
        if mine:
            latencies.append(max(mine) - (started + end))
        else:
            missed += 1
    final_text = text_of([w for _, w in arrivals])
    return Result(
        model, policy, len(audio) / 16_000, latencies, missed, cpu, last_final - sent_all, wer(text, final_text)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--policies", nargs="+", choices=POLICIES, default=["endpointing"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip, spans, text = build_clip(Path(folder), args.minutes)
        audio = decode_audio(clip).samples
        print(f"{len(spans)} sentences, {len(audio) / 16_000:.0f} s of audio, sent in real time")
        print("model    | policy      | latency median | p90    | missed | worker CPU (cores) | lag at the end | WER")
        for model, policy in [(model, policy) for model in args.models for policy in args.policies]:
            load = psutil.getloadavg()[0]
            r = run(model, policy, audio, spans, text)
            lat = sorted(r.latencies)
            p90 = lat[min(len(lat) - 1, int(0.9 * len(lat)))] if lat else float("nan")
            median = statistics.median(lat) if lat else float("nan")
            print(
                f"{r.model:8} | {r.policy:11} | {median:11.2f} s  | {p90:4.2f} s | {r.missed:6} | {r.cpu:18.2f} | "
                f"{r.end_lag:12.2f} s | {r.wer:.1%} | load average {load:.1f} → {psutil.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
