"""A reviewed transcript given the speakers of a new diarization ("find speakers again" with ``keep_review``).

The review's text, words, segments and checks stay as the reviewer left them; only who said each word changes:
a word goes to the new speaker who talks most during it (the nearest turn's when it falls in a gap), and its
segment to the speaker who says most of the segment's time (segments are the reviewer's, so they are not split).

A name given in review carries over to a new speaker when the two are clearly the same voice: the new speaker
took most (over half) of the named speaker's word time, and the named speaker is the one the new speaker's words
mostly came from. Otherwise the name is dropped rather than put on someone else, and ``dropped_names`` says which.

Pure: data in, data out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from stt_studio.engine.result import Segment, SpeakerTurn, TranscriptionResult, Word

SAME_SPEAKER_SHARE = 0.5
"""The share of a named speaker's word time a new speaker must take to inherit the name."""


@dataclass
class CarriedReview:
    result: TranscriptionResult
    carried_names: dict[str, str] = field(default_factory=dict)
    """New label → the name it inherited."""
    dropped_names: list[str] = field(default_factory=list)
    """Names whose speaker matched no new one clearly."""


def speaker_at(start: float, end: float, turns: Sequence[SpeakerTurn]) -> str | None:
    """The speaker who talks most during [start, end]; in a gap between turns, the nearest turn's."""
    overlap: dict[str, float] = defaultdict(float)
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] += shared
    if overlap:
        return max(sorted(overlap), key=lambda s: overlap[s])
    middle = (start + end) / 2
    nearest = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0), default=None)
    return nearest.speaker if nearest is not None else None


def carry_review(reviewed: TranscriptionResult, rediarized: TranscriptionResult) -> CarriedReview:
    """``reviewed`` with ``rediarized``'s speakers (its turns, speaking times and count note) on its words."""
    turns = rediarized.speaker_turns or []
    shared: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # old label → new label → s
    segments: list[Segment] = []
    for segment in reviewed.segments:
        words: list[Word] = []
        said: dict[str, float] = defaultdict(float)
        for word in segment.words:
            new = speaker_at(word.start, word.end, turns)
            length = max(word.end - word.start, 0.001)
            if new is not None:
                said[new] += length
                if word.speaker is not None:
                    shared[word.speaker][new] += length
            words.append(word.model_copy(update={"speaker": new}))
        speaker = max(sorted(said), key=lambda s: said[s]) if said else speaker_at(segment.start, segment.end, turns)
        if not segment.words and segment.speaker is not None and speaker is not None:
            shared[segment.speaker][speaker] += segment.end - segment.start
        segments.append(segment.model_copy(update={"words": words, "speaker": speaker}))
    carried, dropped = _carried_names(reviewed.speaker_names, shared)
    result = reviewed.model_copy(
        update={
            "segments": segments,
            "speakers": rediarized.speakers,
            "speaker_turns": rediarized.speaker_turns,
            "speaker_count_note": rediarized.speaker_count_note,
            "speaker_names": carried,
        }
    )
    return CarriedReview(result, carried, dropped)


def _carried_names(names: dict[str, str], shared: dict[str, dict[str, float]]) -> tuple[dict[str, str], list[str]]:
    came_from: dict[str, dict[str, float]] = defaultdict(dict)  # new label → old label → s
    for old, news in shared.items():
        for new, seconds in news.items():
            came_from[new][old] = seconds
    carried: dict[str, str] = {}
    dropped: list[str] = []
    for old, name in sorted(names.items()):
        news = shared.get(old, {})
        total = sum(news.values())
        best = max(sorted(news), key=lambda n: news[n], default=None)
        clearly_same = (
            best is not None
            and news[best] > SAME_SPEAKER_SHARE * total
            and max(sorted(came_from[best]), key=lambda o: came_from[best][o]) == old
            and best not in carried
        )
        if clearly_same and best is not None:
            carried[best] = name
        else:
            dropped.append(name)
    return carried, dropped
