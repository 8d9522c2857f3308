"""The reviewed transcript through the REST API and the CLI, run for real: ``serve`` with a tiny.en worker
diarizes a two-voice espeak-ng dialogue; a word is corrected and a speaker renamed with PUT /jobs/{id}/transcript;
every export (API and ``stt-studio export``) and GET /jobs/{id} carry it; versions (ETag / If-Match) keep two
editors from overwriting each other; DELETE reverts to the engine's output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest

from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.speakers import merge_speakers, rename_speaker
from stt_studio.exports import FORMATS, ExportFormat
from tests import live
from tests.conftest import LiveService
from tests.speech import SENTENCES, Dialogue, dialogue, speech_clip
from tests.test_exports import make_result

pytestmark = pytest.mark.slow

UNKNOWN_JOB = "00000000-0000-0000-0000-000000000000"
NEW_WORD = "Xylophone"
NAME = "Dr. Chen"


@pytest.fixture(scope="module")
def talk(audio_dir: Path) -> Dialogue:
    lines = [(0, SENTENCES[0]), (1, SENTENCES[1]), (0, SENTENCES[2]), (1, SENTENCES[3])]
    return dialogue(audio_dir / "review", lines, "review")


@pytest.fixture(scope="module")
def diarized_job(service: LiveService, talk: Dialogue) -> str:
    job_id = live.submit(service.url, talk.path, enable_diarization="true")
    job = live.wait_job(service.url, job_id, timeout=900)
    assert job["status"] == "completed", job
    assert len(job["result"]["speakers"]) == 2, job["result"]["speakers"]
    return job_id


@pytest.fixture
def job(service: LiveService, diarized_job: str) -> Iterator[str]:
    """The diarized job, back at the engine's transcript before and after each test."""

    def revert() -> httpx.Response:
        return httpx.delete(_url(service, diarized_job), headers={"If-Match": "*"}, timeout=10)

    assert revert().status_code == 200
    yield diarized_job
    revert()


def _url(service: LiveService, job_id: str, suffix: str = "/transcript") -> str:
    return f"{service.url}/jobs/{job_id}{suffix}"


def read(service: LiveService, job_id: str) -> tuple[TranscriptionResult, str]:
    response = httpx.get(_url(service, job_id), timeout=10)
    assert response.status_code == 200, response.text
    return TranscriptionResult.model_validate_json(response.content), response.headers["ETag"]


def put(service: LiveService, job_id: str, body: Any, if_match: str | None) -> httpx.Response:
    headers = {"If-Match": if_match} if if_match is not None else {}
    content = body.model_dump_json() if isinstance(body, TranscriptionResult) else json.dumps(body)
    headers["Content-Type"] = "application/json"
    return httpx.put(_url(service, job_id), content=content, headers=headers, timeout=30)


def exported(service: LiveService, job_id: str, fmt: str) -> bytes:
    response = httpx.get(_url(service, job_id, "/export"), params={"format": fmt}, timeout=60)
    assert response.status_code == 200, response.text
    return response.content


def docx_paragraphs(data: bytes) -> list[str]:
    return [paragraph.text for paragraph in docx.Document(io.BytesIO(data)).paragraphs]


def corrected(result: TranscriptionResult) -> tuple[TranscriptionResult, str, str]:
    """``result`` with one word corrected (the first word of four letters or more, as the editor changes it: the
    word, unscored and marked edited, and its segment's text) and the first segment's speaker named. Returns the
    new result, the replaced word and the default name the speaker had."""
    edited = result.model_copy(deep=True)
    segment = edited.segments[0]
    index, old = next((i, w.word) for i, w in enumerate(segment.words) if len(w.word) >= 4 and w.word.isalpha())
    segment.words[index] = segment.words[index].model_copy(update={"word": NEW_WORD, "score": None, "edited": True})
    segment.text = re.sub(rf"\b{re.escape(old)}\b", NEW_WORD, segment.text, count=1)
    assert segment.speaker is not None
    default_name = result.speaker_name(segment.speaker)
    return rename_speaker(edited, segment.speaker, NAME), old, default_name


def run_cli(service: LiveService, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "stt_studio", "export", *args],
        capture_output=True,
        env={**service.env, "TERMINAL_WIDTH": "500"},
        timeout=300,
    )


# --- a corrected word and a renamed speaker, carried everywhere ---------------------------------------------------


def test_a_put_reaches_the_job_every_export_and_the_cli(service: LiveService, job: str) -> None:
    original, etag = read(service, job)
    before = {fmt: exported(service, job, fmt) for fmt in FORMATS}
    edited, old_word, default_name = corrected(original)

    response = put(service, job, edited, etag)
    assert response.status_code == 200, response.text
    new_etag = response.headers["ETag"]
    assert response.headers["X-Transcript-Reviewed"] == "true"
    assert new_etag != etag and re.fullmatch(r'"[0-9a-f]{32}"', new_etag)
    saved = TranscriptionResult.model_validate_json(response.content)
    assert saved.text == " ".join(s.text for s in edited.segments)  # rebuilt from the segments
    assert saved.model_copy(update={"text": edited.text}) == edited
    assert read(service, job) == (saved, new_etag)

    # GET /jobs/{id}: the reviewed result, and says so; the engine's output is still there, unchanged.
    view = httpx.get(f"{service.url}/jobs/{job}", timeout=10).json()
    assert view["reviewed"] is True and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", view["reviewed_at"])
    assert TranscriptionResult.model_validate(view["result"]) == saved and NEW_WORD in view["result"]["text"]
    assert view["result"]["speaker_names"] == {edited.segments[0].speaker: NAME}
    assert httpx.get(_url(service, job), timeout=10).headers["X-Transcript-Reviewed"] == "true"
    first = httpx.get(_url(service, job, "/transcript/original"), timeout=10)
    assert first.headers["ETag"] == etag and first.headers["X-Transcript-Reviewed"] == "false"
    assert TranscriptionResult.model_validate_json(first.content) == original

    # Every text export: only the word and the name changed; every time, every other word as before.
    after = {fmt: exported(service, job, fmt) for fmt in FORMATS}
    for fmt in ("srt", "vtt", "txt"):
        text = after[fmt].decode()
        assert NEW_WORD in text and NAME in text and "SPEAKER_" not in text
        assert text.replace(NEW_WORD, old_word, 1).replace(NAME, default_name) == before[fmt].decode(), fmt
    assert after["tsv"].decode().replace(NEW_WORD, old_word, 1) == before["tsv"].decode()
    assert f" {NAME.replace(' ', '_')} " in after["rttm"].decode()
    data = json.loads(after["json"])
    assert data["speaker_names"] == {edited.segments[0].speaker: NAME}
    old_words = [w for s in original.segments for w in s.words]
    new_words = [w for s in TranscriptionResult.model_validate(data).segments for w in s.words]
    assert [(w.start, w.end, w.speaker) for w in new_words] == [(w.start, w.end, w.speaker) for w in old_words]
    changed = [(a.word, b.word) for a, b in zip(old_words, new_words, strict=True) if a != b]
    assert changed == [(old_word, NEW_WORD)]
    paragraphs = docx_paragraphs(after["docx"])
    assert any(NAME in p and NEW_WORD in p for p in paragraphs)
    assert [p.replace(NEW_WORD, old_word, 1).replace(NAME, default_name) for p in paragraphs] == docx_paragraphs(
        before["docx"]
    )

    # The CLI reads the same reviewed transcript from the data dir; --original the engine's. (One process a format,
    # so the formats that came later, which take txt's path through the CLI, are left to the nvivo run below.)
    cli_formats: tuple[ExportFormat, ...] = ("json", "txt", "srt", "vtt", "tsv", "rttm", "docx")
    for fmt in cli_formats:
        proc = run_cli(service, job, "--format", fmt)
        assert proc.returncode == 0, proc.stderr.decode()
        if fmt == "docx":
            assert docx_paragraphs(proc.stdout) == paragraphs
        else:
            assert proc.stdout == after[fmt], fmt
    proc = run_cli(service, job, "-f", "srt", "--original")
    assert proc.returncode == 0 and proc.stdout == before["srt"]


def test_cli_writes_a_file_or_into_a_folder(service: LiveService, job: str, tmp_path: Path) -> None:
    edited, _, _ = corrected(read(service, job)[0])
    assert put(service, job, edited, "*").status_code == 200
    proc = run_cli(service, job, "-f", "docx", "-o", str(tmp_path / "mine.docx"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"" and "Wrote" in proc.stderr.decode()
    paragraphs = docx_paragraphs((tmp_path / "mine.docx").read_bytes())
    assert paragraphs[0] == "review.wav" and any(NAME in p for p in paragraphs)
    proc = run_cli(service, job, "-f", "vtt", "--no-speakers", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    vtt = (tmp_path / "review.vtt").read_text()
    assert vtt.startswith("WEBVTT") and NEW_WORD in vtt and NAME not in vtt
    proc = run_cli(service, job, "-f", "nvivo", "-o", str(tmp_path))  # named by the file ending NVivo opens
    assert proc.returncode == 0, proc.stderr.decode()
    rows = (tmp_path / "review.nvivo.txt").read_text().splitlines()
    assert rows[0] == "Timespan\tSpeaker\tContent" and any(f"\t{NAME}\t" in row for row in rows[1:])


def test_merging_two_speakers_leaves_one(service: LiveService, job: str) -> None:
    original, etag = read(service, job)
    assert original.speakers is not None
    keep, drop = (s.speaker for s in original.speakers)
    merged = merge_speakers(rename_speaker(original, keep, NAME), drop, keep)
    assert put(service, job, merged, etag).status_code == 200
    view = httpx.get(f"{service.url}/jobs/{job}", timeout=10).json()
    assert [s["speaker"] for s in view["result"]["speakers"]] == [keep]
    srt = exported(service, job, "srt").decode()
    assert set(re.findall(r"^\[([^]]+)\]: ", srt, re.M)) == {NAME}
    assert {line.split()[7] for line in exported(service, job, "rttm").decode().splitlines()} == {"Dr._Chen"}


# --- versions ------------------------------------------------------------------------------------------------------


def test_a_stale_version_gets_412_with_the_current_one(service: LiveService, job: str) -> None:
    original, etag = read(service, job)
    edited, _, _ = corrected(original)
    current = put(service, job, edited, etag).headers["ETag"]
    other = rename_speaker(original, original.segments[-1].speaker or "", "Someone else")
    stale = put(service, job, other, etag)
    assert stale.status_code == 412
    assert stale.json()["etag"] == current == stale.headers["ETag"]
    assert "changed since you read it" in stale.json()["detail"]
    again = put(service, job, edited, current)  # the same content again is the same version
    assert again.status_code == 200 and again.headers["ETag"] == current
    missing = put(service, job, other, None)
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    assert put(service, job, other, "*").status_code == 200  # * replaces whatever is stored


def test_of_two_editors_saving_at_once_one_gets_412(service: LiveService, job: str) -> None:
    original, etag = read(service, job)
    label = original.segments[0].speaker or ""
    bodies = [rename_speaker(original, label, name) for name in ("Editor A", "Editor B")]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda body: put(service, job, body, etag), bodies))
    assert sorted(a.status_code for a in answers) == [200, 412]
    winner = next(body for body, a in zip(bodies, answers, strict=True) if a.status_code == 200)
    assert read(service, job)[0].speaker_names == winner.speaker_names


def test_delete_reverts_to_the_engine_output(service: LiveService, job: str) -> None:
    original, etag = read(service, job)
    srt = exported(service, job, "srt")
    edited, _, _ = corrected(original)
    current = put(service, job, edited, etag).headers["ETag"]
    assert httpx.delete(_url(service, job), timeout=10).status_code == 428
    stale = httpx.delete(_url(service, job), headers={"If-Match": etag}, timeout=10)
    assert stale.status_code == 412 and stale.json()["etag"] == current
    reverted = httpx.delete(_url(service, job), headers={"If-Match": current}, timeout=10)
    assert reverted.status_code == 200 and reverted.headers["ETag"] == etag
    assert reverted.headers["X-Transcript-Reviewed"] == "false"
    assert httpx.get(_url(service, job), timeout=10).headers["X-Transcript-Reviewed"] == "false"
    assert TranscriptionResult.model_validate_json(reverted.content) == original
    view = httpx.get(f"{service.url}/jobs/{job}", timeout=10).json()
    assert view["reviewed"] is False and view["reviewed_at"] is None
    assert TranscriptionResult.model_validate(view["result"]) == original
    assert exported(service, job, "srt") == srt


def test_if_none_match_answers_304_while_the_version_is_current(service: LiveService, job: str) -> None:
    _, etag = read(service, job)
    unchanged = httpx.get(_url(service, job), headers={"If-None-Match": etag}, timeout=10)
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == etag and unchanged.content == b""
    assert httpx.get(_url(service, job), headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200


# --- what is refused -----------------------------------------------------------------------------------------------


def _invalid(original: TranscriptionResult, case: str) -> Any:
    body: dict[str, Any] = original.model_dump()
    if case == "not a result":
        return {"text": "hello"}
    if case == "word past the end":
        body["segments"][-1]["words"][-1]["end"] = original.duration + 5
    elif case == "start after end":
        body["segments"][1]["start"] = body["segments"][1]["end"] + 1
    elif case == "out of order":
        body["segments"][0], body["segments"][1] = body["segments"][1], body["segments"][0]
    elif case == "a wrong type":
        body["segments"][0]["words"][0]["start"] = "soon"
    return body


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("not a result", r"language: Field required"),
        ("word past the end", r"segments\[\d+\]\.words\[\d+\]: end [\d.]+ is past the end of the audio"),
        ("start after end", r"segments\[1\]: start [\d.]+ is after end"),
        ("out of order", r"segments\[1\]: starts at [\d.]+, before the segment ahead of it"),
        ("a wrong type", r"segments\.0\.words\.0\.start: Input should be a valid number"),
    ],
)
def test_an_invalid_body_gets_422_with_the_reason(service: LiveService, job: str, case: str, reason: str) -> None:
    original, etag = read(service, job)
    response = put(service, job, _invalid(original, case), etag)
    assert response.status_code == 422
    assert re.search(reason, response.json()["detail"]), response.json()
    assert read(service, job) == (original, etag)  # nothing stored


def test_a_body_that_is_not_json_gets_422(service: LiveService, job: str) -> None:
    _, etag = read(service, job)
    response = httpx.put(_url(service, job), content=b"{not json", headers={"If-Match": etag,
                         "Content-Type": "application/json"}, timeout=10)  # fmt: skip
    assert response.status_code == 422 and "JSON" in response.json()["detail"]


def test_unknown_jobs_get_404(service: LiveService) -> None:
    for answer in (
        httpx.get(_url(service, UNKNOWN_JOB), timeout=10),
        httpx.get(_url(service, "no-such-job", "/transcript/original"), timeout=10),
        put(service, UNKNOWN_JOB, make_result(), "*"),
        httpx.delete(_url(service, UNKNOWN_JOB), headers={"If-Match": "*"}, timeout=10),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"].startswith("Job not found")
    proc = run_cli(service, UNKNOWN_JOB, "-f", "txt")
    assert proc.returncode == 1 and f"Job not found: {UNKNOWN_JOB}" in proc.stderr.decode()
    proc = run_cli(service, "../../etc/passwd")
    assert proc.returncode == 1 and "Job not found" in proc.stderr.decode()


def test_cli_refuses_an_unknown_format_and_bad_options(service: LiveService, diarized_job: str) -> None:
    proc = run_cli(service, diarized_job, "-f", "pdf")
    assert proc.returncode == 2 and "'pdf' is not one of" in proc.stderr.decode()
    proc = run_cli(service, diarized_job, "-f", "srt", "--max-line-count", "2")
    assert proc.returncode == 2 and "needs max_line_width" in proc.stderr.decode()


def test_jobs_without_a_transcript_get_409(service: LiveService, audio_dir: Path, short_wav: Path) -> None:
    blocker = live.submit(service.url, speech_clip(audio_dir / "review-blocker", SENTENCES * 2, "blocker"))
    queued = live.submit(service.url, short_wav)
    try:
        for answer in (
            httpx.get(_url(service, queued), timeout=10),
            httpx.delete(_url(service, queued), headers={"If-Match": "*"}, timeout=10),
        ):
            assert answer.status_code == 409 and "has not finished" in answer.json()["detail"], answer.text
        proc = run_cli(service, queued, "-f", "txt")
        assert proc.returncode == 1 and "has not finished" in proc.stderr.decode()
        assert httpx.get(f"{service.url}/jobs/{queued}", timeout=10).json()["status"] == "queued"  # all along
        assert httpx.post(f"{service.url}/jobs/{queued}/cancel", timeout=10).json()["status"] == "canceled"
        answer = httpx.get(_url(service, queued, "/transcript/original"), timeout=10)
        assert answer.status_code == 409 and answer.json()["detail"] == (
            f"Job {queued} is canceled; only completed jobs have a transcript"
        )
        proc = run_cli(service, queued)
        assert proc.returncode == 1 and "is canceled" in proc.stderr.decode()
    finally:
        for job_id in (queued, blocker):
            httpx.delete(f"{service.url}/jobs/{job_id}", timeout=60)


def test_the_openapi_document_describes_the_transcript_endpoints(service: LiveService) -> None:
    paths = httpx.get(f"{service.url}/openapi.json", timeout=10).json()["paths"]
    put_doc = paths["/jobs/{job_id}/transcript"]["put"]
    assert {"200", "404", "409", "412", "422", "428"} <= set(put_doc["responses"])
    assert any(p["name"] == "if-match" and p["in"] == "header" for p in put_doc["parameters"])
    assert "/jobs/{job_id}/transcript/original" in paths
    assert {"200", "404", "409", "412", "428"} <= set(paths["/jobs/{job_id}/transcript"]["delete"]["responses"])


def test_cli_needs_no_running_service(service: LiveService, diarized_job: str, tmp_path: Path) -> None:
    """The export reads the data dir: with the Redis settings pointing nowhere it still works."""
    env = {**service.env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    proc = subprocess.run(
        [sys.executable, "-m", "stt_studio", "export", diarized_job, "-f", "txt"],
        capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode() == exported(service, diarized_job, "txt").decode()
