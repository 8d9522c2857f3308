"""Put speakers on words and segments, whatever produced the word times (wav2vec2 alignment or Whisper)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from stt_studio.engine.diarization.attribution import Turn, settle_speakers
from stt_studio.engine.result import Segment, SpeakerSummary


def assign_speakers(
    segments: list[Segment], turns: Sequence[Turn], exclusive: Sequence[Turn] | None = None, *, settle: bool = True
) -> tuple[list[Segment], list[SpeakerSummary]]:
    """Label each word with the speaker who talks most during it in the exclusive diarization (``turns`` when
    there is none; the nearest speaker when it falls in a gap, so no word is left out), settle speakers at turn
    boundaries (attribution.settle_speakers; ``settle`` False leaves the word-by-word labels, for
    benchmarks.accuracy to compare), split segments where the speaker changes, and sum speaking time per speaker."""
    import pandas as pd
    from whisperx.diarize import assign_word_speakers

    if not turns or not segments:
        return segments, []
    exclusive = exclusive or turns
    table = pd.DataFrame(exclusive, columns=["start", "end", "speaker"])
    labelled = assign_word_speakers(table, {"segments": [s.model_dump() for s in segments]}, fill_nearest=True)
    settled = [Segment.model_validate(raw) for raw in labelled["segments"]]
    if settle:
        settled = _settled(settled, exclusive, turns)
    out: list[Segment] = []
    for segment in settled:
        out.extend(_split_at_speaker_changes(segment, start_id=len(out)))
    return out, _summaries(turns)


def _settled(segments: list[Segment], exclusive: Sequence[Turn], turns: Sequence[Turn]) -> list[Segment]:
    words = settle_speakers([w for s in segments for w in s.words], exclusive, turns)
    out, taken = [], 0
    for segment in segments:
        mine = words[taken : taken + len(segment.words)]
        taken += len(segment.words)
        out.append(segment.model_copy(update={"words": mine}) if mine else segment)
    return out


def _split_at_speaker_changes(segment: Segment, start_id: int) -> list[Segment]:
    groups: list[list[int]] = []
    for i, word in enumerate(segment.words):
        if groups and segment.words[groups[-1][-1]].speaker == word.speaker:
            groups[-1].append(i)
        else:
            groups.append([i])
    if len(groups) <= 1:
        speaker = segment.words[0].speaker if segment.words else segment.speaker
        return [segment.model_copy(update={"id": start_id, "speaker": speaker})]
    separator = " " if " " in segment.text else ""  # languages written without spaces
    pieces = []
    for offset, group in enumerate(groups):
        words = [segment.words[i] for i in group]
        pieces.append(
            Segment(
                id=start_id + offset,
                start=words[0].start,
                end=max(w.end for w in words),
                text=separator.join(w.word for w in words),
                words=words,
                speaker=words[0].speaker,
            )
        )
    return pieces


def _summaries(turns: Sequence[Turn]) -> list[SpeakerSummary]:
    totals: dict[str, float] = defaultdict(float)
    for start, end, speaker in turns:
        totals[speaker] += end - start
    return [SpeakerSummary(speaker=s, speaking_time=round(t, 3)) for s, t in sorted(totals.items())]
