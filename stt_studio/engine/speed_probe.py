"""How fast Whisper runs on this machine, measured rather than guessed: the bundled tiny.en model transcribes a few
seconds of real speech (pyannote.audio's bundled two-speaker sample; espeak-ng speech where that is missing) on the
device the engine would use, and each other model's time is that one scaled by its relative cost.

The relative cost is the model's parameter count over tiny's (``device.MODEL_FIGURES``): the work per second of
audio grows with it. On this project's 2-core CPU, measured, base/tiny.en came out at 1.9 (the parameter ratio is
1.9); the other models are too big to ship, so their ratios are the parameter ratio (see README, First run).

``python -m stt_studio.engine.speed_probe`` prints the device facts and the measurement as one JSON object: the
welcome step runs it as a child process, so the window never holds a model or a CUDA context for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from stt_studio.engine.device import DeviceFacts, facts_from_json, facts_to_json, model_figures, probe_device_facts

PROBE_MODEL = "tiny.en"
PROBE_SECONDS = 10.0
ESPEAK_TEXT = (
    "Good morning everyone. Today we look at the budget for the next quarter, then at the plans for the new office."
)


@dataclass(frozen=True)
class SpeedProbe:
    device: str
    """"cuda" or "cpu": where tiny.en ran."""
    compute_type: str
    audio_seconds: float
    seconds: float
    """Transcribing took this long (after a warm-up run; loading not counted)."""

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.audio_seconds if self.audio_seconds > 0 else 0.0

    def describe(self) -> str:
        where = "the GPU" if self.device == "cuda" else "the CPU"
        return (
            f"Measured: the bundled {PROBE_MODEL} model transcribed {self.audio_seconds:.0f} s of speech in "
            f"{self.seconds:.2f} s on {where}."
        )


def relative_cost(model: str) -> float:
    """How much more work a second of audio is for ``model`` than for tiny (by parameter count)."""
    return model_figures(model).params_millions / model_figures("tiny").params_millions


def expected_real_time_factor(model: str, probe: SpeedProbe) -> float:
    return probe.real_time_factor * relative_cost(model)


def probe_audio(folder: Path) -> Path | None:
    """A clip of real speech that ships with an installed package, or espeak-ng speech written into ``folder``."""
    try:
        import pyannote.audio

        sample = Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
        if sample.is_file():
            return sample
    except ImportError:
        pass
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak is None:
        return None
    target = folder / "probe.wav"
    subprocess.run([espeak, "-w", str(target), ESPEAK_TEXT], check=True, capture_output=True, timeout=60)
    return target


def measure(device: str, audio: Path) -> SpeedProbe:
    """tiny.en on the first ``PROBE_SECONDS`` of ``audio``: one warm-up run (kernels, caches), one timed run."""
    from faster_whisper import WhisperModel, decode_audio

    from stt_studio.engine.cpu import cpu_count
    from stt_studio.engine.models import bundled_model

    folder = bundled_model(PROBE_MODEL, Path(tempfile.gettempdir()))
    if folder is None:
        raise RuntimeError(f"the bundled {PROBE_MODEL} model is not installed")
    compute_type = "float16" if device == "cuda" else "int8"
    model = WhisperModel(str(folder), device=device, compute_type=compute_type,
                         cpu_threads=cpu_count() if device == "cpu" else 0)  # fmt: skip
    samples = decode_audio(str(audio))[: int(PROBE_SECONDS * 16000)]
    list(model.transcribe(samples[:32000], language="en", condition_on_previous_text=False)[0])
    started = time.perf_counter()
    list(model.transcribe(samples, language="en", condition_on_previous_text=False)[0])
    return SpeedProbe(device, compute_type, len(samples) / 16000, time.perf_counter() - started)


@dataclass(frozen=True)
class MachineReport:
    facts: DeviceFacts
    probe: SpeedProbe | None
    problem: str | None = None
    """Why there is no measurement (no bundled model, no speech to probe with, the probe failed)."""


def report_from_json(data: dict[str, object]) -> MachineReport:
    facts = facts_from_json(data["facts"])  # type: ignore[arg-type]
    probe = data.get("probe")
    return MachineReport(facts, SpeedProbe(**probe) if isinstance(probe, dict) else None, data.get("problem"))  # type: ignore[arg-type]


def main() -> int:
    facts = probe_device_facts()
    device = "cuda" if facts.gpus and facts.ctranslate2_cuda_devices else "cpu"
    result: dict[str, object] = {"facts": facts_to_json(facts)}
    with tempfile.TemporaryDirectory(prefix="stt-probe-") as folder:
        try:
            audio = probe_audio(Path(folder))
            if audio is None:
                result["problem"] = "No speech to measure with (pyannote.audio's sample and espeak-ng are missing)."
            else:
                result["probe"] = asdict(measure(device, audio))
        except Exception as exc:  # a failed probe leaves the welcome step without speeds, not broken
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            result["problem"] = f"The speed probe failed: {reason}"
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    from stt_studio.engine.cpu import configure_process_environment
    from stt_studio.processes import tie_to_parent_from_env

    tie_to_parent_from_env()
    configure_process_environment()
    raise SystemExit(main())
