"""Clips of pyannote.audio's real two-speaker sample, cut with sox at its reference RTTM's clean turns (one voice at
a time): what the voices-from-clips tests enroll and reference."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

SAMPLE_DIR = Path(__import__("pyannote.audio").audio.__file__).parent / "sample"
SAMPLE = SAMPLE_DIR / "sample.wav"

# clean turns of the reference RTTM (docs/voices.md, the calibration's turn table)
SPEAKER91_LONG = (21.78, 27.85)  # 6.1 s
SPEAKER91_SHORT = (14.70, 17.92)  # 3.2 s
SPEAKER90_TURNS = ((11.03, 14.49), (18.59, 21.49))  # 3.5 s + 2.9 s
SPEAKER90_SHORT = (28.50, 30.00)  # 1.5 s
BOTH = (8.3, 18.0)  # speaker90 and speaker91 taking turns, 9.7 s
BOTH_LONGER = (8.3, 21.49)  # the same and speaker90's next turn: over 5 s of speaker90


def cut(target: Path, *pieces: tuple[float, float]) -> Path:
    """``pieces`` of the sample joined into ``target`` (any format sox writes, by its suffix)."""
    parts = [target.with_name(f"{target.stem}.part{k}.wav") for k in range(len(pieces))]
    for part, (start, end) in zip(parts, pieces, strict=True):
        subprocess.run(["sox", str(SAMPLE), str(part), "trim", str(start), f"={end}"], check=True)
    subprocess.run(["sox", *map(str, parts), str(target)], check=True)
    for part in parts:
        part.unlink()
    return target


def silence(target: Path, seconds: float) -> Path:
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(target), "trim", "0", str(seconds)], check=True)
    return target


def data_url(path: Path, mime: str = "audio/wav") -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
