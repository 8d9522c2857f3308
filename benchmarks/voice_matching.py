"""What identifying speakers costs at the end of diarization: 10 speakers against a library of 50 voices of 5
samples each (192-number vectors, CAM++'s size), the library read from its files each time as a job does.

    .venv/bin/python -m benchmarks.voice_matching
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from stt_studio.engine.result import SpeakerSummary
from stt_studio.engine.speaker_identity import identify_speakers
from stt_studio.voices.library import NewSample, VoiceLibrary
from stt_studio.voices.prints import JobVoicePrints, SpeakerPrint

VOICES, SAMPLES, SPEAKERS, SIZE, RUNS = 50, 5, 10, 192, 20


def main() -> None:
    rng = np.random.default_rng(0)

    def vector() -> tuple[float, ...]:
        return tuple(float(x) for x in rng.normal(size=SIZE))

    with tempfile.TemporaryDirectory() as folder:
        library = VoiceLibrary(Path(folder) / "voices")
        clip = Path(folder) / "clip.wav"
        clip.write_bytes(b"\0" * 1000)
        for v in range(VOICES):
            voice = library.add_voice(f"Voice {v}", NewSample(vector(), "m", clip, 10.0, "benchmark", "synthetic"))
            for _ in range(SAMPLES - 1):
                library.add_sample(voice.id, NewSample(vector(), "m", clip, 10.0, "benchmark", "synthetic"))
        labels = [f"SPEAKER_{i:02d}" for i in range(SPEAKERS)]
        prints = JobVoicePrints("m", tuple(SpeakerPrint(label, vector(), 30.0) for label in labels))
        speakers = [SpeakerSummary(speaker=label, speaking_time=30.0) for label in labels]
        identify_speakers(speakers, prints, library)  # imports scipy once, as the worker's first job does
        seconds = []
        for _ in range(RUNS):
            began = time.perf_counter()
            identify_speakers(speakers, prints, library)
            seconds.append(time.perf_counter() - began)
    median, worst = statistics.median(seconds) * 1000, max(seconds) * 1000
    print(f"{SPEAKERS} speakers vs {VOICES} voices x {SAMPLES} samples: median {median:.1f} ms, max {worst:.1f} ms")


if __name__ == "__main__":
    main()
