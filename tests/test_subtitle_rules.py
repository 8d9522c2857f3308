"""The subtitle rules (``ExportOptions``' durations, reading speed, balanced lines, sentence and speaker splits, the
speaker dash, silences), each on a transcript built to break it, read back from the srt as a player reads it; and
the options that contradict each other, refused with the reason."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from stt_studio.engine.result import Segment, TranscriptionResult, Word
from stt_studio.exports import NETFLIX, ExportOptions, ExportOptionsError, export
from tests.test_subtitles import ShownCue, parse_subtitles


def words_at(text: str, start: float, seconds: float = 0.3, gap: float = 0.05) -> list[Word]:
    """The words of ``text`` said one after another from ``start``, each ``seconds`` long."""
    return [
        Word(
            word=w,
            start=round(start + i * (seconds + gap), 3),
            end=round(start + i * (seconds + gap) + seconds, 3),
            score=0.9,
        )
        for i, w in enumerate(text.split())
    ]


def transcript(*segments: tuple[str | None, list[Word]]) -> TranscriptionResult:
    built = [
        Segment(id=i, start=ws[0].start, end=ws[-1].end, text=" ".join(w.word for w in ws), words=ws, speaker=speaker)
        for i, (speaker, ws) in enumerate(segments)
    ]
    return TranscriptionResult(
        text=" ".join(s.text for s in built),
        language="en",
        duration=max(s.end for s in built) + 5,
        segments=built,
        processing_time=1.0,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
    )


def cues(result: TranscriptionResult, **options: object) -> list[ShownCue]:
    shown = parse_subtitles(export(result, "srt", ExportOptions(**options)))  # type: ignore[arg-type]
    for a, b in itertools.pairwise(shown):
        assert a.end <= b.start, (a, b)  # never overlapping, whatever the rule
    assert all(cue.end > cue.start for cue in shown)
    return shown


def test_min_duration_lengthens_a_short_cue() -> None:
    result = transcript((None, words_at("Yes.", 1.0, seconds=0.2)), (None, words_at("Then later.", 6.0)))
    assert cues(result)[0].end - cues(result)[0].start < 0.85  # as spoken (with the old floor of 0.8 s)
    first = cues(result, min_cue_seconds=1.5)[0]
    assert first.end - first.start == pytest.approx(1.5)


def test_min_duration_never_runs_into_the_next_cue() -> None:
    result = transcript((None, words_at("Yes.", 1.0, seconds=0.2)), (None, words_at("No.", 1.5)))
    first, second = cues(result, min_cue_seconds=2.0)
    assert first.end == pytest.approx(1.5) and second.start == pytest.approx(1.5)


def test_max_duration_splits_a_long_run_of_speech() -> None:
    result = transcript((None, words_at(" ".join(["word"] * 40), 0.0)))  # 14 s without a pause
    shown = cues(result, max_cue_seconds=4.0)
    assert len(shown) >= 4
    assert all(cue.end - cue.start <= 4.0 for cue in shown)
    assert sum(len(" ".join(cue.lines).split()) for cue in shown) == 40


def test_reading_speed_lengthens_a_fast_cue_into_the_pause_after_it() -> None:
    fast = "Absolutely incomprehensible circumstances surrounded everything"  # 63 characters said in 1.4 s
    result = transcript((None, words_at(fast, 0.0)), (None, words_at("Fine.", 10.0)))
    assert len(cues(result)[0].lines[0]) / (cues(result)[0].end - cues(result)[0].start) > 30
    first = cues(result, max_chars_per_second=17.0)[0]
    assert len("\n".join(first.lines)) / (first.end - first.start) <= 17.0 + 0.01


def test_balanced_lines_are_about_equal() -> None:
    text = "The committee met again on Tuesday morning to settle the budget"  # 63 characters
    result = transcript((None, words_at(text, 0.0)))
    greedy = cues(result, max_line_width=42, max_line_count=2)[0].lines
    assert [len(line) for line in greedy] == [42, 20]
    balanced = cues(result, max_line_width=42, max_line_count=2, balance_lines=True)[0].lines
    assert " ".join(balanced) == text and len(balanced) == 2
    assert abs(len(balanced[0]) - len(balanced[1])) <= max(len(w) for w in text.split())
    assert all(len(line) <= 42 for line in balanced)


def test_balanced_lines_break_after_punctuation_when_it_costs_a_few_characters() -> None:
    result = transcript((None, words_at("The budget is settled, the plan is next on the list", 0.0)))
    lines = cues(result, max_line_width=42, balance_lines=True, max_line_count=2)[0].lines
    assert lines == ["The budget is settled,", "the plan is next on the list"]  # not "…settled, the" / "plan is…"


def test_a_new_sentence_starts_a_new_cue() -> None:
    result = transcript((None, words_at("It rained. We stayed in.", 0.0)))
    assert len(cues(result, max_line_width=42)) == 1
    shown = cues(result, max_line_width=42, split_sentences=True)
    assert [cue.lines for cue in shown] == [["It rained."], ["We stayed in."]]


def test_a_speaker_change_starts_a_new_cue() -> None:
    result = transcript(("SPEAKER_00", words_at("Are you coming", 0.0)), ("SPEAKER_01", words_at("In a minute", 1.2)))
    shown = cues(result, max_line_width=42, max_line_count=2, min_cue_seconds=0.5)
    assert [cue.lines for cue in shown] == [["[Speaker 1]: Are you coming"], ["[Speaker 2]: In a minute"]]


def test_two_speakers_share_a_cue_with_a_dash_each() -> None:
    result = transcript(("SPEAKER_00", words_at("Are you coming?", 0.0)), ("SPEAKER_01", words_at("In a minute.", 1.2)))
    shown = cues(result, max_line_width=42, max_line_count=2, speaker_dash=True)
    assert [cue.lines for cue in shown] == [["- [Speaker 1]: Are you coming?", "- [Speaker 2]: In a minute."]]


def test_the_dash_is_not_used_when_a_speaker_needs_more_than_a_line() -> None:
    long = "I have been waiting here for more than an hour now"
    result = transcript(("SPEAKER_00", words_at("Coming?", 0.0)), ("SPEAKER_01", words_at(long, 1.0)))
    shown = cues(result, max_line_width=42, max_line_count=2, speaker_dash=True)
    assert shown[0].lines[0] == "- [Speaker 1]: Coming?"
    assert not any(line.startswith("- ") for cue in shown[1:] for line in cue.lines)
    assert all(len(line) <= 42 for cue in shown for line in cue.lines)


LONG_NAMES = {
    "SPEAKER_00": "Maximiliane Mustermann-Schmidt",
    "SPEAKER_01": "Professor Doktor Maximiliane Mustermann-Schmidt",
}


@pytest.mark.parametrize("balance_lines", [False, True])
def test_a_long_speaker_name_gets_lines_of_its_own_within_the_width(balance_lines: bool) -> None:
    """[Maximiliane Mustermann-Schmidt]: (33 characters) leaves no room for "Unfortunately," within 42: the label
    gets its own line; a label longer than the whole width is wrapped at its spaces."""
    said = "Unfortunately, nobody expected this. It happened so early in the morning."
    result = transcript(("SPEAKER_00", words_at(said, 0.0)), ("SPEAKER_01", words_at("Yes.", 6.0))).model_copy(
        update={"speaker_names": LONG_NAMES}
    )
    rules = {"max_line_width": 42, "min_cue_seconds": 0.8, "balance_lines": balance_lines}
    assert [cue.lines for cue in cues(result, max_line_count=4, **rules)] == [
        ["[Maximiliane Mustermann-Schmidt]:", *(
            ["Unfortunately, nobody expected this.", "It happened so early in the morning."] if balance_lines
            else ["Unfortunately, nobody expected this. It", "happened so early in the morning."]
        )],
        ["[Professor Doktor Maximiliane", "Mustermann-Schmidt]:", "Yes."],
    ]  # fmt: skip
    two_lines = cues(result, max_line_count=2, **rules)  # the label's line and one of words per cue
    assert all(len(line) <= 42 for cue in two_lines for line in cue.lines), two_lines
    label = "[Maximiliane Mustermann-Schmidt]:"
    assert all(cue.lines[0].startswith(label) for cue in two_lines[:-1]), two_lines  # every cue says who speaks
    assert " ".join(" ".join(cue.lines).removeprefix(label) for cue in two_lines[:-1]).split() == said.split()
    # one word is shown with its label's two lines, over the count: a cue is never left empty
    assert two_lines[-1].lines == ["[Professor Doktor Maximiliane", "Mustermann-Schmidt]:", "Yes."]


def test_no_cue_spans_a_long_silence() -> None:
    result = transcript((None, words_at("Well", 0.0) + words_at("then", 5.0)))
    assert len(cues(result)) == 1  # one segment, one cue, over five seconds of silence
    first, second = cues(result, max_silence_seconds=1.0, min_cue_seconds=3.0)
    assert first.lines == ["Well"] and second.lines == ["then"]
    assert first.end <= 0.3 + 1.0 + 0.001  # lengthened for the minimum, but not over more than 1 s of silence


def test_the_guideline_defaults_are_netflix() -> None:
    options = ExportOptions().with_guideline()
    assert (options.max_line_width, options.max_line_count) == (42, 2)
    assert options.min_cue_seconds == pytest.approx(5 / 6) and options.max_cue_seconds == 7.0
    assert options.max_chars_per_second == NETFLIX.max_chars_per_second == 17.0
    assert options.balance_lines and options.split_sentences and options.speaker_dash
    assert not ExportOptions(include_speakers=False).with_guideline().speaker_dash
    assert ExportOptions(max_line_width=30).with_guideline().max_line_width == 30  # what is set is kept


def test_the_guideline_keeps_every_rule_on_a_real_conversation() -> None:
    text = "So what did you think of it? Honestly, it was far better than I expected it to be."
    result = transcript(
        ("SPEAKER_00", words_at(text, 0.0, seconds=0.25)),
        ("SPEAKER_01", words_at("Really? Why?", 6.2)),
        ("SPEAKER_00", words_at("Because the ending surprised me completely.", 12.0)),
    )
    options = ExportOptions().with_guideline()
    shown = parse_subtitles(export(result, "srt", options))
    for cue, following in itertools.zip_longest(shown, shown[1:]):
        duration = cue.end - cue.start
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines), cue
        assert duration <= 7.0, cue
        # at least 5/6 s, unless the next cue starts right when this one ends
        assert duration >= 5 / 6 - 0.001 or (following is not None and following.start == cue.end), cue
    assert shown[0].lines == ["[Speaker 1]: So what did you think of it?"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speaker_dash": True, "include_speakers": False}, "speaker_dash needs include_speakers"),
        ({"min_cue_seconds": 8.0, "max_cue_seconds": 7.0}, "min_cue_seconds (8) is longer than max_cue_seconds (7)"),
        ({"balance_lines": True}, "balance_lines needs max_line_width"),
        ({"speaker_dash": True, "max_line_width": 40, "max_line_count": 1}, "speaker_dash needs max_line_count of 2"),
        ({"max_chars_per_second": 0}, "max_chars_per_second must be more than 0"),
        ({"max_silence_seconds": -1.0}, "max_silence_seconds must be more than 0"),
    ],
)
def test_conflicting_options_are_refused_with_the_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ExportOptionsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ExportOptions(**kwargs)  # type: ignore[arg-type]


def test_random_conversations_keep_the_guideline() -> None:
    """Seeded random two-speaker transcripts (short and long words, pauses, overlaps): under the guideline every cue
    keeps the width and line count (a lone overlong word aside), is shown for a positive time within 7 s unless one
    word is longer, and never overlaps the next; no word is lost."""
    rng = random.Random(25)
    vocabulary = ["a", "we", "the", "budget", "tomorrow,", "incomprehensibly", "yes.", "really?", "Dr.", "okay"]
    options = ExportOptions().with_guideline()
    for _ in range(150):
        segments, at = [], 0.0
        for _ in range(rng.randint(1, 6)):
            text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 25)))
            at += rng.choice([-0.5, 0.0, 0.2, 1.0, 4.0])  # overlaps, no gap, short and long pauses
            words = words_at(text, max(at, 0.0), seconds=rng.choice([0.05, 0.2, 0.4]))
            segments.append((rng.choice(["SPEAKER_00", "SPEAKER_01", None]), words))
            at = words[-1].end
        result = transcript(*segments)
        shown = cues(result, **{f: getattr(options, f) for f in options.__dataclass_fields__})
        for cue in shown:
            assert len(cue.lines) <= 2, cue
            assert all(len(line) <= 42 or " " not in line.removeprefix("- ") for line in cue.lines), cue
            one_word = len(re.sub(r"- |\[[^]]+\]: ", "", " ".join(cue.lines)).split()) == 1
            assert cue.end - cue.start <= 7.0 + 0.001 or one_word, cue
        spoken = [w.word for _, words in segments for w in words]
        assert re.sub(r"- |\[[^]]+\]: ", "", " ".join(" ".join(c.lines) for c in shown)).split() == spoken
