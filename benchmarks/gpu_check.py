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
OTHER_MODEL = "tiny.en"
"""Every other job of the memory row asks for it (bundled, so offline too)."""
SWAP_MODEL = "small"
"""The job with another model asks for it: the holder unloads the extra one it holds first (offline and not
downloaded, the bundled base stands in; the swap is the same)."""
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
ROW_KEYS = ("driver", "gpu", "compute-types", "torch-archs", "gpus", "first-load", "devices", "transcription",
            "libraries", "alignment", "diarization", "memory", "out-of-memory", "two-workers", "another-model",
            "large-v3")  # fmt: skip
"""``--rows``: the rows to measure (default all)."""


class Table:
    def __init__(self, only: frozenset[str] | None = None) -> None:
        self.rows: list[tuple[str, str]] = []
        self._only = only

    def add(self, key: str, name: str, measure: Callable[[], str]) -> None:
        assert key in ROW_KEYS, key
        if self._only is not None and key not in self._only:
            return
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


def run(
    directory: Path,
    model: str,
    device: DeviceName = "cuda",
    align_model: str | None = None,
    only: frozenset[str] | None = None,
    memory_jobs: int = 10,
) -> int:
    """``device="cpu"``: a dry run of the rows on the CPU, to test this script where there is no GPU; ``only``: the
    rows to measure (``ROW_KEYS``), all by default; ``memory_jobs``: the memory row's jobs (its figures: after jobs
    1, 2, 3 and the last)."""
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

    from stt_studio.engine.model_holder import ModelHolder
    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from tests.speech import wer

    table = Table(only)
    table.add("driver", "driver", lambda: str(facts.driver_version))
    if gpu is not None:
        table.add("gpu", "GPU 0", lambda: f"{gpu.name}, compute capability {gpu.capability[0]}.{gpu.capability[1]}, "
                                   f"{gpu.free_mb:.0f} of {gpu.total_mb:.0f} MiB free")  # fmt: skip
        table.add("compute-types", "CTranslate2 compute types",
                  lambda: f"{ctranslate2.__version__}: {', '.join(sorted(gpu.compute_types))}")  # fmt: skip
        table.add("torch-archs", "torch archs",
                  lambda: f"{torch.__version__}: {' '.join(facts.torch_arch_list)}; runs on this card: "
                          f"{torch_runs_on(facts, gpu)}")  # fmt: skip
    table.add("gpus", "GPUs", lambda: str(facts.ctranslate2_cuda_devices))
    compute_type = choose_compute_type(facts, device, None).compute_type
    with tempfile.TemporaryDirectory(prefix="stt-gpu-cache-") as tmp:
        cache = Path(tmp)
        table.add("first-load", "first load, cold kernel cache",
                  lambda: f"{_load_seconds_in_fresh_process(model, device, compute_type, cache):.1f} s")  # fmt: skip
        table.add("first-load", "first load, warm kernel cache",
                  lambda: f"{_load_seconds_in_fresh_process(model, device, compute_type, cache):.1f} s")  # fmt: skip

    settings = _settings(align_model=align_model)
    engine = Engine(settings, model=model, device=device)
    holder = ModelHolder(engine)
    parts = engine.parts
    table.add("devices", "devices",
              lambda: f"asr {parts.asr}, vad {parts.vad}, align {parts.align}, diarize {parts.diarize}; "
                      f"{engine.compute_type}, batch {engine.batch_size}")  # fmt: skip
    speech = directory / manifest["speech"]["file"]

    def float16_job() -> str:
        result = engine.transcribe(speech)
        return (f"{result.compute_type} on {result.device}: WER {wer(manifest['speech']['text'], result.text):.1%}, "
                f"{result.processing_time:.2f} s for {result.duration:.0f} s")  # fmt: skip

    table.add("transcription", "transcription", float16_job)
    table.add("libraries", "libraries loaded", _loaded_libraries)
    dialogue = directory / manifest["dialogue"]["file"]
    table.add("alignment", "alignment", lambda: alignment_row(engine, speech, align_model))

    def diarized() -> str:
        result = engine.transcribe(dialogue, TranscribeOptions(diarization=DiarizationOptions()))
        return f"speakers {len(result.speakers or [])} of {manifest['dialogue']['speakers']} on {engine.parts.diarize}"

    table.add("diarization", "diarization", diarized)
    other = OTHER_MODEL if model != OTHER_MODEL else "base"
    measure = (lambda: _used_mb(torch)) if device == "cuda" else _rss_mb
    table.add("memory", "device memory" if device == "cuda" else "worker RSS (CPU dry run)",
              lambda: memory_row(holder, other, speech, measure, memory_jobs))  # fmt: skip
    table.add("out-of-memory", "job with ~256 MiB free",
              lambda: starved_job_row(engine, speech, holder.after_job, torch))  # fmt: skip
    table.add("two-workers", "two workers on one GPU", lambda: _two_processes(model, speech, device))
    table.add("another-model", "a job with another model", lambda: swap_row(holder, SWAP_MODEL, speech, measure))
    table.add("large-v3", "large-v3 real-time factor", lambda: _large_v3(directory / manifest["long"]["file"], device))
    print("\n" + table.render())
    return 0


# --- the rows that go through the worker's own code ---------------------------------------------------------------
def alignment_row(engine: Any, speech: Path, align_model: str | None) -> str:
    """WhisperX's wav2vec2 alignment, where it ran; offline without an alignment model (as the tests run) it cannot
    run, and the row says so rather than naming a device nothing ran on."""
    if engine.settings.offline and align_model is None:
        return ("not measured: offline there is no alignment model (the tests have none either), so word times are "
                "Whisper's own; put a wav2vec2 model in the models folder's align/ and pass --align-model NAME")
    result = engine.transcribe(speech)
    if result.word_timestamps != "wav2vec2":
        return f"not measured: {align_model} did not load (see the log); word times are Whisper's own"
    return f"wav2vec2 ({align_model}) on {engine.parts.align}"


def memory_row(holder: Any, other: str, speech: Path, measure: Callable[[], float], jobs: int = 10) -> str:
    """A worker's jobs as ``transcribe_job`` runs them: the holder picks the engine (every other job asks for
    ``other``), and after each job releases what it left (``ModelHolder.after_job``: gc, torch's CUDA cache)."""
    used: dict[int, float] = {}
    for job in range(1, jobs + 1):
        holder.engine_for(other if job % 2 == 0 else None).transcribe(speech)
        holder.after_job()
        used[job] = measure()
    shown = ", ".join(f"after job {j}: {used[j]:.0f} MiB" for j in (1, 2, 3, jobs))
    return (f"{shown} (default {holder.default.model_spec}, every other job {other}); job {jobs} - job 2: "
            f"{used[jobs] - used[2]:+.0f} MiB")  # fmt: skip


class _CheckJob:
    """What ``halving_batch_on_oom`` reads of an RQ job: its id and meta."""

    id = "gpu-check"

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}


def oom_outcome(engine: Any, run: Callable[[int | None], Any], release: Callable[[], None]) -> str:
    """A job through the worker's out-of-memory handling: the half-batch retry, then the plain failure that names
    the model and the free memory (``transcribe_job``'s own message)."""
    from stt_studio.engine.cuda_faults import CudaFault, classify
    from stt_studio.jobs.worker import halving_batch_on_oom, out_of_memory_failure

    job = _CheckJob()
    try:
        halving_batch_on_oom(run, engine, job, release)  # type: ignore[arg-type]
    except Exception as exc:
        if classify(exc) is not CudaFault.OUT_OF_MEMORY:
            raise
        return f"failed plainly: {out_of_memory_failure(engine, job)}"  # type: ignore[arg-type]
    sizes = job.meta.get("batch_sizes")
    return f"completed at half the batch ({sizes[0]} → {sizes[1]})" if sizes else "completed at the full batch"


def starved_job_row(engine: Any, speech: Path, release: Callable[[], None], torch: Any) -> str:
    from stt_studio.engine.options import TranscribeOptions

    def run(batch_size: int | None) -> Any:
        return engine.transcribe(speech, TranscribeOptions(batch_size=batch_size))

    if engine.device != "cuda":  # a dry run: the worker's path, with CTranslate2's out-of-memory error injected
        attempts: list[int | None] = []

        def short_of_memory(batch_size: int | None) -> Any:
            attempts.append(batch_size)
            if len(attempts) == 1:
                raise RuntimeError("CUDA failed with error out of memory")
            return run(batch_size)

        def always_short(_batch_size: int | None) -> Any:
            raise RuntimeError("CUDA failed with error out of memory")

        once = oom_outcome(engine, short_of_memory, release)
        twice = oom_outcome(engine, always_short, release)
        return f"CPU dry run, CTranslate2's error injected: once, {once}; twice, {twice}"
    free, _total = torch.cuda.mem_get_info()
    hog = torch.empty(max(0, int(free - 256 * 2**20)), dtype=torch.uint8, device="cuda")
    try:
        outcome = oom_outcome(engine, run, release)
    finally:
        del hog
        release()
    again = engine.transcribe(speech)
    return f"{outcome}; the next job with memory back: {again.processing_time:.2f} s"


def swap_row(holder: Any, wanted: str, speech: Path, measure: Callable[[], float]) -> str:
    """A job asking for a model other than the default and the extra one held: the holder unloads the held one
    (and releases its memory) before it loads the new one, never both at once."""
    held = holder.extra.model_spec if holder.extra is not None else None
    before = measure()
    engine = holder.engine_for(wanted)
    result = engine.transcribe(speech)
    holder.after_job()
    stand_in = f" ({result.model} stands in offline)" if result.model != wanted else ""
    return (f"unloaded {held or 'nothing (none held)'}, loaded {wanted}{stand_in}: {result.processing_time:.2f} s; "
            f"{before:.0f} → {measure():.0f} MiB; holding {holder.default.model_spec} and {holder.extra.model_spec}")


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


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
    parser.add_argument("--align-model", help="run: a wav2vec2 model (in the models folder's align/) to align with")
    parser.add_argument("--rows", help=f"run: only these rows, comma-separated ({', '.join(ROW_KEYS)})")
    parser.add_argument("--memory-jobs", type=int, default=10, help="run: the memory row's jobs (at least 4)")
    parser.add_argument("--long-seconds", type=float, default=LONG_SECONDS, help="prepare: the long file's length")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.directory, args.long_seconds)
        size = sum(p.stat().st_size for p in args.directory.iterdir()) / 2**20
        print(f"Prepared {args.directory} ({size:.1f} MiB)")
        return 0
    only = frozenset(args.rows.split(",")) if args.rows else None
    if only is not None and not only <= set(ROW_KEYS):
        parser.error(f"--rows: unknown {', '.join(sorted(only - set(ROW_KEYS)))} (known: {', '.join(ROW_KEYS)})")
    return run(args.directory, args.model, args.device, args.align_model, only, args.memory_jobs)


if __name__ == "__main__":
    sys.exit(main())
