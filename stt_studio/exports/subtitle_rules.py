"""Subtitle cues that follow a broadcast guideline's rules (see ``ExportOptions`` and docs/exports.md).

Used for srt/vtt as soon as one rule beyond the width and the line count is on; ``subtitles`` lays out the rest.

Words are taken in order and added to the cue being built while it still obeys every rule; the first word that
would break one starts the next cue. A cue ends before:
- without ``max_line_count``, a new segment (as without rules: one segment, one cue at most);
- a change of speaker; with ``speaker_dash`` two speakers share a cue when each one's words fit on one line, each
  line opened by "- " (the second speaker then holds the cue's last line);
- a pause longer than ``max_silence_seconds``;
- with ``split_sentences``, a new sentence (after a word ending in . ! ? …);
- a word that would make it span more than ``max_cue_seconds`` or need more than ``max_line_count`` lines.

Lines are wrapped at ``max_line_width``. The speaker label counts, and when it leaves no room for the first word it
gets lines of its own, wrapped at its spaces. Words are never split (as in ``subtitles``): a word longer than the
width, or such a word of a name, gets a line of its own over the width; and a cue of one word keeps its label's lines
whatever the line count. With ``balance_lines`` lines are wrapped at the narrowest width that needs no more lines, so
they come out about equal (preferring, within a few characters, lines that end at punctuation: the guideline
breaks there first).

Then the times: a cue starts at its first word and ends at its last, then is lengthened, as far as the next cue and
``max_silence_seconds`` of silence allow and never beyond ``max_cue_seconds``, until it is shown at least
``min_cue_seconds`` and long enough to be read at ``max_chars_per_second``. Cues never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

from stt_studio.engine.result import TranscriptionResult
from stt_studio.exports.options import ExportOptions
from stt_studio.subtitles import LANGUAGES_WITHOUT_SPACES, Cue, milliseconds, segment_words

SPEAKER_DASH = "- "
_SENTENCE_ENDS = (".", "!", "?", "…", "。", "\uff01", "\uff1f")  # the last two: fullwidth ! and ?
_CLOSERS = "\"'”’»)]"
_BREAK_AFTER = (",", ";", ":", *_SENTENCE_ENDS)
PUNCTUATION_SLACK = 6
"""How many characters longer a balanced line may get to end at punctuation rather than mid-phrase."""


@dataclass(frozen=True)
class _Word:
    text: str
    start: float
    end: float
    speaker: str | None
    label: str
    segment: int

    @property
    def ends_sentence(self) -> bool:
        return self.text.rstrip(_CLOSERS).endswith(_SENTENCE_ENDS)


@dataclass
class _Part:
    """One speaker's words in a cue."""

    speaker: str | None
    label: str
    words: list[_Word]


def ruled_cues(result: TranscriptionResult, options: ExportOptions) -> list[Cue]:
    """The cues of ``result`` under ``options``' rules, in order and never overlapping."""
    layout = _Layout(options, "" if result.language in LANGUAGES_WITHOUT_SPACES else " ")
    groups: list[list[_Part]] = []
    for word in _words(result, options, layout.joiner):
        current = groups[-1] if groups else None
        if current is None or not layout.extend(current, word):
            groups.append([_Part(word.speaker, word.label, [word])])
    spoken = [
        Cue(parts[0].words[0].start, max(w.end for p in parts for w in p.words), layout.lines(parts) or ())
        for parts in groups
    ]
    return _timed(spoken, options)


def _words(result: TranscriptionResult, options: ExportOptions, joiner: str) -> list[_Word]:
    words = []
    for index, segment in enumerate(result.segments):
        speaker = segment.speaker if options.include_speakers else None
        label = f"[{result.speaker_name(speaker)}]: " if speaker else ""
        words += [_Word(w.text, w.start, w.end, speaker, label, index) for w in segment_words(segment, joiner)]
    return words


class _Layout:
    def __init__(self, options: ExportOptions, joiner: str) -> None:
        self.options = options
        self.joiner = joiner

    def extend(self, parts: list[_Part], word: _Word) -> bool:
        """Add ``word`` to the cue ``parts`` if the cue still keeps every rule with it; say whether it was added."""
        options = self.options
        last = parts[-1].words[-1]
        if options.max_line_count is None and word.segment != last.segment:
            return False
        if options.max_silence_seconds is not None and word.start - last.end > options.max_silence_seconds:
            return False
        if options.max_cue_seconds is not None and word.end - parts[0].words[0].start > options.max_cue_seconds:
            return False
        same_speaker = word.speaker == parts[-1].speaker
        if same_speaker and options.split_sentences and last.ends_sentence:
            return False
        if same_speaker:
            trial = [*parts[:-1], _Part(parts[-1].speaker, parts[-1].label, [*parts[-1].words, word])]
        elif options.speaker_dash and len(parts) == 1:
            trial = [*parts, _Part(word.speaker, word.label, [word])]
        else:
            return False
        if self.lines(trial) is None:
            return False
        parts[:] = trial
        return True

    def lines(self, parts: list[_Part]) -> tuple[str, ...] | None:
        """The cue's lines, or None when they break the width or the line count."""
        if len(parts) == 2:
            lines = tuple(SPEAKER_DASH + self._text(part) for part in parts)
            return lines if all(self._fits(line) for line in lines) else None
        part = parts[0]
        width = self.options.max_line_width
        if width is None:
            return (self._text(part),)
        label_lines, tokens = self._label_apart(part, width)
        wrapped = _wrap(tokens, width, self.joiner)
        count = self.options.max_line_count
        if count is not None and len(label_lines) + len(wrapped) > count and len(part.words) > 1:
            return None  # one word is laid out whatever its label takes: a cue is never empty
        if self.options.balance_lines:
            wrapped = _balanced(tokens, width, len(wrapped), self.joiner)
        return (*label_lines, *wrapped)

    def _label_apart(self, part: _Part, width: int) -> tuple[list[str], list[str]]:
        """The lines the speaker label takes on its own, and the tokens to wrap after them: the label opens the
        first word's line when both fit in ``width``, else it gets lines of its own, wrapped at its spaces."""
        tokens = self._tokens(part)
        if not part.label or len(tokens[0]) <= width:
            return [], tokens
        return _wrap(part.label.split(), width, " "), [w.text for w in part.words]

    def _tokens(self, part: _Part) -> list[str]:
        texts = [w.text for w in part.words]
        return [part.label + texts[0], *texts[1:]]

    def _text(self, part: _Part) -> str:
        return self.joiner.join(self._tokens(part))

    def _fits(self, line: str) -> bool:
        return self.options.max_line_width is None or len(line) <= self.options.max_line_width


def _wrap(tokens: list[str], width: int, joiner: str) -> list[str]:
    """Greedy: each line takes words while it stays within ``width``; a longer word gets a line of its own."""
    lines = [tokens[0]]
    for token in tokens[1:]:
        joined = lines[-1] + joiner + token
        if len(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(token)
    return lines


def _balanced(tokens: list[str], width: int, count: int, joiner: str) -> list[str]:
    """Lines of about equal length: two lines split where the longer is shortest, or where it ends a line at
    punctuation (the guideline's first place to break) for at most ``PUNCTUATION_SLACK`` more characters; more
    lines wrapped at the narrowest width that still needs only ``count`` of them."""
    if count == 2 and len(tokens) > 1:
        splits = [[joiner.join(tokens[:i]), joiner.join(tokens[i:])] for i in range(1, len(tokens))]
        splits = [lines for lines in splits if max(len(line) for line in lines) <= width] or splits
        best = min(splits, key=lambda lines: max(len(line) for line in lines))
        longest = max(len(line) for line in best)
        at_punctuation = [
            lines
            for lines in splits
            if lines[0].endswith(_BREAK_AFTER) and max(len(line) for line in lines) <= longest + PUNCTUATION_SLACK
        ]
        return min(at_punctuation, key=lambda lines: max(len(line) for line in lines)) if at_punctuation else best
    for trial in range(max(len(token) for token in tokens), width + 1):
        lines = _wrap(tokens, trial, joiner)
        if len(lines) <= count:
            return lines
    return _wrap(tokens, width, joiner)


def _timed(cues: list[Cue], options: ExportOptions) -> list[Cue]:
    """Cues lengthened for the minimum duration and the reading speed within what the rules and the next cue
    allow, in whole milliseconds, each shown for a positive time and none overlapping the next."""
    out: list[Cue] = []
    not_before = 0
    for i, cue in enumerate(cues):
        start = max(milliseconds(cue.start), not_before)
        spoken_end = max(milliseconds(cue.end), start + 1)
        wanted = spoken_end
        if options.min_cue_seconds is not None:
            wanted = max(wanted, start + milliseconds(options.min_cue_seconds))
        if options.max_chars_per_second is not None:
            characters = sum(len(line) for line in cue.lines)
            wanted = max(wanted, start + milliseconds(characters / options.max_chars_per_second))
        if options.max_cue_seconds is not None:
            wanted = min(wanted, max(spoken_end, start + milliseconds(options.max_cue_seconds)))
        if options.max_silence_seconds is not None:
            wanted = min(wanted, spoken_end + milliseconds(options.max_silence_seconds))
        if i + 1 < len(cues):
            wanted = min(wanted, max(spoken_end, milliseconds(cues[i + 1].start)))
        out.append(Cue(start / 1000, wanted / 1000, cue.lines))
        not_before = wanted
    return out
