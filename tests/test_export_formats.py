"""The transcript formats for analysis tools, html and csv, each read back by a parser of its format (the csv
module, html.parser, webvtt-py) or checked line by line against the grammar its tool documents (docs/exports.md),
with the speakers and times of a hand-made two-speaker result."""

from __future__ import annotations

import csv
import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import webvtt

from stt_studio.engine.result import TranscriptionResult
from stt_studio.exports import EXTENSIONS, ExportOptions, export, export_jobs, render
from tests.test_exports import LINES, SHOWN, make_result

TENTHS = r"(\d\d):(\d\d):(\d\d)\.(\d)"


def tenths(match: tuple[str, ...]) -> float:
    hours, minutes, seconds, tenth = (int(part) for part in match)
    return hours * 3600 + minutes * 60 + seconds + tenth / 10


def expected(result: TranscriptionResult) -> list[tuple[str, float, float, str]]:
    """(speaker as shown, start, end, text) of each segment."""
    return [
        (SHOWN[s.speaker] if s.speaker else "", s.start, s.end, s.text.strip()) for s in result.segments
    ]  # fmt: skip


def test_maxqda_paragraphs_open_with_time_then_speaker() -> None:
    text = export(make_result(), "maxqda")
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == len(LINES)
    grammar = re.compile(rf"\[{TENTHS}\](?:([^:\s][^:]*): )?(.+)\n?")  # no space around the time
    for paragraph, (speaker, start, _end, words) in zip(paragraphs, expected(make_result()), strict=True):
        match = grammar.fullmatch(paragraph)
        assert match, paragraph
        assert tenths(match.groups()[:4]) == pytest.approx(start, abs=0.05)
        assert (match.group(5), match.group(6)) == (speaker, words)


def test_atlasti_paragraphs_open_with_a_hash_timestamp() -> None:
    paragraphs = export(make_result(), "atlasti").split("\n\n")
    grammar = re.compile(rf"#{TENTHS}# (?:([^:]+): )?(.+)\n?")
    for paragraph, (speaker, start, _end, words) in zip(paragraphs, expected(make_result()), strict=True):
        match = grammar.fullmatch(paragraph)
        assert match, paragraph
        assert tenths(match.groups()[:4]) == pytest.approx(start, abs=0.05)
        assert (match.group(5), match.group(6)) == (speaker, words)
    assert "Wonderful" in paragraphs[3] and paragraphs[3].startswith("#01:02:05.2# Speaker 1: ")


def test_nvivo_rows_have_a_timespan_speaker_and_content_and_the_same_tabs() -> None:
    lines = export(make_result(), "nvivo").splitlines()
    assert lines[0] == "Timespan\tSpeaker\tContent"
    assert {line.count("\t") for line in lines} == {2}  # NVivo: every line the same number of tabs
    for line, (speaker, start, end, words) in zip(lines[1:], expected(make_result()), strict=True):
        timespan, shown, content = line.split("\t")
        match = re.fullmatch(rf"{TENTHS}-{TENTHS}", timespan)
        assert match, timespan
        assert tenths(match.groups()[:4]) == pytest.approx(start, abs=0.05)
        assert tenths(match.groups()[4:]) == pytest.approx(end, abs=0.05)
        assert (shown, content) == (speaker, words)


def test_exmaralda_is_webvtt_with_the_speaker_as_voice(tmp_path: Path) -> None:
    path = tmp_path / "talk.vtt"
    path.write_text(export(make_result(), "exmaralda"), encoding="utf-8")
    captions = webvtt.read(str(path))
    assert len(captions) == len(LINES)
    for caption, (speaker, start, end, words) in zip(captions.captions, expected(make_result()), strict=True):
        assert caption.voice == speaker
        assert caption.text == words
        assert caption.start_in_seconds + caption.start_time.milliseconds / 1000 == pytest.approx(start, abs=0.002)
        assert caption.end_in_seconds + caption.end_time.milliseconds / 1000 == pytest.approx(end, abs=0.002)


def test_exmaralda_escapes_markup_in_names_and_text(tmp_path: Path) -> None:
    result = make_result()
    result.speaker_names["SPEAKER_00"] = "Ana <Chair> & co"
    result.segments[0].text = " 3 < 4 & 5 > 2 --> yes"
    path = tmp_path / "talk.vtt"
    path.write_text(export(result, "exmaralda"), encoding="utf-8")
    first = webvtt.read(str(path))[0]
    assert first.raw_text.startswith("<v Ana &lt;Chair&gt; &amp; co>")
    assert html.unescape(first.voice or "") == "Ana <Chair> & co"  # webvtt-py leaves character references as they are
    assert html.unescape(first.text) == "3 < 4 & 5 > 2 --> yes"


def test_csv_reads_back_with_the_csv_module() -> None:
    text = export(make_result(), "csv")
    assert text.startswith("speaker,start,end,text\r\n")  # RFC 4180: CRLF
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["speaker"], float(r["start"]), float(r["end"]), r["text"]) for r in rows] == expected(make_result())


def test_csv_quotes_commas_quotes_and_line_breaks() -> None:
    result = make_result()
    result.segments[1].text = ' She said "yes, maybe",\nthen left.'
    rows = list(csv.reader(io.StringIO(export(result, "csv"))))
    assert rows[2][3] == 'She said "yes, maybe", then left.'
    assert all(len(row) == 4 for row in rows)


class _Transcript(HTMLParser):
    """Each segment of the page: its time link's href and data-t, the speaker's name and colour, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[dict[str, str]] = []
        self.styles = ""
        self.audio: dict[str, str | None] | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "p" and found.get("class") == "segment":
            self.segments.append({"style": found.get("style") or "", "speaker": "", "text": ""})
            self._in = "text"
        elif tag == "a" and self._in is not None:
            self.segments[-1] |= {"href": found["href"] or "", "t": found["data-t"] or ""}
            self._in = "time"
        elif tag == "span" and self._in is not None:
            self._in = "speaker"
        elif tag == "style":
            self._in = "style"
        elif tag == "audio":
            self.audio = found

    def handle_endtag(self, tag: str) -> None:
        if tag in ("a", "span") and self._in in ("time", "speaker"):
            self._in = "text"
        elif tag in ("p", "style"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.styles += data
        elif self._in in ("speaker", "text"):
            self.segments[-1][self._in] += data


def test_html_has_speaker_colours_time_links_and_a_print_stylesheet() -> None:
    result = make_result()
    result.speaker_names["SPEAKER_01"] = "Dr. <b>Chen</b>"
    page = _Transcript()
    page.feed(render(result, "html", title="Interview 3 (take 2).wav").decode())
    assert page.audio is not None and page.audio["src"] == "Interview%203%20%28take%202%29.wav"
    assert "@media print" in page.styles
    shown = {**SHOWN, "SPEAKER_01": "Dr. <b>Chen</b>"}
    colours = set()
    for segment, source in zip(page.segments, result.segments, strict=True):
        assert segment["href"] == f"Interview%203%20%28take%202%29.wav#t={source.start:.3f}"
        assert float(segment["t"]) == pytest.approx(source.start)
        assert segment["speaker"] == shown[source.speaker or ""]
        assert segment["text"] == source.text.strip()
        colours.add((source.speaker, segment["style"]))
    assert len(colours) == 2 and len({style for _, style in colours}) == 2  # one colour per speaker


def test_html_without_speakers_or_title() -> None:
    page = _Transcript()
    page.feed(export(make_result(diarized=False), "html"))
    assert page.audio is None
    assert [s["speaker"] for s in page.segments] == ["", "", "", ""]
    assert page.segments[1]["href"] == "#t=4.000"


@pytest.mark.parametrize("fmt", ["maxqda", "atlasti", "nvivo", "exmaralda", "csv", "html"])
def test_no_speakers_when_left_out(fmt: str) -> None:
    text = export(make_result(), fmt, ExportOptions(include_speakers=False))
    assert "Speaker 1" not in text and "Speaker 2" not in text
    assert "Wonderful, then we are done." in text


def test_export_jobs_names_the_tool_formats_by_their_extension(tmp_path: Path) -> None:
    formats = ["maxqda", "atlasti", "nvivo", "exmaralda", "html", "csv"]
    summary = export_jobs([("talk.wav", make_result())], tmp_path, formats)
    assert sorted(p.name for p in summary.written) == sorted(f"talk.{EXTENSIONS[fmt]}" for fmt in formats)
    assert {EXTENSIONS[f] for f in formats} == {
        "maxqda.txt",
        "atlasti.txt",
        "nvivo.txt",
        "exmaralda.vtt",
        "html",
        "csv",
    }


def test_nvivo_keeps_one_row_per_segment_when_the_text_has_tabs_or_line_breaks() -> None:
    result = make_result()
    result.segments[2].text = " Thank you,\tI have\nthree points."
    lines = export(result, "nvivo").splitlines()
    assert len(lines) == len(LINES) + 1 and {line.count("\t") for line in lines} == {2}
    assert lines[3].split("\t")[2] == "Thank you, I have three points."
