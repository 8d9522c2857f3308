"""Identify speakers again on a finished 1-hour job: a synthetic transcript (1 hour, a 4 s segment every 4 s with
its words, 10 speakers taking turns) whose kept voice prints (192 numbers, CAM++'s size) are matched against a
library of 50 voices of 5 samples each. No model runs: the matching's cost follows speakers x voices, not the length
of the recording; reading and saving the transcript follows its length.

Timed, on a real store (embedded Valkey) and a real library folder:
- the desktop's Identify speakers again (``SpeakerDecisions.identified``: the review's transcript given, nothing
  saved: the review keeps it as an undo step);
- the server's ``POST /jobs/{id}/identify`` (``SpeakerDecisions.identify_again``: the stored transcript read,
  identified, saved as a new version).

    .venv/bin/python -m benchmarks.identify_again
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn, TranscriptionResult, Word
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.jobs.speaker_decisions import SpeakerDecisions
from stt_studio.jobs.store import JobStore
from stt_studio.voices.library import NewSample, VoiceLibrary
from stt_studio.voices.prints import VOICE_PRINTS_KEY, JobVoicePrints, SpeakerPrint

HOUR, SEGMENT, WORDS_PER_SEGMENT = 3600.0, 4.0, 10
VOICES, SAMPLES, SPEAKERS, SIZE, RUNS = 50, 5, 10, 192, 10
MODEL = "campplus-192:benchmark"


def hour_transcript() -> TranscriptionResult:
    labels = [f"SPEAKER_{i:02d}" for i in range(SPEAKERS)]
    segments, turns = [], []
    for i in range(int(HOUR / SEGMENT)):
        start, end, label = i * SEGMENT, (i + 1) * SEGMENT, labels[i % SPEAKERS]
        step = SEGMENT / WORDS_PER_SEGMENT
        words = [
            Word(word=f" word{k}", start=start + k * step, end=start + (k + 1) * step, score=0.9, speaker=label)
            for k in range(WORDS_PER_SEGMENT)
        ]
        text = "".join(w.word for w in words).strip()
        segments.append(Segment(id=i, start=start, end=end, text=text, speaker=label, words=words))
        turns.append(SpeakerTurn(start=start, end=end, speaker=label))
    return TranscriptionResult(
        text=" ".join(s.text for s in segments),
        language="en",
        duration=HOUR,
        segments=segments,
        processing_time=600.0,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=[SpeakerSummary(speaker=label, speaking_time=HOUR / SPEAKERS) for label in labels],
        speaker_turns=turns,
    )


def timed(runs: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Median and worst milliseconds of ``runs`` calls (after one untimed call: imports, caches)."""
    fn()
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main() -> None:
    rng = np.random.default_rng(0)

    def vector() -> tuple[float, ...]:
        return tuple(float(x) for x in rng.normal(size=SIZE))

    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        valkey = EmbeddedRedis(data_dir / "redis")
        valkey.ensure_running()
        try:
            store = JobStore(valkey.client(), data_dir)
            library = VoiceLibrary.in_data_dir(data_dir)
            clip = Path(folder) / "clip.flac"
            clip.write_bytes(b"\0" * 1000)
            for v in range(VOICES):
                voice = library.add_voice(
                    f"Voice {v}", NewSample(vector(), MODEL, clip, 10.0, "benchmark", "synthetic")
                )
                for _ in range(SAMPLES - 1):
                    library.add_sample(voice.id, NewSample(vector(), MODEL, clip, 10.0, "benchmark", "synthetic"))
            result = hour_transcript()
            job_id, job_dir = store.new_job_dir()
            store.save_result(job_id, result, None)
            labels = [s.speaker for s in result.speakers or ()]
            prints = JobVoicePrints(MODEL, tuple(SpeakerPrint(label, vector(), HOUR / SPEAKERS) for label in labels))
            JobCheckpoints.of_job(job_dir).save(VOICE_PRINTS_KEY, MODEL, prints.to_json())
            decisions = SpeakerDecisions(store, library)
            size_mb = len(result.model_dump_json()) / 1e6
            words = sum(len(s.words or ()) for s in result.segments)
            print(
                f"1-hour transcript: {len(result.segments)} segments, {words} words ({size_mb:.1f} MB of JSON); "
                f"{SPEAKERS} speakers vs {VOICES} voices x {SAMPLES} samples"
            )
            median, worst = timed(RUNS, lambda: decisions.identified(job_id, result))
            print(f"desktop, Identify speakers again (transcript in hand): median {median:.0f} ms, max {worst:.0f} ms")
            median, worst = timed(RUNS, lambda: decisions.identify_again(job_id))
            print(
                f"server, POST /jobs/{{id}}/identify (read, identify, save): median {median:.0f} ms, max {worst:.0f} ms"
            )
        finally:
            valkey.stop()


if __name__ == "__main__":
    main()
