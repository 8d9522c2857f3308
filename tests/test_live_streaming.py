"""The streaming policy (stt_studio/live/streaming.py): unit and property tests, no audio or model."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from stt_studio.live.streaming import LocalAgreement, StreamingConfig, Word, sentences, text_of

SPOKEN = (
    "The quick brown fox jumps over the lazy dog. Please call the office tomorrow morning. "
    "Our team finished the report early. The weather today is sunny with a light breeze. "
    "She bought fresh bread and cheese. Remember to save your files before installing."
)
TRUTH_TEXT = SPOKEN.split(" ")
TRUTH = [Word(0.4 * i, 0.4 * i + 0.3, " " + text) for i, text in enumerate(TRUTH_TEXT)]


def heard(until: float, buffer_start: float) -> list[Word]:
    """What a perfect recognizer hears in the buffer [buffer_start, until)."""
    return [w for w in TRUTH if (w.start + w.end) / 2 >= buffer_start and w.end <= until]


def test_a_word_is_final_once_two_consecutive_hypotheses_agree_on_it() -> None:
    policy = LocalAgreement()
    first = policy.update([Word(0.0, 0.3, " Hello"), Word(0.4, 0.7, " word")], 1.0)
    assert first.final == [] and [w.text for w in first.provisional] == [" Hello", " word"]
    second = policy.update([Word(0.0, 0.3, " hello,"), Word(0.4, 0.7, " world"), Word(0.8, 1.1, " again")], 1.5)
    assert [w.text for w in second.final] == [" hello,"]  # the second hypothesis' spelling
    assert [w.text for w in second.provisional] == [" world", " again"]
    third = policy.update([Word(0.0, 0.3, " Hello"), Word(0.4, 0.7, " world"), Word(0.8, 1.1, " again.")], 2.0)
    assert [w.text for w in third.final] == [" world", " again."]
    assert policy.finish() == []


def test_finish_makes_the_last_hypothesis_final() -> None:
    policy = LocalAgreement()
    policy.update([Word(0.0, 0.3, " one"), Word(0.4, 0.7, " two")], 1.0)
    assert [w.text for w in policy.finish()] == [" one", " two"]
    assert policy.finish() == []


def test_words_already_final_are_not_made_final_again_when_whisper_repeats_them() -> None:
    policy = LocalAgreement()
    policy.update([Word(0.0, 0.3, " one"), Word(0.4, 0.7, " two")], 1.0)
    policy.update([Word(0.0, 0.3, " one"), Word(0.4, 0.7, " two")], 1.5)
    # After a trim Whisper repeats the prompt's last words with times inside the new buffer.
    repeated = [Word(0.8, 1.0, " two"), Word(1.1, 1.4, " three")]
    assert policy.update(repeated, 2.0).final == []
    update = policy.update(repeated, 2.5)
    assert [w.text for w in update.final] == [" three"]
    assert text_of(policy.final_words) == "one two three"


def test_the_buffer_is_trimmed_after_a_final_sentence_once_it_is_long() -> None:
    policy = LocalAgreement(StreamingConfig(trim_seconds=3.0, max_buffer_seconds=30.0))
    for _ in range(2):
        update = policy.update(heard(2.5, 0.0), 2.5)
    assert update.trim_at is None  # short buffer
    trims = [policy.update(heard(t, policy.buffer_start), t).trim_at for t in (5.0, 5.5, 6.0)]
    assert trims.count(None) == 2
    trim = next(t for t in trims if t is not None)
    assert trim == TRUTH[8].end  # "dog." ends the first sentence
    assert policy.buffer_start == trim


def test_without_a_sentence_end_the_buffer_is_trimmed_at_the_last_final_word_past_the_maximum() -> None:
    words = [Word(0.5 * i, 0.5 * i + 0.4, f" w{i}") for i in range(40)]
    policy = LocalAgreement(StreamingConfig(trim_seconds=2.0, max_buffer_seconds=4.0))
    policy.update(words[:8], 4.0)
    assert policy.update(words[:8], 4.0).trim_at is None  # not past the maximum
    assert policy.update(words[:10], 5.0).trim_at == words[7].end  # w8 and w9 are not final yet
    assert policy.buffer_start == words[7].end


def test_the_prompt_is_the_vocabulary_then_the_final_text_before_the_buffer() -> None:
    policy = LocalAgreement(StreamingConfig(prompt_chars=12, trim_seconds=2.0))
    assert policy.prompt() is None
    assert policy.prompt(" Kowalczyk ") == "Kowalczyk"
    policy.update(heard(3.0, 0.0), 3.0)
    policy.update(heard(3.0, 0.0), 3.0)
    assert policy.prompt() is None  # final, but still in the buffer: Whisper hears it there
    policy.update(heard(4.0, 0.0), 4.0)
    update = policy.update(heard(4.0, 0.0), 4.0)
    assert update.trim_at == TRUTH[8].end  # "dog."
    assert policy.prompt() == "he lazy dog."  # the last 12 characters
    assert policy.prompt("Kowalczyk") == "Kowalczyk he lazy dog."


def test_a_pause_after_speech_makes_the_words_before_it_final_without_a_second_hypothesis() -> None:
    policy = LocalAgreement()
    dog = TRUTH[8]  # "dog." ends the first sentence; "Please" begins after the pause
    update = policy.update(heard(4.0, 0.0), 4.0, speech_ended_at=dog.end + 0.1)
    assert text_of(update.final) == "The quick brown fox jumps over the lazy dog."
    assert text_of(update.provisional) == "Please"  # after the pause: the next stretch, not final yet
    assert policy.last_endpoint == dog.end + 0.1
    assert update.trim_at is None  # the first stretch stays in the buffer: Whisper hears the voice in it


def test_without_endpointing_a_pause_changes_nothing() -> None:
    policy = LocalAgreement(StreamingConfig(endpoint_pause_seconds=None))
    update = policy.update(heard(4.0, 0.0), 4.0, speech_ended_at=TRUTH[8].end + 0.1)
    assert update.final == [] and update.trim_at is None
    assert not policy.is_new_endpoint(TRUTH[8].end + 0.1)


def test_each_pause_trims_the_buffer_at_the_end_of_the_stretch_before_it() -> None:
    policy = LocalAgreement()
    first_end = TRUTH[8].end + 0.1  # after "dog."
    second_end = TRUTH[14].end + 0.1  # after "morning."
    policy.update(heard(4.0, 0.0), 4.0, speech_ended_at=first_end)
    update = policy.update(heard(6.0, 0.0), 6.0, speech_ended_at=second_end)
    assert text_of(update.final) == "Please call the office tomorrow morning."
    assert update.trim_at == first_end and policy.buffer_start == first_end
    assert policy.prompt() == "The quick brown fox jumps over the lazy dog."


def test_the_buffer_is_never_trimmed_inside_a_final_word_whose_end_runs_into_the_pause() -> None:
    policy = LocalAgreement()
    dog = TRUTH[8]
    for _ in range(2):
        policy.update(heard(dog.end, 0.0), dog.end)  # "dog." final by agreement, its end as Whisper put it
    assert policy.final_end == dog.end
    policy.update(heard(4.0, 0.0), 4.0, speech_ended_at=dog.end - 0.05)  # the detector heard it end earlier
    update = policy.update(heard(6.0, 0.0), 6.0, speech_ended_at=TRUTH[14].end + 0.1)
    assert update.trim_at == dog.end


def test_a_pause_already_ended_is_not_ended_again_when_the_detector_moves_it_a_little() -> None:
    policy = LocalAgreement()
    policy.update(heard(4.0, 0.0), 4.0, speech_ended_at=TRUTH[8].end + 0.1)
    assert not policy.is_new_endpoint(TRUTH[8].end + 0.15)  # the same pause, heard again with more audio
    update = policy.update(heard(4.5, 0.0), 4.5, speech_ended_at=TRUTH[8].end + 0.15)
    assert text_of(update.final) == "Please" and text_of(update.provisional) == "call"  # agreement alone
    assert policy.last_endpoint == TRUTH[8].end + 0.1
    assert policy.is_new_endpoint(TRUTH[10].end + 0.1)


def test_sentences_split_final_words_into_lines() -> None:
    lines, rest = sentences(TRUTH[:12])
    assert lines == ["The quick brown fox jumps over the lazy dog."]
    assert text_of(rest) == "Please call the"


@st.composite
def noisy_runs(draw: st.DrawFn) -> list[tuple[float, int, int]]:
    """Decoding times, each with how many of the last heard words the recognizer gets wrong and how many it
    leaves out at the end (it changes its mind about the end of the buffer)."""
    steps = draw(st.lists(st.floats(min_value=0.2, max_value=1.5), min_size=3, max_size=60))
    runs = []
    t = 0.0
    for step in steps:
        t += step
        runs.append((t, draw(st.integers(0, 3)), draw(st.integers(0, 2))))
    return runs


@settings(max_examples=300, deadline=None)
@given(noisy_runs(), st.floats(min_value=1.0, max_value=8.0), st.floats(min_value=-0.2, max_value=0.2))
def test_final_text_is_only_appended_never_repeated_and_its_times_never_go_back(
    runs: list[tuple[float, int, int]], trim_seconds: float, jitter: float
) -> None:
    """A recognizer that is right except for the last words it hears (changed each time: no two hypotheses agree
    on a wrong word) and whose word times wobble: what becomes final is exactly the truth, in order, once."""
    policy = LocalAgreement(StreamingConfig(trim_seconds=trim_seconds, max_buffer_seconds=trim_seconds + 4.0))
    emitted: list[Word] = []
    snapshots: list[str] = []
    for n, (t, wrong, dropped) in enumerate(runs):
        right = heard(t, policy.buffer_start)
        keep = max(0, len(right) - dropped)
        hypothesis = [Word(w.start - jitter, w.end + jitter, w.text) for w in right[:keep]]
        for i in range(max(0, keep - wrong), keep):
            hypothesis[i] = Word(hypothesis[i].start, hypothesis[i].end, f" guess{n}x{i}")
        update = policy.update(hypothesis, t)
        emitted.extend(update.final)
        snapshots.append(text_of(policy.final_words))
        if update.trim_at is not None:
            assert update.trim_at <= t
    end = runs[-1][0] + 1.0  # the last decoding, with the audio's end heard: the recognizer is right
    emitted.extend(policy.update(heard(end, policy.buffer_start), end).final)
    emitted.extend(policy.finish())
    snapshots.append(text_of(policy.final_words))

    keys = [w.key for w in emitted]
    truth_keys = [w.key for w in TRUTH]
    assert keys == truth_keys[: len(keys)]  # never a word twice, never a guess, in order
    assert emitted == policy.final_words
    for earlier, later in itertools.pairwise(snapshots):
        assert later.startswith(earlier)  # final text never changes, it only grows
    for before, after in itertools.pairwise(emitted):
        assert before.start <= before.end <= after.start <= after.end


@st.composite
def runs_with_pauses(draw: st.DrawFn) -> list[tuple[float, float | None, int]]:
    """Decoding times, each with where the voice detector last heard speech end before a pause (between two
    words, or None) and how many of the words heard after that pause the recognizer gets wrong."""
    runs: list[tuple[float, float | None, int]] = []
    t = 0.0
    for step in draw(st.lists(st.floats(min_value=0.2, max_value=1.5), min_size=3, max_size=60)):
        t += step
        spoken = [w for w in TRUTH if w.end + 0.05 <= t]
        pause_after = draw(st.one_of(st.none(), st.sampled_from(spoken))) if spoken else None
        runs.append((t, None if pause_after is None else pause_after.end + 0.05, draw(st.integers(0, 3))))
    return runs


@settings(max_examples=150, deadline=None)
@given(runs_with_pauses(), st.floats(min_value=-0.1, max_value=0.1))
def test_with_pauses_final_text_is_still_only_appended_never_repeated_and_its_times_never_go_back(
    runs: list[tuple[float, float | None, int]], jitter: float
) -> None:
    """A recognizer that is right about the words a pause follows and may be wrong about those after it, and
    pauses reported at any word, again or out of order: what becomes final is exactly the truth, in order, once."""
    policy = LocalAgreement(StreamingConfig(trim_seconds=4.0, max_buffer_seconds=8.0, endpoint_pause_seconds=0.05))
    emitted: list[Word] = []
    snapshots: list[str] = []
    for n, (t, speech_ended_at, wrong) in enumerate(runs):
        hypothesis = [Word(w.start - jitter, w.end + jitter, w.text) for w in heard(t, policy.buffer_start)]
        sure = sum(1 for w in hypothesis if speech_ended_at is not None and (w.start + w.end) / 2 <= speech_ended_at)
        for i in range(max(sure, len(hypothesis) - wrong), len(hypothesis)):
            hypothesis[i] = Word(hypothesis[i].start, hypothesis[i].end, f" guess{n}x{i}")
        update = policy.update(hypothesis, t, speech_ended_at)
        emitted.extend(update.final)
        snapshots.append(text_of(policy.final_words))
        if update.trim_at is not None:
            assert update.trim_at <= t
    end = runs[-1][0] + 1.0
    emitted.extend(policy.update(heard(end, policy.buffer_start), end).final)
    emitted.extend(policy.finish())
    snapshots.append(text_of(policy.final_words))

    keys = [w.key for w in emitted]
    assert keys == [w.key for w in TRUTH][: len(keys)]
    assert emitted == policy.final_words
    for earlier, later in itertools.pairwise(snapshots):
        assert later.startswith(earlier)
    for before, after in itertools.pairwise(emitted):
        assert before.start <= before.end <= after.start <= after.end
