"""The check for the first GPU (issue 19): the whole GPU path, measured in one run of a few minutes.

    python -m benchmarks.gpu_check prepare DIR   # on any machine (a CPU is fine): espeak-ng speech, under 60 MiB
    python -m benchmarks.gpu_check run DIR       # on the GPU machine, offline: prints the table

``scripts/gpu-check.sh`` wraps both. Without a GPU, ``run`` says so in one line and exits with status 2.
Each row is measured on its own: one that fails says why in its row, and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stt_studio.settings import DeviceName

NO_GPU_EXIT = 2
MANIFEST = "manifest.json"
LONG_SECONDS = 600.0
ROOT = Path(__file__).resolve().parent.parent


# --- prepare (any machine) ---------------------------------------------------------------------------------------
def prepare(directory: Path, long_seconds: float = LONG_SECONDS) -> dict[str, Any]:
    """Speech with known text, a two-voice dialogue, and a long file (the speech repeated, as Opus): about 5 MB."""
    from tests.speech import SENTENCES, dialogue, speech_clip

    directory.mkdir(parents=True, exist_ok=True)
    speech = speech_clip(directory / "parts", SENTENCES, "speech")
    (directory / "speech.wav").write_bytes(speech.read_bytes())
    talk = dialogue(directory / "parts", [(i % 2, SENTENCES[i]) for i in range(6)], "dialogue")
    (directory / "dialogue.wav").write_bytes(talk.path.read_bytes())
    repeats = max(1, int(long_seconds // _seconds(speech)) + 1)
    long = directory / "long.opus"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(repeats - 1), "-i", str(speech), "-t",
                    str(long_seconds), "-c:a", "libopus", "-b:a", "24k", str(long)], check=True)  # fmt: skip
    for part in (directory / "parts").iterdir():
        part.unlink()
    (directory / "parts").rmdir()
    manifest = {
        "speech": {"file": "speech.wav", "text": " ".join(SENTENCES)},
        "dialogue": {"file": "dialogue.wav", "text": talk.text, "speakers": 2},
        "long": {"file": "long.opus", "seconds": long_seconds},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _seconds(path: Path) -> float:
    import wave

    with wave.open(str(path)) as w:
        return float(w.getnframes()) / float(w.getframerate())


# --- run (the GPU machine) ---------------------------------------------------------------------------------------
class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, name: str, measure: Callable[[], str]) -> None:
        try:
            value = measure()
        except Exception as exc:  # a row that fails says why; the others still run
            value = f"FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        self.rows.append((name, value))
        print(f"| {name} | {value} |", flush=True)

    def render(self) -> str:
        lines = ["| check | result |", "|---|---|", *(f"| {n} | {v} |" for n, v in self.rows)]
        return "\n".join(lines)


def _used_mb(torch: Any) -> float:
    free, total = torch.cuda.mem_get_info()
    return float(total - free) / 2**20


def _loaded_libraries() -> str:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "unknown (no /proc)"
    names = ("libcublas.so", "libcublasLt.so", "libcudnn.so", "libcudart.so", "libctranslate2")
    paths = sorted({line.split()[-1] for line in maps.splitlines() if any(n in line for n in names)})
    return "; ".join(paths) or "none"


def _load_seconds_in_fresh_process(model: str, device: str, compute_type: str, cache: Path) -> float:
    """One model load on the GPU in a new process with CUDA_CACHE_PATH=cache: cold (empty cache) vs warm."""
    code = ("import time, sys; t = time.perf_counter(); from stt_studio.engine.whisper_loader import load_whisper; "
            "from stt_studio.engine.models import resolve_model; from pathlib import Path; "
            f"m = resolve_model({model!r}, Path(sys.argv[1]), hf_token=None, offline=True); t = time.perf_counter(); "
            f"load_whisper(str(m.path), {device!r}, {compute_type!r}, 1); print(time.perf_counter() - t)")  # fmt: skip
    env = {**os.environ, "CUDA_CACHE_PATH": str(cache), "PYTHONPATH": str(ROOT)}
    models = str(_settings().resolved_models_dir)
    out = subprocess.run([sys.executable, "-c", code, models], capture_output=True, text=True, env=env, check=True)
    seconds: float = float(out.stdout.strip().splitlines()[-1])
    return seconds


def _settings(**extra: Any) -> Any:
    from stt_studio.settings import Settings

    return Settings(offline=True, diarization_backend="local", **extra)


def run(directory: Path, model: str, device: DeviceName = "cuda") -> int:
    """``device="cpu"``: a dry run of every row on the CPU, to test this script where there is no GPU."""
    from stt_studio.engine.device import choose_compute_type, probe_device_facts, torch_runs_on

    seen = probe_device_facts(with_torch=False)  # CTranslate2 alone: a second on a machine without a GPU
    if device == "cuda" and seen.ctranslate2_cuda_devices == 0:
        reason = f" ({seen.probe_error})" if seen.probe_error else ""
        print(f"No CUDA GPU on this machine: CTranslate2 sees none{reason}; run this check on an NVIDIA GPU.",
              file=sys.stderr)  # fmt: skip
        return NO_GPU_EXIT
    facts = probe_device_facts()
    gpu = facts.gpu(0)
    if not (directory / MANIFEST).is_file():
        print(f"{directory} has no {MANIFEST}: run scripts/gpu-check.sh prepare first", file=sys.stderr)
        return 1
    manifest = json.loads((directory / MANIFEST).read_text())
    import ctranslate2
    import torch

    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from tests.speech import wer

    table = Table()
    table.add("driver", lambda: str(facts.driver_version))
    if gpu is not None:
        table.add("GPU 0", lambda: f"{gpu.name}, compute capability {gpu.capability[0]}.{gpu.capability[1]}, "
                                   f"{gpu.free_mb:.0f} of {gpu.total_mb:.0f} MiB free")  # fmt: skip
        table.add("CTranslate2 compute types",
                  lambda: f"{ctranslate2.__version__}: {', '.join(sorted(gpu.compute_types))}")  # fmt: skip
        table.add("torch archs", lambda: f"{torch.__version__}: {' '.join(facts.torch_arch_list)}; runs on this card: "
                                         f"{torch_runs_on(facts, gpu)}")  # fmt: skip
    table.add("GPUs", lambda: str(facts.ctranslate2_cuda_devices))
    compute_type = choose_compute_type(facts, device, None).compute_type
    with tempfile.TemporaryDirectory(prefix="stt-gpu-cache-") as tmp:
        cache = Path(tmp)
        table.add("first load, cold kernel cache",
                  lambda: f"{_load_seconds_in_fresh_process(model, device, compute_type, cache):.1f} s")  # fmt: skip
        table.add("first load, warm kernel cache",
                  lambda: f"{_load_seconds_in_fresh_process(model, device, compute_type, cache):.1f} s")  # fmt: skip

    engine = Engine(_settings(), model=model, device=device)
    parts = engine.parts
    table.add("devices", lambda: f"asr {parts.asr}, vad {parts.vad}, align {parts.align}, diarize {parts.diarize}; "
                                 f"{engine.compute_type}, batch {engine.batch_size}")  # fmt: skip
    speech = directory / manifest["speech"]["file"]

    def float16_job() -> str:
        result = engine.transcribe(speech)
        return (f"{result.compute_type} on {result.device}: WER {wer(manifest['speech']['text'], result.text):.1%}, "
                f"{result.processing_time:.2f} s for {result.duration:.0f} s")  # fmt: skip

    table.add("transcription", float16_job)
    table.add("libraries loaded", _loaded_libraries)

    def diarized() -> str:
        result = engine.transcribe(directory / manifest["dialogue"]["file"],
                                   TranscribeOptions(diarization=DiarizationOptions()))  # fmt: skip
        return (f"word times: {result.word_timestamps} on {engine.parts.align}; speakers {len(result.speakers or [])} "
                f"of {manifest['dialogue']['speakers']} on {engine.parts.diarize}")  # fmt: skip

    table.add("alignment and diarization", diarized)
    used: dict[int, float] = {}

    def memory_over_jobs() -> str:
        for job in range(1, 11):
            engine.transcribe(speech)
            used[job] = _used_mb(torch)
        return ", ".join(f"after job {j}: {used[j]:.0f} MiB" for j in (1, 3, 10))

    table.add("device memory", memory_over_jobs)
    table.add("job with ~256 MiB free", lambda: _starved_job(engine, speech, torch))
    table.add("two workers on one GPU", lambda: _two_processes(model, speech, device))

    def other_model() -> str:
        other = Engine(_settings(), model="tiny.en" if model != "tiny.en" else "base", device=device)
        result = other.transcribe(speech)
        return f"{result.model}: {result.processing_time:.2f} s; device memory now {_used_mb(torch):.0f} MiB"

    table.add("a job with another model", other_model)
    table.add("large-v3 real-time factor", lambda: _large_v3(directory / manifest["long"]["file"], device))
    print("\n" + table.render())
    return 0


def _starved_job(engine: Any, speech: Path, torch: Any) -> str:
    free, _total = torch.cuda.mem_get_info()
    hog = torch.empty(max(0, int(free - 256 * 2**20)), dtype=torch.uint8, device="cuda")
    try:
        engine.transcribe(speech)
        outcome = "completed"
    except Exception as exc:  # the out-of-memory path is what this row is for
        outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        del hog
        torch.cuda.empty_cache()
    again = engine.transcribe(speech)
    return f"{outcome}; the next job with memory back: {again.processing_time:.2f} s"


def _two_processes(model: str, speech: Path, device: DeviceName) -> str:
    code = ("import sys, time; from stt_studio.engine.pipeline import Engine; "
            "from stt_studio.settings import Settings; "
            "e = Engine(Settings(offline=True), model=sys.argv[1], device=sys.argv[3]); t = time.perf_counter(); "
            "r = e.transcribe(sys.argv[2]); print(r.device, round(time.perf_counter() - t, 2))")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, model, str(speech), device], stdout=subprocess.PIPE,
                              text=True, stderr=subprocess.DEVNULL, env=env) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=240)[0].strip() or f"exit {p.returncode}" for p in procs]
    return " | ".join(outs)


def _large_v3(long: Path, device: DeviceName) -> str:
    from stt_studio.engine.models import resolve_model
    from stt_studio.engine.pipeline import Engine

    resolved = resolve_model("large-v3", _settings().resolved_models_dir, hf_token=None, offline=True)
    if resolved.name != "large-v3":
        return "not present (offline): skipped"
    result = Engine(_settings(), model="large-v3", device=device).transcribe(long)
    return f"RTF {result.processing_time / result.duration:.3f} on {result.duration:.0f} s ({result.compute_type})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "run"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--model", default="base", help="run: the model of the rows (default: the bundled base)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="run: cpu is a dry run of the rows, to test this script without a GPU")  # fmt: skip
    parser.add_argument("--long-seconds", type=float, default=LONG_SECONDS, help="prepare: the long file's length")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.directory, args.long_seconds)
        size = sum(p.stat().st_size for p in args.directory.iterdir()) / 2**20
        print(f"Prepared {args.directory} ({size:.1f} MiB)")
        return 0
    return run(args.directory, args.model, args.device)


if __name__ == "__main__":
    sys.exit(main())
