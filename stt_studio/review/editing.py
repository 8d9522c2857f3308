"""The edits of a transcript in review, as pure functions: each returns a new ``TranscriptionResult`` and leaves
its input as it was.

Unchanged segments, and the word lists of segments that only got a new id, are shared with the input rather than
copied, so keeping a result before and after every edit (the desktop's undo history) costs little.

Timings of changed text (``edit_segment_text``): the segment's words are lined up with the new text's tokens
(difflib over whole tokens). Tokens equal to a word keep that word as it is: timing, score, speaker, checked mark.
Tokens that replace words share the replaced words' span evenly. Tokens inserted where no word was replaced take
``INSERTED_WORD_SECONDS`` each of the silence between their neighbours (less if the silence is shorter; none, a
zero-length word at the boundary, when the neighbours touch). Changed and inserted words are ``edited`` and have
no score. Deleted words are gone. The segment keeps its start and end unless its first or last word was deleted.

A segment's speaker is changed here (``set_segment_speaker``); renaming, merging and adding speakers is
``stt_studio.engine.speakers``'s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from stt_studio.engine.result import (
    Segment,
    SpeakerSummary,
    SpeakerTurn,
    TranscriptionResult,
    Word,
    with_identities,
)

SPACELESS_LANGUAGES = frozenset({"ja", "zh"})
"""Written without spaces (as WhisperX's writers have it): text is tokenized and joined by character."""
INSERTED_WORD_SECONDS = 0.25
TIME_DECIMALS = 3  # the engine's word times are milliseconds


class EditError(ValueError):
    """The edit does not apply to this transcript (no such segment, nowhere to split, nothing to merge with)."""


# --- text ----------------------------------------------------------------------------------------------------------
def tokenize(text: str, language: str) -> list[str]:
    """The words of ``text``: split at whitespace, or into characters for a language written without spaces."""
    if language in SPACELESS_LANGUAGES:
        return [char for char in text if not char.isspace()]
    return text.split()


def join_words(words: Sequence[str], language: str) -> str:
    return ("" if language in SPACELESS_LANGUAGES else " ").join(words)


def transcript_text(segments: Sequence[Segment]) -> str:
    """The result's ``text``, as the engine builds it."""
    return " ".join(segment.text for segment in segments)


# --- editing text --------------------------------------------------------------------------------------------------
def edit_segment_text(result: TranscriptionResult, index: int, new_text: str) -> TranscriptionResult:
    """Segment ``index`` with ``new_text``; an empty text deletes the segment, the same text changes nothing (the
    input is returned)."""
    segment = _segment(result, index)
    tokens = tokenize(new_text, result.language)
    if not tokens:
        return delete_segment(result, index)
    text = join_words(tokens, result.language)
    if text == segment.text:
        return result
    if not segment.words:  # no word times to keep: the text is all there is
        return _replace(result, index, index + 1, [segment.model_copy(update={"text": text})])
    words = retime(segment, tokens)
    start = segment.start if words[0].start <= segment.words[0].start else words[0].start
    end = segment.end if words[-1].end >= segment.words[-1].end else words[-1].end
    edited = segment.model_copy(update={"text": text, "words": words, "start": start, "end": end})
    return _replace(result, index, index + 1, [edited])


def retime(segment: Segment, tokens: Sequence[str]) -> list[Word]:
    """``segment``'s words for the text ``tokens``: see the module's docstring."""
    old = segment.words
    matcher = SequenceMatcher(a=[word.word for word in old], b=list(tokens), autojunk=False)
    words: list[Word] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            words.extend(old[i1:i2])
        elif tag == "replace":
            words.extend(_spread(tokens[j1:j2], old[i1].start, old[i2 - 1].end, segment.speaker))
        elif tag == "insert":
            left = old[i1 - 1].end if i1 > 0 else segment.start
            right = old[i1].start if i1 < len(old) else segment.end
            room = min(max(0.0, right - left), INSERTED_WORD_SECONDS * (j2 - j1))
            if i1 == 0 and i1 < len(old):  # before the first word: right up to it
                words.extend(_spread(tokens[j1:j2], right - room, right, segment.speaker))
            else:  # after a word: right after it
                words.extend(_spread(tokens[j1:j2], left, left + room, segment.speaker))
        # "delete": the words are gone
    return words


def _spread(tokens: Sequence[str], start: float, end: float, speaker: str | None) -> list[Word]:
    step = (end - start) / len(tokens)
    return [
        Word(
            word=token,
            start=round(start + i * step, TIME_DECIMALS),
            end=round(end if i == len(tokens) - 1 else start + (i + 1) * step, TIME_DECIMALS),
            score=None,
            speaker=speaker,
            edited=True,
        )
        for i, token in enumerate(tokens)
    ]


def find_replace(
    result: TranscriptionResult, needle: str, replacement: str, *, match_case: bool = False
) -> tuple[TranscriptionResult, int]:
    """Every occurrence of ``needle`` in the segments' text replaced (case-insensitive unless ``match_case``), each
    changed segment edited as by ``edit_segment_text``. Returns the new result and the number of replacements."""
    if not needle:
        return result, 0
    pattern = re.compile(re.escape(needle), 0 if match_case else re.IGNORECASE)
    count = 0
    for index in range(len(result.segments) - 1, -1, -1):  # from the end: a segment deleted keeps earlier indexes
        text, replaced = pattern.subn(lambda _match: replacement, result.segments[index].text)
        if replaced:
            count += replaced
            result = edit_segment_text(result, index, text)
    return result, count


# --- segments ------------------------------------------------------------------------------------------------------
def split_segment(result: TranscriptionResult, index: int, word_index: int) -> TranscriptionResult:
    """Segment ``index`` as two: its words before ``word_index``, then the rest. Every word keeps its timing."""
    segment = _segment(result, index)
    words = segment.words
    if not 0 < word_index < len(words):
        raise EditError(f"A segment of {len(words)} words can't be split before word {word_index}")
    first, second = words[:word_index], words[word_index:]
    language = result.language
    head = segment.model_copy(
        update={"end": max(w.end for w in first), "text": join_words([w.word for w in first], language), "words": first}
    )
    tail = segment.model_copy(
        update={"start": second[0].start, "text": join_words([w.word for w in second], language), "words": second}
    )
    return _replace(result, index, index + 1, [head, tail])


def merge_with_next(result: TranscriptionResult, index: int) -> TranscriptionResult:
    """Segment ``index`` and the one after it as one, the first one's speaker for all of it."""
    first = _segment(result, index)
    if index + 1 >= len(result.segments):
        raise EditError("The last segment has no next segment to merge with")
    second = result.segments[index + 1]
    words = [*first.words, *_with_speaker(second.words, first.speaker)]
    text = join_words([t for t in (first.text.strip(), second.text.strip()) if t], result.language)
    merged = first.model_copy(
        update={
            "start": min(first.start, second.start),
            "end": max(first.end, second.end),
            "text": text,
            "words": words,
        }
    )
    return _replace(result, index, index + 2, [merged])


def delete_segment(result: TranscriptionResult, index: int) -> TranscriptionResult:
    _segment(result, index)
    return _replace(result, index, index + 1, [])


def set_segment_speaker(result: TranscriptionResult, index: int, speaker: str) -> TranscriptionResult:
    """Segment ``index`` and its words said by ``speaker``. When the result has the diarization's turns, they
    follow: the segment's span becomes one turn of ``speaker`` (turns reaching into it are cut at its edges).
    Speaking times are summed again."""
    segment = _segment(result, index)
    if segment.speaker == speaker and all(word.speaker == speaker for word in segment.words):
        return result
    changed = segment.model_copy(update={"speaker": speaker, "words": _with_speaker(segment.words, speaker)})
    updated = _replace(result, index, index + 1, [changed])
    turns = None
    if result.speaker_turns is not None:
        turns = _relabel_span(result.speaker_turns, segment.start, segment.end, speaker)
    updated = updated.model_copy(update={"speaker_turns": turns})
    return updated.model_copy(update={"speakers": _speaking_times(updated)})


def _relabel_span(turns: Sequence[SpeakerTurn], start: float, end: float, speaker: str) -> list[SpeakerTurn]:
    out: list[SpeakerTurn] = []
    for turn in turns:
        if turn.end <= start or turn.start >= end:
            out.append(turn)
            continue
        if turn.start < start:
            out.append(turn.model_copy(update={"end": start}))
        if turn.end > end:
            out.append(turn.model_copy(update={"start": end}))
    out.append(SpeakerTurn(start=start, end=end, speaker=speaker))
    return sorted(out, key=lambda turn: (turn.start, turn.end))


def _speaking_times(result: TranscriptionResult) -> list[SpeakerSummary]:
    """Seconds per speaker as the engine counts them: the sum of the turns (without turns, of the segments); a
    speaker known before who no longer speaks keeps a 0 s entry. (As stt_studio.engine.speakers counts them.)"""
    totals: dict[str, float] = {summary.speaker: 0.0 for summary in result.speakers or ()}
    if result.speaker_turns is not None:
        spans = [(turn.speaker, turn.start, turn.end) for turn in result.speaker_turns]
    else:
        spans = [(s.speaker, s.start, s.end) for s in result.segments if s.speaker is not None]
    for speaker, start, end in spans:
        totals[speaker] = totals.get(speaker, 0.0) + end - start
    summaries = [SpeakerSummary(speaker=s, speaking_time=round(t, TIME_DECIMALS)) for s, t in sorted(totals.items())]
    return with_identities(summaries, result.speakers)


# --- words ---------------------------------------------------------------------------------------------------------
def set_word_checked(
    result: TranscriptionResult, index: int, word_index: int, checked: bool = True
) -> TranscriptionResult:
    """Mark word ``word_index`` of segment ``index`` as confirmed in the low-confidence pass (or not)."""
    segment = _segment(result, index)
    if not 0 <= word_index < len(segment.words):
        raise EditError(f"Segment {index} has no word {word_index}")
    word = segment.words[word_index]
    if word.checked == checked:
        return result
    words = list(segment.words)
    words[word_index] = word.model_copy(update={"checked": checked})
    return _replace(result, index, index + 1, [segment.model_copy(update={"words": words})])


# --- plumbing ------------------------------------------------------------------------------------------------------
def _segment(result: TranscriptionResult, index: int) -> Segment:
    if not 0 <= index < len(result.segments):
        raise EditError(f"There is no segment {index} (the transcript has {len(result.segments)})")
    return result.segments[index]


def _with_speaker(words: list[Word], speaker: str | None) -> list[Word]:
    if all(word.speaker == speaker for word in words):
        return words
    return [word if word.speaker == speaker else word.model_copy(update={"speaker": speaker}) for word in words]


def _replace(result: TranscriptionResult, lo: int, hi: int, new: Sequence[Segment]) -> TranscriptionResult:
    """``result`` with its segments ``lo:hi`` replaced by ``new``; ids renumbered, ``text`` rebuilt. Segments whose
    id did not change are the same objects as before, those that did are shallow copies (their words shared)."""
    segments = [*result.segments[:lo], *new, *result.segments[hi:]]
    for position in range(lo, len(segments)):
        if segments[position].id != position:
            segments[position] = segments[position].model_copy(update={"id": position})
    return result.model_copy(update={"segments": segments, "text": transcript_text(segments)})
