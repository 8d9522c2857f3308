"""Every export format and option, on a hand-made two-speaker result; export_jobs writing into a folder."""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import docx
import pytest

from stt_studio.engine.result import Segment, SpeakerSummary, SpeakerTurn, TranscriptionResult, Word
from stt_studio.exports import (
    APP_AUTHOR,
    DESCRIPTIONS,
    FORMATS,
    MEDIA_TYPES,
    ExportItem,
    ExportOptions,
    NotDiarizedError,
    export,
    export_jobs,
    render,
    safe_stem,
)

LINES = [
    ("SPEAKER_00", 0.0, "Good morning everyone, welcome to the weekly planning meeting."),
    ("SPEAKER_00", 4.0, "Let us begin with the budget."),
    ("SPEAKER_01", 6.5, "Thank you, I have three points today."),
    ("SPEAKER_00", 3725.2, "Wonderful, then we are done."),
]
WORDS = [word for _, _, text in LINES for word in text.split()]
SHOWN = {"SPEAKER_00": "Speaker 1", "SPEAKER_01": "Speaker 2"}
"""How exports show the labels of a result whose speakers were not named in review."""
WORD_SECONDS = 0.35


def _segment(index: int, speaker: str | None, start: float, text: str) -> Segment:
    words = [
        Word(word=w, start=round(start + i * WORD_SECONDS, 3), end=round(start + i * WORD_SECONDS + 0.3, 3),
             score=0.9, speaker=speaker)
        for i, w in enumerate(text.split())
    ]  # fmt: skip
    return Segment(id=index, start=start, end=words[-1].end, text=" " + text, words=words, speaker=speaker)


def make_result(*, diarized: bool = True, language: str = "en") -> TranscriptionResult:
    segments = [_segment(i, s if diarized else None, start, text) for i, (s, start, text) in enumerate(LINES)]
    turns = [SpeakerTurn(start=s.start, end=s.end, speaker=s.speaker or "") for s in segments]
    speakers = [SpeakerSummary(speaker="SPEAKER_00", speaking_time=9.0),
                SpeakerSummary(speaker="SPEAKER_01", speaking_time=2.5)]  # fmt: skip
    return TranscriptionResult(
        text=" ".join(text for _, _, text in LINES),
        language=language,
        duration=3730.0,
        segments=segments,
        processing_time=12.5,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=speakers if diarized else None,
        speaker_turns=turns if diarized else None,
    )


@dataclass
class Cue:
    start: float
    end: float
    lines: list[str]


def _seconds(stamp: str) -> float:
    hours, minutes, rest = re.fullmatch(r"(\d+):(\d\d):(\d\d[,.]\d{3})", stamp).groups()  # type: ignore[union-attr]
    return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))


def parse_srt(text: str) -> list[Cue]:
    cues = []
    for number, block in enumerate(text.strip().split("\n\n"), start=1):
        index, times, *lines = block.split("\n")
        assert index == str(number)
        start, end = times.split(" --> ")
        cues.append(Cue(_seconds(start), _seconds(end), lines))
    return cues


def cue_words(cues: list[Cue]) -> list[str]:
    text = " ".join(" ".join(cue.lines) for cue in cues)
    return re.sub(r"\[[^]]+\]: ", "", text).split()


def read_docx(data: bytes) -> list[str]:
    return [paragraph.text for paragraph in docx.Document(io.BytesIO(data)).paragraphs]


# --- the registry ----------------------------------------------------------------------------------------


def test_every_format_has_a_media_type_and_a_description() -> None:
    assert set(FORMATS) == {"json", "txt", "srt", "vtt", "tsv", "rttm", "docx"} | {
        "maxqda",
        "atlasti",
        "nvivo",
        "exmaralda",
        "html",
        "csv",
    }
    assert set(MEDIA_TYPES) == set(FORMATS) == set(DESCRIPTIONS)
    assert MEDIA_TYPES["docx"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_unknown_format_and_binary_format_as_text_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown export format 'pdf'"):
        render(make_result(), "pdf")
    with pytest.raises(ValueError, match="binary"):
        export(make_result(), "docx")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "docx"])
def test_render_of_a_text_format_is_its_text_in_utf8(fmt: str) -> None:
    result = make_result(language="de")
    result.segments[0].text = " Grüße aus Köln"
    assert render(result, fmt).decode("utf-8") == export(result, fmt)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_line_width": 0}, "max_line_width must be at least 1"),
        ({"max_line_width": 10, "max_line_count": 0}, "max_line_count must be at least 1"),
        ({"max_line_count": 2}, "max_line_count needs max_line_width"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExportOptions(**kwargs)  # type: ignore[arg-type]


# --- txt -------------------------------------------------------------------------------------------------


def test_txt_with_timestamps_and_speakers_is_a_paragraph_per_turn() -> None:
    assert export(make_result(), "txt").split("\n\n") == [
        "Speaker 1\n"
        "[00:00:00.000 --> 00:00:03.100] Good morning everyone, welcome to the weekly planning meeting.\n"
        "[00:00:04.000 --> 00:00:06.050] Let us begin with the budget.",
        "Speaker 2\n[00:00:06.500 --> 00:00:08.900] Thank you, I have three points today.",
        "Speaker 1\n[01:02:05.200 --> 01:02:06.900] Wonderful, then we are done.\n",
    ]


def test_txt_without_timestamps_is_a_paragraph_per_turn() -> None:
    paragraphs = export(make_result(), "txt", ExportOptions(include_timestamps=False)).strip().split("\n\n")
    assert paragraphs == [f"[Speaker 1]: {LINES[0][2]} {LINES[1][2]}", f"[Speaker 2]: {LINES[2][2]}",
                          f"[Speaker 1]: {LINES[3][2]}"]  # fmt: skip


def test_txt_turns_read_back_as_the_conversation() -> None:
    """Paragraphs read back: each opens with its speaker, neighbours differ, and the words are all there in order."""
    result = make_result()
    for options in (ExportOptions(), ExportOptions(include_timestamps=False)):
        paragraphs = export(result, "txt", options).strip().split("\n\n")
        speakers = [re.match(r"\[?(Speaker \d)", paragraph).group(1) for paragraph in paragraphs]  # type: ignore[union-attr]
        assert all(a != b for a, b in itertools.pairwise(speakers))
        spoken = re.sub(r"\[[^\]]*\]:?|Speaker \d\n", " ", " ".join(paragraphs)).split()
        assert spoken == WORDS


def test_txt_without_speakers() -> None:
    plain = export(make_result(), "txt", ExportOptions(include_speakers=False, include_timestamps=False))
    assert plain.splitlines() == [text for _, _, text in LINES]
    timed = export(make_result(), "txt", ExportOptions(include_speakers=False)).splitlines()
    assert timed[2] == "[00:00:06.500 --> 00:00:08.900] Thank you, I have three points today."


def test_txt_of_an_undiarized_result_has_no_speaker() -> None:
    for options in (ExportOptions(), ExportOptions(include_timestamps=False)):
        text = export(make_result(diarized=False), "txt", options)
        assert "None" not in text and "SPEAKER" not in text and "Let us begin" in text


# --- srt and vtt -----------------------------------------------------------------------------------------


def test_srt_has_one_cue_per_segment_with_its_speaker() -> None:
    cues = parse_srt(export(make_result(), "srt"))
    assert [cue.lines for cue in cues] == [[f"[{SHOWN[speaker]}]: {text}"] for speaker, _, text in LINES]
    assert cues[3].start == pytest.approx(3725.2) and cues[3].end == pytest.approx(3726.9)
    assert all(cue.start < cue.end for cue in cues)


def test_srt_without_speakers_and_of_an_undiarized_result() -> None:
    cases = [(make_result(), ExportOptions(include_speakers=False)), (make_result(diarized=False), ExportOptions())]
    for result, options in cases:
        text = export(result, "srt", options)
        assert "Speaker" not in text and "SPEAKER" not in text and "None" not in text
        assert cue_words(parse_srt(text)) == WORDS


@pytest.mark.parametrize("width", [12, 20, 42])
def test_srt_lines_respect_max_line_width(width: int) -> None:
    options = ExportOptions(include_speakers=False, max_line_width=width)
    cues = parse_srt(export(make_result(), "srt", options))
    assert len(cues) == len(LINES)  # without a line count, cues stay one per segment
    lines = [line for cue in cues for line in cue.lines]
    assert all(len(line) <= width for line in lines), lines
    assert all(line == line.strip() and "  " not in line for line in lines)
    assert any(len(cue.lines) > 1 for cue in cues)
    assert cue_words(cues) == WORDS


def test_srt_max_line_count_splits_cues_without_mixing_speakers() -> None:
    # 24: room for "[Speaker 1]: " and the longest word, "Wonderful,"
    cues = parse_srt(export(make_result(), "srt", ExportOptions(max_line_width=24, max_line_count=1)))
    assert all(len(cue.lines) == 1 and len(cue.lines[0]) <= 24 for cue in cues)
    assert len(cues) > len(LINES)
    assert cue_words(cues) == WORDS
    speakers = [re.match(r"\[(Speaker \d)\]: ", cue.lines[0]).group(1) for cue in cues]  # type: ignore[union-attr]
    first_of_speaker_01 = next(i for i, cue in enumerate(cues) if cue.lines[0].startswith("[Speaker 2]: Thank"))
    assert speakers[first_of_speaker_01 - 1] == "Speaker 1"
    assert "budget." in cues[first_of_speaker_01 - 1].lines[0]  # the cue before ends with SPEAKER_00's words
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))


def test_segments_without_words_are_cued_by_segment_and_kept() -> None:
    result = make_result()
    result.segments[1].words = []
    cues = parse_srt(export(result, "srt", ExportOptions(max_line_width=12)))
    assert [cue.lines[0] for cue in cues] == [f"[{SHOWN[speaker]}]:" for speaker, _, _ in LINES]  # no room beside
    assert cue_words(cues) == WORDS and all(len(line) <= 12 for cue in cues for line in cue.lines)
    assert (cues[1].start, cues[1].end) == (result.segments[1].start, result.segments[1].end)  # the segment's span


def test_vtt() -> None:
    vtt = export(make_result(), "vtt", ExportOptions(include_speakers=False, max_line_width=30))
    assert vtt.startswith("WEBVTT\n\n00:00.000 --> ")
    assert "01:02:05.200 --> 01:02:06.900\nWonderful, then we are done.\n" in vtt
    body = [line for line in vtt.splitlines()[2:] if line and "-->" not in line]
    assert all(len(line) <= 30 for line in body)
    assert " ".join(body).split() == WORDS


# --- json, tsv, rttm -------------------------------------------------------------------------------------


def test_json_is_the_full_result_whatever_the_options() -> None:
    result = make_result()
    for options in (ExportOptions(), ExportOptions(include_speakers=False, include_timestamps=False)):
        assert TranscriptionResult.model_validate(json.loads(export(result, "json", options))) == result


def test_tsv_has_milliseconds_and_text() -> None:
    rows = [line.split("\t") for line in export(make_result(), "tsv").splitlines()]
    assert rows[0] == ["start", "end", "text"]
    assert rows[3] == ["6500", "8900", "Thank you, I have three points today."]


def test_rttm_lists_speaker_turns_and_needs_diarization() -> None:
    lines = export(make_result(), "rttm").splitlines()
    assert lines[2] == "SPEAKER audio 1 6.500 2.400 <NA> <NA> SPEAKER_01 <NA> <NA>"
    with pytest.raises(NotDiarizedError, match="enable_diarization"):
        export(make_result(diarized=False), "rttm")


# --- docx ------------------------------------------------------------------------------------------------


def test_docx_reads_back_with_metadata_speakers_and_timestamps() -> None:
    transcribed = datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc)
    data = render(make_result(), "docx", title="meeting.mp3", date=transcribed)
    document = docx.Document(io.BytesIO(data))
    assert document.core_properties.title == "meeting.mp3"
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "meeting.mp3"
    for row in ("File: meeting.mp3", "Duration: 01:02:10", "Language: en", "Model: tiny.en", "Device: cpu",
                f"Transcribed: {transcribed.astimezone():%Y-%m-%d %H:%M}",
                "Speakers: Speaker 1 (9 s), Speaker 2 (2 s)"):  # fmt: skip
        assert row in paragraphs
    body = paragraphs[paragraphs.index("Transcript") + 1 :]
    # Consecutive segments of one speaker make one paragraph.
    assert body == [
        f"Speaker 1 [00:00:00]\n{LINES[0][2]} {LINES[1][2]}",
        f"Speaker 2 [00:00:06]\n{LINES[2][2]}",
        f"Speaker 1 [01:02:05]\n{LINES[3][2]}",
    ]
    start = [p.text for p in document.paragraphs].index("Transcript")
    labels = [run.text for p in document.paragraphs[start:] for run in p.runs if run.bold]
    assert labels == ["Speaker 1", "Speaker 2", "Speaker 1"]
    assert " ".join(p.split("\n", 1)[1] for p in body).split() == WORDS


def test_docx_without_timestamps_or_speakers() -> None:
    no_times = read_docx(render(make_result(), "docx", ExportOptions(include_timestamps=False)))
    assert not any(re.search(r"\[\d\d:\d\d:\d\d\]", p) for p in no_times)
    assert f"Speaker 2\n{LINES[2][2]}" in no_times
    neither = read_docx(render(make_result(), "docx", ExportOptions(include_speakers=False, include_timestamps=False)))
    assert not any("Speaker" in p for p in neither)
    assert neither[-len(LINES) :] == [text for _, _, text in LINES]  # one paragraph per segment
    assert neither[0] == "Transcript" and not any(p.startswith("File:") for p in neither)


def test_docx_of_an_undiarized_result() -> None:
    paragraphs = read_docx(render(make_result(diarized=False), "docx", title="talk.wav"))
    assert not any("Speaker" in p or "SPEAKER" in p for p in paragraphs)
    assert f"[00:00:04]\n{LINES[1][2]}" in paragraphs


# --- reviewed transcripts: speaker names and edited words ----------------------------------------------------


def named_result() -> TranscriptionResult:
    result = make_result()
    result.speaker_names = {"SPEAKER_00": "Dr. Chen"}
    return result


def test_a_speaker_named_in_review_shows_in_every_format_people_read() -> None:
    result = named_result()
    assert export(result, "txt").split("\n\n")[1] == (
        "Speaker 2\n[00:00:06.500 --> 00:00:08.900] Thank you, I have three points today."
    )
    plain = export(result, "txt", ExportOptions(include_timestamps=False))
    assert plain.splitlines()[0] == f"[Dr. Chen]: {LINES[0][2]} {LINES[1][2]}"
    cues = parse_srt(export(result, "srt"))
    assert [cue.lines[0].split("]: ")[0] for cue in cues] == ["[Dr. Chen", "[Dr. Chen", "[Speaker 2", "[Dr. Chen"]
    vtt = export(result, "vtt", ExportOptions(max_line_width=24, max_line_count=1))
    assert "\n[Dr. Chen]: Wonderful,\n" in vtt and "SPEAKER" not in vtt
    paragraphs = read_docx(render(result, "docx"))
    assert "Speakers: Dr. Chen (9 s), Speaker 2 (2 s)" in paragraphs
    assert f"Dr. Chen [01:02:05]\n{LINES[3][2]}" in paragraphs
    # json is the result itself: the labels, and the names beside them.
    data = json.loads(export(result, "json"))
    assert data["segments"][0]["speaker"] == "SPEAKER_00" and data["speaker_names"] == {"SPEAKER_00": "Dr. Chen"}
    assert export(result, "tsv") == export(make_result(), "tsv")  # no speaker column in WhisperX's layout


def test_rttm_carries_reviewed_names_that_tools_still_parse(tmp_path: Path) -> None:
    from pyannote.database.util import load_rttm

    result = named_result()
    lines = export(result, "rttm").splitlines()
    assert lines[0] == "SPEAKER audio 1 0.000 3.100 <NA> <NA> Dr._Chen <NA> <NA>"
    assert lines[2] == "SPEAKER audio 1 6.500 2.400 <NA> <NA> SPEAKER_01 <NA> <NA>"  # unnamed: the label
    path = tmp_path / "named.rttm"
    path.write_text("\n".join(lines) + "\n")
    annotation = load_rttm(str(path))["audio"]
    assert sorted(annotation.labels()) == ["Dr._Chen", "SPEAKER_01"]
    assert annotation.label_duration("Dr._Chen") == pytest.approx(3.1 + 2.05 + 1.7)


def test_rttm_keeps_two_speakers_apart_when_their_names_would_read_the_same() -> None:
    result = make_result()
    result.speaker_names = {"SPEAKER_00": "Ann Lee", "SPEAKER_01": "Ann_Lee"}
    fields = {line.split()[7] for line in export(result, "rttm").splitlines()}
    assert fields == {"Ann_Lee_SPEAKER_00", "Ann_Lee_SPEAKER_01"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_edited_words_without_a_score_export_in_every_format(fmt: str) -> None:
    result = make_result()
    first = result.segments[0]
    first.words[1] = first.words[1].model_copy(update={"word": "evening", "score": None, "edited": True})
    first.text = first.text.replace("morning", "evening")
    data = render(result, fmt)
    if fmt in ("txt", "srt", "vtt"):
        assert "Good evening everyone" in data.decode()
    if fmt == "json":
        assert json.loads(data)["segments"][0]["words"][1] == {**first.words[1].model_dump(), "score": None}
    if fmt == "docx":
        assert any(p.endswith(f"Good evening everyone, welcome to the weekly planning meeting. {LINES[1][2]}")
                   for p in read_docx(data))  # fmt: skip


@pytest.mark.parametrize(
    ("word", "options"),
    [
        ("four", ExportOptions()),
        ("seven", ExportOptions(max_line_width=16, max_line_count=1)),  # as long as "three": the same wrapping
    ],
)
def test_a_corrected_word_changes_only_that_word(word: str, options: ExportOptions) -> None:
    result = make_result()
    corrected = result.model_copy(deep=True)
    segment = corrected.segments[2]
    segment.words[4] = segment.words[4].model_copy(update={"word": word, "score": None, "edited": True})
    segment.text = segment.text.replace("three", word)
    for fmt in ("srt", "vtt", "txt"):
        before, after = export(result, fmt, options), export(corrected, fmt, options)
        assert before != after and after.replace(word, "three") == before  # every time and every other word kept


# --- export_jobs -----------------------------------------------------------------------------------------


def test_export_jobs_names_files_after_the_job(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "folder"
    summary = export_jobs([("meeting.mp3", make_result())], folder, ["txt", "docx", "srt"])
    assert summary.written == [folder / "meeting.txt", folder / "meeting.docx", folder / "meeting.srt"]
    assert summary.skipped == []
    assert (folder / "meeting.txt").read_text(encoding="utf-8") == export(make_result(), "txt")
    assert "meeting.mp3" in read_docx((folder / "meeting.docx").read_bytes())


def test_a_docx_says_when_it_was_transcribed_and_that_stt_studio_wrote_it(tmp_path: Path) -> None:
    transcribed = datetime(2025, 11, 2, 17, 5)  # naive, as the job store keeps them: UTC
    summary = export_jobs([ExportItem("meeting.mp3", make_result(), transcribed)], tmp_path, ["docx"])
    document = docx.Document(str(summary.written[0]))
    local = transcribed.replace(tzinfo=timezone.utc).astimezone()
    paragraphs = [p.text for p in document.paragraphs]
    assert f"Transcribed: {local:%Y-%m-%d %H:%M}" in paragraphs, paragraphs
    assert not any(p.startswith("Date:") for p in paragraphs)  # the time of the export is not the transcript's
    properties = document.core_properties
    assert (properties.title, properties.author, properties.last_modified_by) == ("meeting.mp3", APP_AUTHOR, APP_AUTHOR)
    assert "python-docx" not in f"{properties.author} {properties.comments}"
    assert properties.created == transcribed.replace(tzinfo=timezone.utc)


def test_export_jobs_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "meeting.txt").write_text("mine")
    (tmp_path / "meeting (2).txt").write_text("mine too")
    items = [("meeting.mp3", make_result()), ("meeting.wav", make_result(diarized=False))]
    summary = export_jobs(items, tmp_path, ["txt"], ExportOptions(include_timestamps=False))
    assert summary.written == [tmp_path / "meeting (3).txt", tmp_path / "meeting (4).txt"]
    assert (tmp_path / "meeting.txt").read_text() == "mine"
    assert (tmp_path / "meeting (2).txt").read_text() == "mine too"
    assert (tmp_path / "meeting (4).txt").read_text().startswith("Good morning")


def test_export_jobs_skips_rttm_of_undiarized_results(tmp_path: Path) -> None:
    items = [("a.wav", make_result()), ("b.wav", make_result(diarized=False))]
    summary = export_jobs(items, tmp_path, ["rttm", "json"])
    assert summary.written == [tmp_path / "a.rttm", tmp_path / "a.json", tmp_path / "b.json"]
    assert len(summary.skipped) == 1
    name, reason = summary.skipped[0]
    assert name == "b.wav" and "rttm" in reason and "diarized" in reason
    assert not (tmp_path / "b.rttm").exists()


def test_export_jobs_checks_formats_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_jobs([("a.wav", make_result())], tmp_path, ["txt", "pdf"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("meeting.mp3", "meeting"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\talk.final.wav", "talk.final"),
        ('a<b>:"c"?.wav', "a_b_c_"),
        ("réunion du 3 mai.m4a", "réunion du 3 mai"),
        ("...", "transcript"),
        (None, "transcript"),
    ],
)
def test_safe_stem(name: str | None, stem: str) -> None:
    assert safe_stem(name) == stem
