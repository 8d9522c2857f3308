"""The streaming policy: which words of a growing audio buffer's transcription are final (local agreement).

The live worker transcribes the whole buffer (the audio since the last trim) again every second or so. A word
becomes final once two consecutive hypotheses agree on it, from the first word not yet final on: Whisper changes
its mind about the last words of a buffer, rarely about words it has heard twice with more audio after them (the
idea of whisper_streaming's LocalAgreement-2, Macháček et al. 2023; the code here is our own).

Endpointing: when the caller's voice detector hears a pause (``StreamingConfig.endpoint_pause_seconds`` of
silence after speech), the hypothesis' words spoken before it become final at once, without waiting for a second
hypothesis to agree: the speaker has finished that stretch, no audio to come changes what was said in it. Without
it, a sentence's last words wait for the next decoding at best; at worst, one word two hypotheses keep disagreeing
on (often the first of a sentence: "God communication", "The location") holds back every word after it, the next
sentence's too, for many decodings (whisper_streaming's voice activity controller also ends its buffer when speech
ends). The buffer is then trimmed at the end of the stretch before the one just ended: that one stays for Whisper
to hear (a sentence decoded alone comes out worse: it has not heard the voice yet), the buffer stays short.

Without pauses the buffer is trimmed after a final sentence end once it is longer than ``trim_seconds`` (or at the
last final word past ``max_buffer_seconds``): the decoding cost stays bounded, and Whisper starts again at a
sentence. What was final before the buffer goes into the next decodings as Whisper's prompt, after the user's
vocabulary.

Pure: no audio, no model. Guarantees (tests/test_live_streaming.py): text once final never changes (the policy only
appends), no word is made final twice (words already final are dropped from a hypothesis by their time and by the
overlap of their text), and final words' times never go backwards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

SENTENCE_END = re.compile(r"[.?!…\u3002\uff1f\uff01]['\")\]]*$")  # and the CJK full stop, question, exclamation
_WORD_CHARS = re.compile(r"[^\w']+")


@dataclass(frozen=True)
class Word:
    start: float
    """Seconds from the start of the recording."""
    end: float
    text: str
    """As Whisper writes it (a leading space marks a new word)."""

    @property
    def key(self) -> str:
        """What two hypotheses must share to agree on a word: its letters, case and punctuation aside."""
        return _WORD_CHARS.sub("", self.text).casefold()

    def shifted(self, seconds: float) -> Word:
        return Word(self.start + seconds, self.end + seconds, self.text)


@dataclass(frozen=True)
class StreamingConfig:
    trim_seconds: float = 15.0
    """Trim the buffer at the end of a final sentence once it is longer than this."""
    max_buffer_seconds: float = 25.0
    """Past this, trim at the last final word even without a sentence end (Whisper decodes ≤ 30 s at once)."""
    overlap_words: int = 5
    """The longest run of words at a hypothesis' start compared with the end of the final text (Whisper repeats
    the last words of the prompt or of the audio before the trim)."""
    time_tolerance: float = 0.1
    """A hypothesis word whose middle lies this much before the last final word's end is taken as already final
    (without looking at its text)."""
    prompt_chars: int = 200
    """How much of the final text (its end) goes into the prompt."""
    endpoint_pause_seconds: float | None = 0.5
    """A silence this long after speech ends a stretch of speech: its words become final, and the buffer is trimmed
    at the end of the stretch before it. None: no endpointing (local agreement and the length trims alone, the
    policy before endpointing)."""


@dataclass(frozen=True)
class Update:
    final: list[Word]
    """Words made final by this hypothesis, in order (possibly none)."""
    provisional: list[Word]
    """The rest of this hypothesis: what the next one may confirm or change."""
    trim_at: float | None = None
    """When set: the caller drops the audio before this time (from the recording's start) from its buffer."""


@dataclass
class LocalAgreement:
    config: StreamingConfig = field(default_factory=StreamingConfig)
    buffer_start: float = 0.0
    """Where the audio buffer the hypotheses are made of begins (seconds from the recording's start)."""
    final_words: list[Word] = field(default_factory=list)
    last_endpoint: float = 0.0
    """Where the last stretch of speech ended by a pause was cut (0: none yet)."""
    _previous: list[Word] = field(default_factory=list)

    @property
    def final_end(self) -> float:
        return self.final_words[-1].end if self.final_words else 0.0

    @property
    def pending(self) -> list[Word]:
        """The last hypothesis' words not final yet."""
        return list(self._previous)

    def prompt(self, vocabulary: str | None = None) -> str | None:
        """Whisper's prompt for the next decoding: the vocabulary, then the end of the final text that came before
        the buffer. (Final words still in the buffer stay out of it: given them as the prompt, Whisper goes on
        after them and leaves out what it heard next to them.)"""
        before = [word for word in self.final_words if word.end <= self.buffer_start + self.config.time_tolerance]
        tail = "".join(word.text for word in before)[-self.config.prompt_chars :].strip()
        text = " ".join(part for part in (vocabulary and vocabulary.strip(), tail) if part)
        return text or None

    def update(self, hypothesis: Sequence[Word], buffer_end: float, speech_ended_at: float | None = None) -> Update:
        """Take a new hypothesis of the buffer (word times from the recording's start, ending at ``buffer_end``).

        ``speech_ended_at``: where a pause of the voice detector's begins (the speech before it is over); its words
        become final now and the buffer is trimmed there. Ignored when the config has no endpointing."""
        new = self._unconfirmed(hypothesis)
        agreed = 0
        while agreed < min(len(new), len(self._previous)) and new[agreed].key == self._previous[agreed].key:
            agreed += 1
        context_end = self.last_endpoint
        ends_a_stretch = self.is_new_endpoint(speech_ended_at)
        if ends_a_stretch and speech_ended_at is not None:
            # By the middle of the word, as in ``_unconfirmed``: Whisper's word ends run late into the pause.
            while agreed < len(new) and (new[agreed].start + new[agreed].end) / 2 <= speech_ended_at:
                agreed += 1
            self.last_endpoint = max(speech_ended_at, self.final_end)
        final = self._append_final(new[:agreed])
        self._previous = new[agreed:]
        if ends_a_stretch and context_end > self.buffer_start:
            # The stretch before the one just ended is dropped; the one just ended stays for Whisper to hear
            # (decoded alone, a sentence of a voice Whisper has not heard before comes out worse).
            self.buffer_start = context_end
            return Update(final, list(self._previous), context_end)
        return Update(final, list(self._previous), self._trim_point(buffer_end))

    def is_new_endpoint(self, speech_ended_at: float | None) -> bool:
        """Whether speech ending there (a pause after it) ends a stretch no update has ended yet: in the buffer,
        past the last one by more than a pause (the voice detector's times of an old pause wobble a little)."""
        pause = self.config.endpoint_pause_seconds
        if pause is None or speech_ended_at is None:
            return False
        return speech_ended_at > max(self.buffer_start, self.last_endpoint + pause)

    def finish(self) -> list[Word]:
        """At the end of the audio: the last hypothesis' words, which no later one will confirm, become final."""
        final = self._append_final(self._previous)
        self._previous = []
        return final

    def _unconfirmed(self, hypothesis: Sequence[Word]) -> list[Word]:
        """The hypothesis without the words that are already final (by their time, then by their text)."""
        if not self.final_words:
            return [word for word in hypothesis if word.key]
        # By the middle of the word: Whisper's word times wobble by a tenth of a second or two between decodings.
        cutoff = self.final_end - self.config.time_tolerance
        words = [word for word in hypothesis if word.key and (word.start + word.end) / 2 >= cutoff]
        if not words:
            return words
        final_keys = [word.key for word in self.final_words[-self.config.overlap_words :]]
        for size in range(min(len(final_keys), len(words)), 0, -1):
            if final_keys[-size:] == [word.key for word in words[:size]]:
                return words[size:]
        return words

    def _append_final(self, words: Sequence[Word]) -> list[Word]:
        added: list[Word] = []
        for word in words:
            start = max(word.start, self.final_end)  # Whisper's word times may overlap: never backwards
            added.append(Word(start, max(word.end, start), word.text))
            self.final_words.append(added[-1])
        return added

    def _trim_point(self, buffer_end: float) -> float | None:
        length = buffer_end - self.buffer_start
        if length <= self.config.trim_seconds or not self.final_words:
            return None
        sentence_ends = [w.end for w in self.final_words if SENTENCE_END.search(w.text.strip())]
        trim = sentence_ends[-1] if sentence_ends and sentence_ends[-1] > self.buffer_start else None
        if trim is None and length > self.config.max_buffer_seconds and self.final_end > self.buffer_start:
            trim = self.final_end
        if trim is None:
            return None
        self.buffer_start = trim
        return trim


def sentences(words: Sequence[Word]) -> tuple[list[str], list[Word]]:
    """The complete sentences in ``words`` as lines of text, and the words after the last sentence end."""
    lines: list[str] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if SENTENCE_END.search(word.text.strip()):
            lines.append(text_of(current))
            current = []
    return lines, current


def text_of(words: Sequence[Word]) -> str:
    return "".join(word.text for word in words).strip()
