"""Make test speech with known text (espeak-ng) and convert or damage it (ffmpeg, sox).

Used by the tests and the benchmarks; no audio is committed to the repository.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jiwer

SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river.",
    "Please call the office tomorrow morning to confirm your appointment.",
    "Our team finished the quarterly report two days ahead of schedule.",
    "The weather today is sunny with a light breeze from the west.",
    "She bought fresh bread, cheese and apples at the market this afternoon.",
    "Remember to save your files before installing the new software.",
    "The train to the city leaves from the main station every hour.",
    "He plays the piano every evening after dinner with his family.",
    "Customers can return any product within a month of purchase.",
    "The museum opens early in the morning and closes in the evening.",
    "Good communication is the key to a successful project.",
    "Turn left at the next corner and the library is on your right.",
]


VOCABULARY_SENTENCES = [
    "The patient was given metoprolol at the Kowalczyk clinic.",
    "Please send the report to Siobhan before Friday.",
]
VOCABULARY = ["metoprolol", "Kowalczyk", "Siobhan"]
"""Words tiny.en misspells in ``VOCABULARY_SENTENCES`` unless a prompt gives them (measured: "made a prala",
"Kalknik", "Shivon" without; all three right with "metoprolol, Kowalczyk, Siobhan.")."""


def vocabulary_found(text: str) -> list[str]:
    return [word for word in VOCABULARY if word.casefold() in text.casefold()]


SHORT_TEXT = " ".join(SENTENCES[:2])
SHORT_CLIP_WER_BOUND = 0.25
"""For the 22-word two-sentence clip, where one word is 4.5 points of WER: checks that real speech was
transcribed through some path (API, CLI, fallback model). Accuracy bounds are checked on the 50 s clip."""


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice; pitch and speed set far apart make speakers that diarization can tell apart."""

    name: str = "en-us"
    pitch: int = 50
    speed: int = 160


def speak(text: str, out: Path, voice: Voice = Voice()) -> Path:
    subprocess.run(
        ["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    return out


def concat_with_pauses(parts: Sequence[Path], out: Path, pause_seconds: float = 0.6) -> Path:
    """Join wav files with silence between them, as 16 kHz mono."""
    args: list[str] = []
    for i, part in enumerate(parts):
        args.append(str(part))
        if i < len(parts) - 1:
            args.append(str(_silence(out.parent, pause_seconds)))
    subprocess.run(["sox", *args, "-r", "16000", "-c", "1", str(out)], check=True, capture_output=True)
    return out


def _silence(directory: Path, seconds: float) -> Path:
    path = directory / f"silence_{seconds:.2f}.wav"
    if not path.exists():
        subprocess.run(
            ["sox", "-n", "-r", "22050", "-c", "1", "-b", "16", str(path), "trim", "0", f"{seconds}"],
            check=True,
            capture_output=True,
        )
    return path


def speech_clip(directory: Path, sentences: Sequence[str], name: str, voice: Voice = Voice()) -> Path:
    """One wav of ``sentences`` spoken with short pauses between them."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = [speak(s, directory / f"{name}_{i}.wav", voice) for i, s in enumerate(sentences)]
    return concat_with_pauses(parts, directory / f"{name}.wav")


SPARSE_PAUSE_SECONDS = 24.0
"""Long enough that no two sentences share a ≤ 30 s chunk: one chunk a sentence."""


def sparse_clip(directory: Path, sentences: Sequence[str], name: str) -> Path:
    """``sentences`` 24 s apart: as many Whisper chunks as sentences (so batches: 4 chunks a batch on the CPU) at
    little decoding cost, the silence between them being cheap."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = [speak(s, directory / f"{name}_{i}.wav") for i, s in enumerate(sentences)]
    return concat_with_pauses(parts, directory / f"{name}.wav", SPARSE_PAUSE_SECONDS)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True, capture_output=True)


def convert(src: Path, out: Path, *codec_args: str) -> Path:
    ffmpeg("-i", str(src), *codec_args, str(out))
    return out


def video_with_audio(src: Path, out: Path) -> Path:
    """A small real video (test pattern) carrying ``src`` as its audio track."""
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-i", str(src),
        "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


def video_without_audio(out: Path, seconds: float = 2.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}", "-c:v", "libx264", str(out))
    return out


_NORMALIZE = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
        jiwer.ReduceToListOfListOfWords(),
    ]
)


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(reference, hypothesis, reference_transform=_NORMALIZE, hypothesis_transform=_NORMALIZE))


# Voices far apart in variant, pitch and speed, chosen by measurement: CAM++ cosine distances between a dozen
# espeak-ng voices, then the whole pipeline on 3-speaker dialogues (same-pitch variants are not separable, and
# some pairs CAM++ separates are still merged by the segmentation model, e.g. en-us+f3 with en-us -p99 -s200).
DIALOGUE_VOICES = [
    Voice("en-us+m7", pitch=30, speed=110),
    Voice("en-us+f3", pitch=50, speed=160),
    Voice("en-gb", pitch=60, speed=240),
]


SHORT_CONVERSATION_VOICES = [Voice("en-us+m7", pitch=30, speed=120), Voice("en-us+f3", pitch=90, speed=170)]
"""A low male voice and a high female one."""
SHORT_CONVERSATION = [
    (0, SENTENCES[10]), (1, "No, what happened?"),
    (0, SENTENCES[1]), (1, "Oh no. For how long?"),
    (0, SENTENCES[2]), (1, "Really?"),
    (0, SENTENCES[3]), (1, "Thanks, see you then."),
]  # fmt: skip
"""About 30 s: he talks, she replies briefly. Her few embeddings made the local backend find one speaker."""


QUICK_EXCHANGE = [
    (0, "So I called the office this morning about the new contract."),
    (1, "And what did they say?"),
    (0, "They said the report is late again, and the client is not happy."),
    (1, "Yeah."),
    (0, "I told them we would send it by Friday."),
    (1, "Okay. I can help with the numbers if you want."),
    (0, "Well, that would be great, thank you."),
    (1, "So let us meet tomorrow at ten in the small room."),
]
"""Turns that open on the words word-level assignment carries to the previous speaker ("So", "And", "I", "Well"),
and a one-word reply between two of the other speaker's sentences."""


@dataclass(frozen=True)
class Dialogue:
    path: Path
    turns: list[tuple[float, float, int]]
    """Reference (start, end, speaker index) of every turn."""
    text: str


def _wav_seconds(path: Path) -> float:
    import wave

    with wave.open(str(path)) as w:
        return float(w.getnframes()) / float(w.getframerate())


def dialogue(
    directory: Path,
    lines: Sequence[tuple[int, str]],
    name: str,
    pause_seconds: float = 0.7,
    voices: Sequence[Voice] = DIALOGUE_VOICES,
) -> Dialogue:
    """Speaker ``i`` says each line with ``voices[i]``; turns are separated by ``pause_seconds``."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = [speak(text, directory / f"{name}_{i}.wav", voices[who]) for i, (who, text) in enumerate(lines)]
    turns = []
    t = 0.0
    for part, (who, _) in zip(parts, lines, strict=True):
        seconds = _wav_seconds(part)
        turns.append((t, t + seconds, who))
        t += seconds + pause_seconds
    path = concat_with_pauses(parts, directory / f"{name}.wav", pause_seconds)
    return Dialogue(path, turns, " ".join(text for _, text in lines))
