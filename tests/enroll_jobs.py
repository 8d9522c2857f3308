"""A finished, diarized job's folder as the worker leaves it (transcript with speaker turns, kept voice prints, kept
audio or the desktop's own file), made without running a model: what enrolling a voice reads. The audio is a tone
whose pitch says which second it is, so a clip's content can be traced back to the turns it was cut from."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import redis

from stt_studio.engine.audio import SAMPLE_RATE
from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn, TranscriptionResult
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.kept_audio import keep_decoded_audio
from stt_studio.jobs.store import JobStore
from stt_studio.voices.prints import VOICE_PRINTS_KEY, JobVoicePrints, SpeakerPrint

Turn = tuple[float, float, str]

TURNS: list[Turn] = [
    (0.0, 12.0, "SPEAKER_00"),  # Diane: 12 s alone
    (11.0, 14.0, "SPEAKER_01"),  # Bob over her last second
    (14.0, 20.0, "SPEAKER_00"),  # 6 s
    (20.0, 21.0, "SPEAKER_01"),  # 1 s: too short to count
    (21.0, 27.0, "SPEAKER_02"),  # Carol: 6 s, only just enough
    (27.0, 29.5, "SPEAKER_01"),  # Bob: 2 s + 2.5 s alone in all, too little
]
VECTORS = {"SPEAKER_00": (1.0, 0.0, 0.0), "SPEAKER_01": (0.0, 1.0, 0.0), "SPEAKER_02": (0.0, 0.0, 1.0)}


def files_only_store(data_dir: Path) -> JobStore:
    """A store over ``data_dir`` whose Redis is never contacted: a finished job's files are all enrolling reads."""
    return JobStore(redis.Redis(unix_socket_path=str(data_dir / "no-redis.sock")), data_dir)


def tone_wav(path: Path, seconds: float = 30.0) -> Path:
    """A tone whose frequency is 200 Hz plus 20 Hz per second since the start."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    frequency = 200.0 + 20.0 * np.floor(t)
    phase = 2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE
    pcm = (0.3 * np.sin(phase) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path


def diarized_result(turns: list[Turn], *, names: dict[str, str] | None = None) -> TranscriptionResult:
    segments = [
        Segment(id=i, start=start, end=end, text=f"Turn {i}.", speaker=label)
        for i, (start, end, label) in enumerate(turns)
    ]
    labels = sorted({label for _, _, label in turns})
    return TranscriptionResult(
        text=" ".join(s.text for s in segments),
        language="en",
        duration=max(end for _, end, _ in turns),
        segments=segments,
        processing_time=1.0,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=[
            SpeakerSummary(speaker=label, speaking_time=sum(e - s for s, e, who in turns if who == label))
            for label in labels
        ],
        speaker_turns=[SpeakerTurn(start=s, end=e, speaker=label) for s, e, label in turns],
        speaker_names=names or {},
    )


def finished_job(
    store: JobStore,
    audio: Path,
    model: str,
    *,
    turns: list[Turn] = TURNS,
    diarized: bool = True,
    keep_audio: bool = True,
    names: dict[str, str] | None = None,
) -> str:
    """A completed job over ``audio`` in ``store``'s data folder; its id. ``keep_audio``: an upload's kept FLAC,
    else a desktop job's own file (its source path). ``model``: the fingerprint its voice prints carry."""
    job_id, job_dir = store.new_job_dir()
    result = diarized_result(turns, names=names)
    if not diarized:
        result = result.model_copy(update={"speakers": None, "speaker_turns": None})
    store.save_result(job_id, result, None)
    checkpoints = JobCheckpoints.of_job(job_dir)
    if diarized:
        prints = JobVoicePrints(model, tuple(SpeakerPrint(label, vector, 10.0) for label, vector in VECTORS.items()))
        checkpoints.save(VOICE_PRINTS_KEY, model, prints.to_json())
    if keep_audio:
        keep_decoded_audio(audio, checkpoints, 3600.0)
    else:
        store._write_record(job_id, source_path=str(audio))
    return job_id
