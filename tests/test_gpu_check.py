"""scripts/gpu-check.sh where there is no GPU: its prepare step makes small inputs, its run step says in one line
that there is no GPU and exits non-zero, and its CPU dry run runs the rows that go through the worker's code; each
of those rows measures what it says (the worker's model holder, its out-of-memory handling), shown with stand-in
engines that record what the row calls."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from unittest.mock import patch

import pytest

from benchmarks.gpu_check import alignment_row, memory_row, oom_outcome, swap_row
from stt_studio.engine.model_holder import ModelHolder
from stt_studio.engine.pipeline import cuda_available
from tests.speech import SENTENCES, speech_clip

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu-check.sh"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("gpu-check")
    subprocess.run([str(SCRIPT), "prepare", str(directory), "--long-seconds", "20"], check=True, capture_output=True)
    return directory


def test_prepare_makes_known_speech_a_dialogue_and_a_long_file_under_60_mib(inputs: Path) -> None:
    manifest = json.loads((inputs / "manifest.json").read_text())
    assert manifest["speech"]["text"].startswith("The quick brown fox") and manifest["dialogue"]["speakers"] == 2
    assert manifest["long"]["seconds"] == 20
    files = [inputs / manifest[key]["file"] for key in ("speech", "dialogue", "long")]
    assert all(f.stat().st_size > 10_000 for f in files)
    assert sum(f.stat().st_size for f in inputs.iterdir()) < 60 * 2**20
    assert sorted(p.name for p in inputs.iterdir()) == ["dialogue.wav", "long.opus", "manifest.json", "speech.wav"]


def test_run_without_a_gpu_says_so_in_one_line(inputs: Path) -> None:
    if cuda_available():
        pytest.skip("this machine has a GPU")
    proc = subprocess.run([str(SCRIPT), "run", str(inputs)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("No CUDA GPU on this machine: CTranslate2 sees none")
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


# --- the rows measure what they say: through the worker's own code ------------------------------------------------
class _Engine:
    """Stands in for an Engine in the rows' bookkeeping (what each row calls, in which order)."""

    def __init__(self, spec: str, calls: list[str], *, offline: bool = True, timestamps: str = "whisper") -> None:
        self.model_spec, self.device, self.batch_size, self.loaded_model = spec, "cuda", 16, None
        self.settings = SimpleNamespace(offline=offline)
        self.parts = SimpleNamespace(align="cuda")
        self._calls, self._timestamps = calls, timestamps

    def for_model(self, spec: str) -> _Engine:
        self._calls.append(f"load {spec}")
        return _Engine(spec, self._calls)

    def unload(self) -> None:
        self._calls.append(f"unload {self.model_spec}")

    def transcribe(self, _path: Path, _options: object = None) -> SimpleNamespace:
        self._calls.append(f"job {self.model_spec}")
        return SimpleNamespace(model=self.model_spec, processing_time=1.0, word_timestamps=self._timestamps)


def _holder(calls: list[str]) -> ModelHolder:
    return ModelHolder(cast(Any, _Engine("base", calls)), release=lambda _device: calls.append("release"))


def test_the_memory_row_runs_a_workers_jobs_two_models_alternating_and_releasing_after_each() -> None:
    calls: list[str] = []
    row = memory_row(_holder(calls), "tiny.en", Path("speech.wav"), lambda: 100.0, jobs=4)
    assert calls == ["job base", "release", "load tiny.en", "job tiny.en", "release", "job base", "release",
                     "job tiny.en", "release"]  # fmt: skip
    assert row.startswith("after job 1: 100 MiB, after job 2: 100 MiB, after job 3: 100 MiB, after job 4: 100 MiB")


def test_another_model_unloads_the_one_held_before_it_loads() -> None:
    calls: list[str] = []
    holder = _holder(calls)
    holder.engine_for("tiny.en")
    calls.clear()
    row = swap_row(holder, "small", Path("speech.wav"), lambda: 100.0)
    assert calls == ["unload tiny.en", "release", "load small", "job small", "release"]
    assert row.startswith("unloaded tiny.en, loaded small: ") and row.endswith("holding base and small")


def test_the_out_of_memory_row_is_the_workers_half_batch_retry_then_its_plain_failure() -> None:
    calls: list[str] = []
    engine = cast(Any, _Engine("large-v3", calls))
    tries: list[int | None] = []

    def once(batch_size: int | None) -> None:
        tries.append(batch_size)
        if len(tries) == 1:
            raise RuntimeError("CUDA failed with error out of memory")

    assert oom_outcome(engine, once, lambda: calls.append("release")) == "completed at half the batch (16 → 8)"
    assert tries == [None, 8] and calls == ["release"]

    def always(_batch_size: int | None) -> None:
        raise RuntimeError("CUDA failed with error out of memory")

    with patch("stt_studio.jobs.cuda_recovery.free_memory", lambda _device: "212 MB of 81559 MB free on the GPU"):
        outcome = oom_outcome(engine, always, lambda: None)
    assert outcome == (
        "failed plainly: Out of GPU memory running the Whisper model 'large-v3' (batch size 16 and 8): 212 MB of "
        "81559 MB free on the GPU. Try a smaller model, a smaller STT_BATCH_SIZE, or fewer workers on this GPU."
    )


def test_the_alignment_row_never_names_a_device_the_aligner_did_not_run_on() -> None:
    calls: list[str] = []
    offline = cast(Any, _Engine("base", calls))
    assert alignment_row(offline, Path("s.wav"), None).startswith("not measured: offline there is no alignment model")
    assert calls == []  # nothing ran
    fell_back = cast(Any, _Engine("base", calls))
    assert alignment_row(fell_back, Path("s.wav"), "WAV2VEC2_ASR_BASE_960H").startswith("not measured: ")
    aligned = cast(Any, _Engine("base", calls, timestamps="wav2vec2"))
    assert alignment_row(aligned, Path("s.wav"), "WAV2VEC2_ASR_BASE_960H") == (
        "wav2vec2 (WAV2VEC2_ASR_BASE_960H) on cuda"
    )


def test_the_cpu_dry_run_of_the_worker_rows_on_the_bundled_models(inputs: Path, tmp_path: Path) -> None:
    """The script itself, ``--device cpu`` on tiny.en and base, with a one-sentence speech file and the rows that
    go through the worker's code (the full dry run takes about 2 minutes on this machine's 2 shared cores: too slow
    for every test run)."""
    short = tmp_path / "inputs"
    shutil.copytree(inputs, short)
    speech_clip(tmp_path / "clip", SENTENCES[:1], "speech").replace(short / "speech.wav")
    manifest = json.loads((short / "manifest.json").read_text())
    manifest["speech"]["text"] = SENTENCES[0]
    (short / "manifest.json").write_text(json.dumps(manifest))
    rows = "devices,alignment,memory,out-of-memory,another-model"
    proc = subprocess.run([str(SCRIPT), "run", str(short), "--device", "cpu", "--model", "tiny.en", "--rows", rows,
                           "--memory-jobs", "4"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = dict(
        line.strip("|").split(" | ", 1) for line in proc.stdout.split("| check | result |")[1].splitlines()[2:] if line
    )
    table = {name.strip(): value.strip() for name, value in table.items()}
    assert list(table) == ["devices", "alignment", "worker RSS (CPU dry run)", "job with ~256 MiB free",
                           "a job with another model"]  # fmt: skip
    assert table["devices"].startswith("asr cpu, vad cpu, align cpu, diarize cpu; int8")
    assert table["alignment"].startswith("not measured: offline there is no alignment model")
    memory = table["worker RSS (CPU dry run)"]
    assert "after job 4" in memory and "every other job base" in memory
    assert "once, completed at half the batch (4 → 2)" in table["job with ~256 MiB free"]
    assert "twice, failed plainly: Out of memory running the Whisper model 'tiny.en' (batch size 4 and 2)" in table[
        "job with ~256 MiB free"
    ]
    assert table["a job with another model"].startswith("unloaded base, loaded small (base stands in offline)")
    assert "FAILED" not in proc.stdout
