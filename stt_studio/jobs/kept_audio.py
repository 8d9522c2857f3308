"""What a finished upload keeps of its audio so that its speakers can be found again: the decoded 16 kHz mono
samples as FLAC (int16) in the job's checkpoints folder, and the hash of the uploaded file they came from.

Why the decoded audio and not the upload: the diarizer reads only 16 kHz mono, and FLAC of it is bounded by the
audio's length (about 40 MB an hour: 327 KB for pyannote's 30 s sample), whatever the upload was (an hour of
48 kHz stereo WAV is 660 MB).
The hash keeps the run's fingerprints those of the first run, so its transcription checkpoints are read back
(``Engine.transcribe(audio_sha256=...)``). Desktop jobs keep nothing here: their source file stays where it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from stt_studio.atomic_files import write_text_atomically
from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
from stt_studio.engine.stages import StageName, file_sha256
from stt_studio.jobs.checkpoints import JobCheckpoints

AUDIO_FILE = f"{StageName.DECODING.value}.flac"
SOURCE_FILE = f"{StageName.DECODING.value}.json"
"""Written after the FLAC: its presence says the FLAC is whole."""


@dataclass(frozen=True)
class KeptAudio:
    path: Path
    audio_sha256: str


def keep_decoded_audio(upload: Path, checkpoints: JobCheckpoints, max_seconds: float) -> KeptAudio:
    """Decode ``upload`` and keep it as 16 kHz mono FLAC beside the job's checkpoints, with its file's hash."""
    samples = decode_audio(upload, max_seconds).samples
    checkpoints.folder.mkdir(parents=True, exist_ok=True)
    target = checkpoints.folder / AUDIO_FILE
    write_mono_flac(samples, target)
    sha = file_sha256(upload)
    write_text_atomically(checkpoints.folder / SOURCE_FILE, json.dumps({"audio_sha256": sha}))
    return KeptAudio(target, sha)


def write_mono_flac(samples: npt.NDArray[np.float32], target: Path) -> None:
    """``samples`` (16 kHz mono, -1..1) as int16 FLAC at ``target``, written whole or not at all."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    partial = target.with_suffix(".flac.part")
    with av.open(str(partial), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = 0  # else the muxer warns of the flushed packets' timestamps
        frame.time_base = Fraction(1, SAMPLE_RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    partial.replace(target)


def kept_audio(checkpoints: JobCheckpoints) -> KeptAudio | None:
    """The audio kept by ``keep_decoded_audio``, or None (nothing kept, or only part of it)."""
    try:
        sha = json.loads((checkpoints.folder / SOURCE_FILE).read_text(encoding="utf-8"))["audio_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    path = checkpoints.folder / AUDIO_FILE
    return KeptAudio(path, str(sha)) if path.is_file() else None
