"""srt and vtt within the limits the user set: the speaker label counted in the line width, and no cue shown for
zero or negative time, on hand-made results with the awkward cases (long labels, overlong words, words sharing
one instant) and on random ones. ``test_diarization`` checks a real diarized transcript's export the same way."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import pytest

from stt_studio.engine.result import Segment, TranscriptionResult, Word
from stt_studio.exports import ExportOptions, export
from stt_studio.subtitles import MIN_CUE_SECONDS, subtitle_cues


@dataclass
class ShownCue:
    start: float
    end: float
    lines: list[str]


def _seconds(stamp: str) -> float:
    *hours, minutes, rest = stamp.replace(",", ".").split(":")
    return int(hours[0] if hours else 0) * 3600 + int(minutes) * 60 + float(rest)


def parse_subtitles(text: str) -> list[ShownCue]:
    """The cues of an srt or a vtt file as a player reads them."""
    cues = []
    for block in text.removeprefix("WEBVTT").strip().split("\n\n"):
        lines = block.split("\n")
        timing = next(i for i, line in enumerate(lines) if " --> " in line)
        start, end = lines[timing].split(" --> ")
        cues.append(ShownCue(_seconds(start), _seconds(end), lines[timing + 1 :]))
    return cues


def assert_within_limits(text: str, width: int, count: int | None = None) -> list[ShownCue]:
    """Every line at most ``width`` long unless it is one word (or one label) longer than that, at most ``count``
    lines a cue, every cue shown for a positive time, and no cue running into the next."""
    cues = parse_subtitles(text)
    for cue in cues:
        for line in cue.lines:
            assert len(line) <= width or " " not in line or re.fullmatch(r"\[[^]]+\]:", line), (line, width)
        assert count is None or len(cue.lines) <= count, cue
        assert cue.end > cue.start, cue
    for a, b in itertools.pairwise(cues):
        assert a.end <= b.start, (a, b)
    return cues


def words_of(cues: list[ShownCue]) -> list[str]:
    text = " ".join(" ".join(cue.lines) for cue in cues)
    return re.sub(r"\[[^]]+\]:", "", text).split()


def result_of(*segments: tuple[str | None, list[tuple[str, float, float]]], names: dict[str, str] | None = None,
              language: str = "en") -> TranscriptionResult:  # fmt: skip
    """A result of segments given as (speaker, [(word, start, end), ...])."""
    made = [
        Segment(
            id=i,
            start=min((w[1] for w in words), default=0.0),
            end=max((w[2] for w in words), default=0.0),
            text=" " + " ".join(w[0] for w in words),
            words=[Word(word=w, start=a, end=b, score=0.9, speaker=speaker) for w, a, b in words],
            speaker=speaker,
        )
        for i, (speaker, words) in enumerate(segments)
    ]
    return TranscriptionResult(
        text=" ".join(s.text for s in made), language=language, duration=max(s.end for s in made) + 1,
        segments=made, processing_time=1.0, model="tiny.en", device="cpu", word_timestamps="wav2vec2",
        speaker_names=names or {},
    )  # fmt: skip


def timed(text: str, start: float, step: float = 0.3) -> list[tuple[str, float, float]]:
    return [
        (w, round(start + i * step, 3), round(start + i * step + step * 0.9, 3)) for i, w in enumerate(text.split())
    ]


DIANE = "SPEAKER_00"
SENTENCE = "I thought, you know, I heard a noise outside the window, and then the dog started barking loudly"


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
@pytest.mark.parametrize("count", [None, 1, 2])
def test_the_speaker_label_counts_in_the_line_width(fmt: str, count: int | None) -> None:
    result = result_of((DIANE, timed(SENTENCE, 0.0)), ("SPEAKER_01", timed(SENTENCE, 40.0)), names={DIANE: "Diane"})
    text = export(result, fmt, ExportOptions(max_line_width=32, max_line_count=count))
    cues = assert_within_limits(text, 32, count)
    assert words_of(cues) == SENTENCE.split() * 2
    assert cues[0].lines[0] == "[Diane]: I thought, you know, I"  # 31: the label and the words that fit with it
    assert any(cue.lines[0].startswith("[Speaker 2]: ") for cue in cues)
    if count is not None:
        assert all(cue.lines[0].startswith(("[Diane]: ", "[Speaker 2]: ")) for cue in cues)  # each cue says who


def test_a_label_longer_than_the_width_has_a_line_of_its_own() -> None:
    name = "Professor Bartholomew Featherstonehaugh"
    result = result_of((DIANE, timed(SENTENCE, 0.0)), names={DIANE: name})
    cues = assert_within_limits(export(result, "srt", ExportOptions(max_line_width=20, max_line_count=3)), 20, 3)
    assert all(cue.lines[0] == f"[{name}]:" for cue in cues)
    assert all(len(line) <= 20 for cue in cues for line in cue.lines[1:])
    assert words_of(cues) == SENTENCE.split()


def test_a_label_that_leaves_no_room_for_the_first_word_goes_above_it() -> None:
    result = result_of((DIANE, timed("Unquestionably so, she said", 0.0)), names={DIANE: "Diane"})
    cue = parse_subtitles(export(result, "srt", ExportOptions(max_line_width=16)))[0]
    assert cue.lines == ["[Diane]:", "Unquestionably", "so, she said"]


def test_with_one_line_a_cue_a_label_without_room_is_the_one_extra_line() -> None:
    result = result_of((DIANE, timed("Unquestionably so", 0.0)), names={DIANE: "Diane"})
    cues = parse_subtitles(export(result, "srt", ExportOptions(max_line_width=16, max_line_count=1)))
    assert [cue.lines for cue in cues] == [["[Diane]:", "Unquestionably"], ["[Diane]: so"]]


def test_a_word_longer_than_the_width_stands_alone_and_is_not_split() -> None:
    words = "see Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch station at noon"
    result = result_of((None, timed(words, 0.0)))
    cues = assert_within_limits(export(result, "vtt", ExportOptions(max_line_width=12, max_line_count=2)), 12, 2)
    lines = [line for cue in cues for line in cue.lines]
    assert "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" in lines
    assert all(len(line) <= 12 for line in lines if not line.startswith("Llanfair"))
    assert words_of(cues) == words.split()


def test_the_issue_s_zero_length_cue_gets_time_without_running_into_the_next() -> None:
    # As reported: `00:00:11,390 --> 00:00:11,390 [Speaker 2]: I` (a one-word segment, its word without duration).
    result = result_of(
        (DIANE, timed("so that was it", 9.0)),
        ("SPEAKER_01", [("I", 11.39, 11.39)]),
        (DIANE, timed("right", 11.8)),
        names={DIANE: "Diane"},
    )
    for fmt in ("srt", "vtt"):
        cues = assert_within_limits(export(result, fmt, ExportOptions(max_line_width=32)), 32)
        speaker_2 = next(cue for cue in cues if cue.lines == ["[Speaker 2]: I"])
        assert speaker_2.start == 11.39 and speaker_2.end == 11.8  # as long as the next cue lets it be
    alone = result_of(("SPEAKER_01", [("I", 11.39, 11.39)]))
    (cue,) = parse_subtitles(export(alone, "srt"))
    assert cue.start == 11.39 and cue.end == pytest.approx(11.39 + MIN_CUE_SECONDS)


STUCK = "every word of this sentence was given the very same time"


@pytest.mark.parametrize("count", [1, 2])
def test_words_sharing_one_instant_make_cues_that_follow_each_other(count: int) -> None:
    stuck = [(w, 5.0, 5.0) for w in STUCK.split(" ")]
    result = result_of((DIANE, timed("before", 1.0)), (DIANE, stuck), ("SPEAKER_01", [("after", 5.0, 5.0)]))
    for fmt in ("srt", "vtt"):
        cues = assert_within_limits(export(result, fmt, ExportOptions(max_line_width=20, max_line_count=count)), 20)
        assert len(cues) >= 3 and words_of(cues)[-1] == "after"
        assert cues[1].start == 5.0  # the first of them where it was said; the others each after the one before


def test_a_word_ending_before_it_starts_still_gives_a_cue_with_a_positive_length() -> None:
    result = result_of((None, [("odd", 3.0, 2.5)]), (None, timed("next one", 3.2)))
    cues = assert_within_limits(export(result, "srt"), 1000)
    assert cues[0].start == 3.0 and cues[0].end == 3.2


def test_a_short_cue_is_shown_longer_only_up_to_the_next() -> None:
    result = result_of((None, [("Yes.", 1.0, 1.2)]), (None, [("No.", 4.0, 4.2)]), (None, [("Maybe.", 4.3, 4.5)]))
    cues = subtitle_cues(result)
    assert [c.start for c in cues] == [1.0, 4.0, 4.3]
    assert [c.end for c in cues] == pytest.approx([1.0 + MIN_CUE_SECONDS, 4.3, 5.1])


def test_speech_that_overlapped_keeps_its_times() -> None:
    result = result_of((DIANE, timed("we both talk at once here", 1.0)), ("SPEAKER_01", timed("yes at once", 1.5)))
    cues = subtitle_cues(result)
    assert (cues[0].start, cues[0].end) == (1.0, 2.77) and cues[1].start == 1.5  # 2.77: its last word's end


def test_languages_without_spaces_wrap_by_characters() -> None:
    characters = [(c, i * 0.2, i * 0.2 + 0.15) for i, c in enumerate("今天天气很好我们去公园散步吧")]
    result = result_of((None, characters), language="zh")
    cues = assert_within_limits(export(result, "srt", ExportOptions(max_line_width=6, max_line_count=2)), 6, 2)
    assert "".join("".join(cue.lines) for cue in cues) == "今天天气很好我们去公园散步吧"
    assert cues[0].lines == ["今天天气很好", "我们去公园散"]


@pytest.mark.parametrize("seed", range(12))
def test_random_transcripts_stay_within_the_limits(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = ["a", "I", "so", "the", "thought", "window", "barking", "extraordinarily", "responsibilities", "ok."]
    segments: list[tuple[str | None, list[tuple[str, float, float]]]] = []
    t = 0.0
    for _ in range(rng.randint(1, 12)):
        words = []
        for _ in range(rng.randint(1, 15)):
            step = rng.choice([0.0, 0.0, 0.1, 0.4, 3.5])
            length = min(step, rng.choice([0.0, 0.05, 0.3]))  # zero-length words are common in aligned output
            words.append((rng.choice(vocabulary), round(t, 3), round(t + length, 3)))
            t += step
        segments.append((rng.choice([DIANE, "SPEAKER_01", "SPEAKER_02"]), words))
    names = {DIANE: "Diane", "SPEAKER_02": "A name far longer than any line"}
    result = result_of(*segments, names=names)
    width = rng.choice([8, 16, 20, 32, 42])
    count = rng.choice([None, 1, 2, 3])
    for fmt in ("srt", "vtt"):
        cues = assert_within_limits(
            export(result, fmt, ExportOptions(max_line_width=width, max_line_count=count)),
            width, None if count == 1 else count,  # with one line a cue, a label may need its own line
        )  # fmt: skip
        assert words_of(cues) == [w for _, words in segments for w, _, _ in words]
