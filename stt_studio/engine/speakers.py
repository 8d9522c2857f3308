"""Speaker edits made in review: rename, merge, add, assign.

Pure functions: each returns a new result and leaves its argument as it was, so an undo step can keep the result
before and after. A new result may share its unchanged parts with the old one: treat both as values.
"""

from __future__ import annotations

import re
from collections import defaultdict

from stt_studio.engine.result import SpeakerSummary, SpeakerTurn, TranscriptionResult, with_identities
from stt_studio.review.editing import set_segment_speaker

_LABEL_NUMBER = re.compile(r"^SPEAKER_(\d+)$")


class UnknownSpeakerError(ValueError):
    pass


def labels(result: TranscriptionResult) -> list[str]:
    """Every speaker label the result uses or names, sorted (SPEAKER_00 first)."""
    found: set[str] = set(result.speaker_names)
    found.update(s.speaker for s in result.speakers or [])
    found.update(t.speaker for t in result.speaker_turns or [])
    for segment in result.segments:
        found.update(label for label in [segment.speaker, *(w.speaker for w in segment.words)] if label)
    return sorted(found)


def speaker_count(result: TranscriptionResult) -> int | None:
    """How many speakers the transcript has now (its review's edits included): the one count the transcript's header,
    the library and the queue show. None for a transcript without speakers (not diarized, none added).

    Unlike ``labels`` it does not look at every word (a word's speaker is its segment's or one of the turns'): it runs
    after every edit, and a 2-hour transcript has some 20,000 words."""
    found: set[str] = set(result.speaker_names)
    found.update(s.speaker for s in result.speakers or ())
    found.update(t.speaker for t in result.speaker_turns or ())
    found.update(segment.speaker for segment in result.segments if segment.speaker)
    return len(found) if found or result.speakers is not None else None


def _require(result: TranscriptionResult, *wanted: str) -> None:
    known = labels(result)
    for label in wanted:
        if label not in known:
            raise UnknownSpeakerError(f"Unknown speaker '{label}'; this transcript has {', '.join(known) or 'none'}")


def rename_speaker(result: TranscriptionResult, label: str, name: str) -> TranscriptionResult:
    """Show ``label`` as ``name`` everywhere (view, timeline, exports); a blank name removes the name again."""
    _require(result, label)
    names = dict(result.speaker_names)
    if name.strip():
        names[label] = name.strip()
    else:
        names.pop(label, None)
    return result.model_copy(update={"speaker_names": names})


def _joined(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """One speaker's turns, overlapping ones joined: one voice does not overlap itself."""
    out: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if out and turn.start <= out[-1].end:
            out[-1] = out[-1].model_copy(update={"end": max(out[-1].end, turn.end)})
        else:
            out.append(turn)
    return out


def _summaries(result: TranscriptionResult) -> list[SpeakerSummary]:
    """Speaking time per speaker as the engine counts it: the sum of its turns (or, without turns, of its
    segments). A speaker known to the result but without any time keeps a 0 s entry."""
    totals: dict[str, float] = defaultdict(float)
    if result.speaker_turns is not None:
        for turn in result.speaker_turns:
            totals[turn.speaker] += turn.end - turn.start
    else:
        for segment in result.segments:
            if segment.speaker:
                totals[segment.speaker] += segment.end - segment.start
    for summary in result.speakers or []:
        totals.setdefault(summary.speaker, 0.0)
    summaries = [SpeakerSummary(speaker=s, speaking_time=round(t, 3)) for s, t in sorted(totals.items())]
    return with_identities(summaries, result.speakers)


def merge_speakers(result: TranscriptionResult, source: str, into: str) -> TranscriptionResult:
    """Everything ``source`` said becomes ``into``'s: segments, words and turns; ``source`` disappears (its name
    too) and the speaking times are counted again."""
    if source == into:
        raise UnknownSpeakerError(f"Cannot merge speaker '{source}' into itself")
    _require(result, source, into)
    segments = []
    for segment in result.segments:  # only what changes is copied (a 2-hour transcript has ~20 000 words)
        if segment.speaker == source or any(w.speaker == source for w in segment.words):
            words = [w.model_copy(update={"speaker": into}) if w.speaker == source else w for w in segment.words]
            speaker = into if segment.speaker == source else segment.speaker
            segment = segment.model_copy(update={"speaker": speaker, "words": words})
        segments.append(segment)
    turns = result.speaker_turns
    if turns is not None:
        relabelled = [t.model_copy(update={"speaker": into}) if t.speaker == source else t for t in turns]
        others = [t for t in relabelled if t.speaker != into]
        joined = _joined([t for t in relabelled if t.speaker == into])
        turns = sorted([*others, *joined], key=lambda t: (t.start, t.end))
    names = {label: name for label, name in result.speaker_names.items() if label != source}
    merged = result.model_copy(update={"segments": segments, "speaker_turns": turns, "speaker_names": names})
    if merged.speakers is not None:
        kept = [s for s in merged.speakers if s.speaker != source]
        merged = merged.model_copy(update={"speakers": kept})
        merged = merged.model_copy(update={"speakers": _summaries(merged)})
    return merged


def add_speaker(result: TranscriptionResult, name: str) -> tuple[TranscriptionResult, str]:
    """A new speaker named ``name`` (label ``SPEAKER_NN``, the next free number) with no speech yet; returns the
    new result and the label."""
    if not name.strip():
        raise ValueError("A new speaker needs a name")
    numbers = [int(m.group(1)) for m in map(_LABEL_NUMBER.match, labels(result)) if m]
    label = f"SPEAKER_{max(numbers, default=-1) + 1:02d}"
    speakers = [*(result.speakers or []), SpeakerSummary(speaker=label, speaking_time=0.0)]
    names = {**result.speaker_names, label: name.strip()}
    return result.model_copy(update={"speakers": speakers, "speaker_names": names}), label


def assign_speaker(result: TranscriptionResult, segment_index: int, label: str) -> TranscriptionResult:
    """Segment ``segment_index`` (a position in ``segments``) and its words said by ``label``, a speaker the result
    knows (e.g. one just added); the diarization's turns follow (``set_segment_speaker``)."""
    _require(result, label)
    return set_segment_speaker(result, segment_index, label)
