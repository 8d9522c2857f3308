"""docx and the export options through the CLI (``stt-studio transcribe``) and the API (``GET /jobs/{id}/export``),
run for real on espeak-ng speech with tiny.en, the documents read back with python-docx."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import docx
import httpx
import pytest
from typer.testing import CliRunner

from stt_studio.api.routers.jobs import _attachment
from stt_studio.cli import app
from stt_studio.exports import FORMATS, MEDIA_TYPES
from tests import live
from tests.conftest import LiveService
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, wer

TIMESTAMP = re.compile(r"\[\d\d:\d\d:\d\d\]")


def run_cli(*args: str, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "stt_studio", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, "WHISPER_DEVICE": "cpu", "TERMINAL_WIDTH": "500"},  # error boxes unwrapped
        timeout=600,
    )


def docx_paragraphs(data: bytes) -> list[str]:
    return [paragraph.text for paragraph in docx.Document(io.BytesIO(data)).paragraphs]


def transcript_of(paragraphs: list[str]) -> str:
    """The spoken text of an exported docx: the paragraphs after the "Transcript" heading, less their time line."""
    body = paragraphs[paragraphs.index("Transcript") + 1 :]
    return " ".join(TIMESTAMP.sub("", p.split("\n", 1)[-1]) for p in body)


def subtitle_lines(srt: str) -> list[str]:
    return [line for line in srt.splitlines() if line and not line.isdigit() and "-->" not in line]


# --- CLI ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_docx_to_an_output_dir(short_wav: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "transcribe", str(short_wav), "--model", "tiny.en", "-f", "docx", "-o", str(tmp_path), "--no-timestamps"
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""
    paragraphs = docx_paragraphs((tmp_path / "short.docx").read_bytes())
    assert paragraphs[0] == "short.wav" and "Model: tiny.en" in paragraphs
    assert not any(TIMESTAMP.search(p) for p in paragraphs)
    assert wer(SHORT_TEXT, transcript_of(paragraphs)) <= SHORT_CLIP_WER_BOUND


@pytest.mark.slow
def test_cli_docx_to_a_pipe(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "--model", "tiny.en", "-f", "docx")
    assert proc.returncode == 0, proc.stderr.decode()
    paragraphs = docx_paragraphs(proc.stdout)
    assert TIMESTAMP.search(paragraphs[paragraphs.index("Transcript") + 1])
    assert wer(SHORT_TEXT, transcript_of(paragraphs)) <= SHORT_CLIP_WER_BOUND


@pytest.mark.slow
def test_cli_srt_line_width(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "--model", "tiny.en", "-f", "srt", "--max-line-width", "20")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = subtitle_lines(proc.stdout.decode())
    assert all(len(line) <= 20 for line in lines), lines
    assert wer(SHORT_TEXT, " ".join(lines)) <= SHORT_CLIP_WER_BOUND


def test_cli_refuses_docx_to_a_terminal(short_wav: Path) -> None:
    leader, follower = pty.openpty()
    try:
        proc = run_cli("transcribe", str(short_wav), "-f", "docx", stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    assert "docx is a binary format: give a directory with -o" in " ".join(proc.stderr.decode().split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-line-count", "2"], "max_line_count needs max_line_width"),
        (["--max-line-width", "0"], "Invalid value for '--max-line-width': Input should be greater than or equal to 1"),
    ],
)
def test_cli_bad_export_options_are_usage_errors(short_wav: Path, args: list[str], message: str) -> None:
    proc = run_cli("transcribe", str(short_wav), *args)
    assert proc.returncode == 2
    assert message in " ".join(proc.stderr.decode().split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--speaker-dash", "--no-speakers"],
            "speaker_dash needs include_speakers: the dash marks a change of speaker",
        ),
        (["--min-duration", "8", "--max-duration", "7"], "min_cue_seconds (8) is longer than max_cue_seconds (7)"),
        (["--balance-lines"], "balance_lines needs max_line_width"),
    ],
)
def test_cli_contradicting_subtitle_rules_are_usage_errors(args: list[str], message: str) -> None:
    """In process (the options are checked before the data dir is read): exit 2 and the reason, no traceback."""
    result = CliRunner().invoke(app, ["export", "no-such-job", "-f", "srt", *args], env={"TERMINAL_WIDTH": "500"})
    assert result.exit_code == 2, result.output
    # rich draws the error in a box as wide as the console it made first in this process: read it without the box
    assert message in " ".join(result.output.replace("│", " ").split()) and "Traceback" not in result.output


def test_cli_offers_every_format(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "-f", "pdf")
    assert proc.returncode == 2
    assert "is not one of " + ", ".join(f"'{fmt}'" for fmt in FORMATS) in " ".join(proc.stderr.decode().split())


# --- API ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_job(service: LiveService, short_wav: Path) -> str:
    job_id = live.submit(service.url, short_wav)
    assert live.wait_job(service.url, job_id)["status"] == "completed"
    return job_id


def get_export(service: LiveService, job_id: str, **params: str | int | bool) -> httpx.Response:
    return httpx.get(f"{service.url}/jobs/{job_id}/export", params=params, timeout=60)


@pytest.mark.slow
def test_api_offers_every_format(service: LiveService) -> None:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/jobs/{job_id}/export"]["get"]["parameters"]}
    assert parameters["format"]["schema"]["enum"] == list(FORMATS)
    assert {"include_speakers", "include_timestamps", "max_line_width", "max_line_count"} <= set(parameters)
    rules = {"min_cue_seconds", "max_cue_seconds", "max_chars_per_second", "balance_lines", "split_sentences"}
    assert rules | {"speaker_dash", "max_silence_seconds", "subtitle_guideline"} <= set(parameters)


@pytest.mark.slow
def test_api_docx(service: LiveService, finished_job: str) -> None:
    response = get_export(service, finished_job, format="docx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPES["docx"]
    assert response.headers["content-disposition"] == 'attachment; filename="short.docx"'
    paragraphs = docx_paragraphs(response.content)
    assert paragraphs[0] == "short.wav" and "Language: en" in paragraphs
    assert TIMESTAMP.search(paragraphs[paragraphs.index("Transcript") + 1])
    assert wer(SHORT_TEXT, transcript_of(paragraphs)) <= SHORT_CLIP_WER_BOUND


@pytest.mark.slow
def test_api_docx_without_timestamps(service: LiveService, finished_job: str) -> None:
    response = get_export(service, finished_job, format="docx", include_timestamps=False)
    assert response.status_code == 200, response.text
    paragraphs = docx_paragraphs(response.content)
    assert not any(TIMESTAMP.search(p) for p in paragraphs)
    assert wer(SHORT_TEXT, transcript_of(paragraphs)) <= SHORT_CLIP_WER_BOUND


@pytest.mark.slow
def test_api_text_formats_take_the_options(service: LiveService, finished_job: str) -> None:
    srt = get_export(service, finished_job, format="srt", max_line_width=20, max_line_count=1)
    assert srt.status_code == 200 and srt.headers["content-type"].startswith(MEDIA_TYPES["srt"])
    lines = subtitle_lines(srt.text)
    assert all(len(line) <= 20 for line in lines) and len(lines) == srt.text.count("-->")
    txt = get_export(service, finished_job, format="txt", include_timestamps=False).text
    assert "-->" not in txt and wer(SHORT_TEXT, txt) <= SHORT_CLIP_WER_BOUND
    assert re.match(
        r"\[00:00:\d\d\.\d{3} --> 00:00:\d\d\.\d{3}\] ", get_export(service, finished_job, format="txt").text
    )


@pytest.mark.slow
def test_api_tool_formats_and_subtitle_rules(service: LiveService, finished_job: str) -> None:
    nvivo = get_export(service, finished_job, format="nvivo")
    assert nvivo.status_code == 200 and nvivo.headers["content-type"].startswith("text/plain")
    header, *rows = nvivo.text.splitlines()
    assert header == "Timespan\tSpeaker\tContent" and rows
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d-\d\d:\d\d:\d\d\.\d\t\t.+", row) for row in rows), rows
    assert wer(SHORT_TEXT, " ".join(row.split("\t")[2] for row in rows)) <= SHORT_CLIP_WER_BOUND
    page = get_export(service, finished_job, format="html")
    assert page.headers["content-type"].startswith("text/html") and 'src="short.wav"' in page.text
    assert 'href="short.wav#t=0.' in page.text
    spoken = re.sub(r"<[^>]+>|\d\d:\d\d:\d\d", " ", page.text.split("<main>")[1].split("</main>")[0])
    assert wer(SHORT_TEXT, spoken) <= SHORT_CLIP_WER_BOUND
    srt = get_export(service, finished_job, format="srt", subtitle_guideline=True, max_chars_per_second=12)
    assert srt.status_code == 200, srt.text
    lines = subtitle_lines(srt.text)
    assert all(len(line) <= 42 for line in lines) and wer(SHORT_TEXT, " ".join(lines)) <= SHORT_CLIP_WER_BOUND


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "srt", "speaker_dash": True, "include_speakers": False}, "speaker_dash needs include_speakers"),
        ({"format": "srt", "min_cue_seconds": 3, "max_cue_seconds": 2}, "min_cue_seconds (3) is longer than"),
        ({"format": "vtt", "balance_lines": True}, "balance_lines needs max_line_width"),
    ],
)
def test_api_conflicting_subtitle_rules_are_400(
    service: LiveService, finished_job: str, params: dict[str, str | int], message: str
) -> None:
    response = get_export(service, finished_job, **params)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "srt", "max_chars_per_second": 0}, "greater than 0"),
        ({"format": "srt", "max_line_width": 0}, "greater than or equal to 1"),
        ({"format": "srt", "max_line_width": 10, "max_line_count": 0}, "greater than or equal to 1"),
        ({"format": "srt", "max_line_count": 2}, "max_line_count needs max_line_width"),
        ({"format": "pdf"}, "'nvivo', 'exmaralda', 'html' or 'csv'"),
    ],
)
def test_api_bad_export_options_are_422(
    service: LiveService, finished_job: str, params: dict[str, str | int], message: str
) -> None:
    response = get_export(service, finished_job, **params)
    assert response.status_code == 422, response.text
    assert message in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("stem", "header"),
    [
        ("short", 'attachment; filename="short.docx"'),
        ("réunion (2)", "attachment; filename=\"reunion (2).docx\"; filename*=UTF-8''r%C3%A9union%20%282%29.docx"),
        ("会議", "attachment; filename=\"transcript.docx\"; filename*=UTF-8''%E4%BC%9A%E8%AD%B0.docx"),
    ],
)
def test_download_names_are_safe_in_the_header(stem: str, header: str) -> None:
    assert _attachment(stem, "docx") == header
