"""Doctor checks of the Python environment: the interpreter, the packages, the GPU stack, audio decoding."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import sys
import tempfile
import wave
from pathlib import Path

from stt_studio.doctor.findings import DoctorContext, Finding


# --- Python and packages ----------------------------------------------------------------------------------------
def check_python(ctx: DoctorContext) -> Finding:
    from packaging.specifiers import SpecifierSet

    version = ".".join(map(str, sys.version_info[:3]))
    try:
        supported = importlib.metadata.metadata("stt-studio")["Requires-Python"] or ""
    except importlib.metadata.PackageNotFoundError:
        supported = ">=3.10,<3.13"
    if SpecifierSet(supported).contains(version):
        return Finding("ok", f"{version} ({sys.executable})")
    return Finding("fail", f"{version} is not supported (needs {supported})", "Install with Python 3.10, 3.11 or 3.12.")


KEY_PACKAGES = ("stt-studio", "whisperx", "faster-whisper", "ctranslate2", "torch", "torchaudio", "pyannote.audio",
                "av", "PySide6-Essentials", "redis", "rq", "huggingface-hub")  # fmt: skip


def check_packages(ctx: DoctorContext) -> Finding:
    """The key versions, and whether every requirement of the installed stt-studio is met."""
    from packaging.requirements import Requirement

    versions = []
    for name in KEY_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{name} {importlib.metadata.version(name)}")
    try:
        requirements = importlib.metadata.requires("stt-studio") or []
    except importlib.metadata.PackageNotFoundError:
        return Finding("fail", "stt-studio is not installed in this Python", "Run scripts/setup.sh (pip install -e .).")
    problems = []
    for line in requirements:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # another platform's, or an extra's
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{req.name} is missing")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{req.name} {installed} does not satisfy {req.name}{req.specifier}")
    if problems:
        return Finding(
            "fail",
            "; ".join(problems),
            "Reinstall into this environment: scripts/setup.sh (or pip install -e . in a checkout).",
        )
    return Finding("ok", ", ".join(versions))


# --- GPU ---------------------------------------------------------------------------------------------------------
def _wants_cuda(ctx: DoctorContext) -> bool:
    return ctx.settings.whisper_device == "cuda"


def check_torch_cuda(ctx: DoctorContext) -> Finding:
    import torch

    cuda_build = torch.version.cuda
    build = f"torch {torch.__version__}, " + (f"CUDA {cuda_build} build" if cuda_build else "CPU build")
    if torch.cuda.is_available():
        names = []
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            names.append(
                f"GPU {index}: {torch.cuda.get_device_name(index)}, {free / 2**30:.1f} of {total / 2**30:.1f} GiB free"
            )
        return Finding("ok", f"{'; '.join(names)} ({build})")
    if not cuda_build and _wants_cuda(ctx):
        return Finding(
            "warn",
            f"{build}: it can't use a GPU (VAD, alignment and diarization would run on the CPU)",
            "Reinstall with scripts/setup.sh: PyPI's Linux torch wheels are CUDA builds.",
        )
    return Finding("info", f"no CUDA GPU visible ({build})")  # the Device check gives the verdict


def check_ctranslate2_cuda(ctx: DoctorContext) -> Finding:
    import ctranslate2

    count = ctranslate2.get_cuda_device_count()
    if count:
        types = ", ".join(sorted(ctranslate2.get_supported_compute_types("cuda")))
        return Finding("ok", f"CTranslate2 {ctranslate2.__version__}: {count} CUDA device(s); compute types {types}")
    return Finding("info", f"CTranslate2 {ctranslate2.__version__}: no CUDA device")  # the Device check judges


def _cublas_library() -> str | None:
    if sys.platform.startswith("linux"):
        return "libcublas.so.12"
    if sys.platform == "win32":
        return "cublas64_12.dll"
    return None  # macOS: no CUDA


def _loaded_from(library: str) -> str | None:
    """Where this process loaded ``library`` from (Linux: /proc/self/maps), or None."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/maps").read_text().splitlines():
            if line.endswith("/" + library):
                return line.split()[-1]
    return None


def check_cuda_libraries(ctx: DoctorContext) -> Finding:
    """What a worker really loads: CTranslate2 (4.6+) dlopens cuBLAS 12 by name and uses no cuDNN; importing torch
    first (as the engine does) puts the cuBLAS of torch's nvidia-cublas-cu12 wheel in the process, where that
    dlopen finds it. cuDNN 9 is torch's own (VAD, alignment, diarization on the GPU)."""
    library = _cublas_library()
    if library is None:
        return Finding("info", "no CUDA on this platform")
    import torch  # first, as the engine's model loader does

    gpu = torch.cuda.is_available()
    try:
        ctypes.CDLL(library)
    except OSError as exc:
        detail = f"{library} (cuBLAS 12, which CTranslate2 needs on a GPU) does not load: {str(exc).splitlines()[0]}"
        if gpu and _wants_cuda(ctx):
            return Finding("fail", detail, "Reinstall with scripts/setup.sh (torch's wheel brings nvidia-cublas-cu12).")
        return Finding("info", f"{detail}; only a GPU needs it")
    wheel = ""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        wheel = f" {importlib.metadata.version('nvidia-cublas-cu12')}"
    where = _loaded_from(library)
    text = f"cuBLAS{wheel} for CTranslate2 ({where or library}, loaded with torch)"
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None  # type: ignore[no-untyped-call]
    if cudnn:
        text += f"; cuDNN {cudnn // 10000}.{cudnn // 100 % 100}.{cudnn % 100} for torch's parts"
    text += "; CTranslate2 uses no cuDNN"
    return Finding("ok", text) if gpu else Finding("info", f"{text}; used only on a GPU")


def check_device(ctx: DoctorContext) -> Finding:
    from stt_studio.engine.cpu import cpu_count
    from stt_studio.engine.pipeline import cuda_available

    settings = ctx.settings
    if settings.whisper_device == "cpu":
        threads = settings.cpu_threads or cpu_count()
        return Finding("ok", f"CPU (WHISPER_DEVICE=cpu; {settings.compute_type or 'int8'}, {threads} threads)")
    if cuda_available():
        return Finding("ok", f"GPU (WHISPER_DEVICE=cuda; {settings.compute_type or 'float16'})")
    return Finding(
        "warn",
        "WHISPER_DEVICE=cuda, but CTranslate2 sees no CUDA GPU: transcription falls back to the CPU (many times "
        "slower)",
        "Install the NVIDIA driver (nvidia-smi must list the GPU; in a container: --gpus all), or set "
        "WHISPER_DEVICE=cpu to mean it.",
    )


# --- audio decoding ----------------------------------------------------------------------------------------------
def check_ffmpeg(ctx: DoctorContext) -> Finding:
    """Decode a generated WAV file through the engine's own decoder (PyAV's bundled FFmpeg)."""
    import av

    from stt_studio.engine.audio import decode_audio

    with tempfile.TemporaryDirectory(prefix="stt-doctor-") as tmp:
        path = Path(tmp) / "tone.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x00\x10" * 8000)
        try:
            decoded = decode_audio(path)
        except Exception as exc:  # any decoder failure is the finding
            return Finding("fail", f"PyAV {av.__version__} could not decode a WAV file: {exc}",
                           "Reinstall PyAV: pip install --force-reinstall av")  # fmt: skip
    ffmpeg = getattr(av, "ffmpeg_version_info", "?")
    return Finding("ok", f"PyAV {av.__version__}, its own FFmpeg {ffmpeg}: decoded {decoded.duration:.1f} s of audio")
