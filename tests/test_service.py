"""The queue, worker and REST API, run for real: ``stt-studio serve`` with its embedded Valkey and a worker
process transcribing espeak-ng speech with tiny.en."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from stt_studio.api.uploads import INLINE_CHECK_MAX_BYTES
from stt_studio.jobs.redis_server import EmbeddedRedis
from tests import live
from tests.conftest import CONTRACT_PORT, SERVICE_PORT, LiveService
from tests.speech import (
    SENTENCES,
    SHORT_CLIP_WER_BOUND,
    SHORT_TEXT,
    VOCABULARY,
    VOCABULARY_SENTENCES,
    convert,
    speech_clip,
    video_without_audio,
    vocabulary_found,
    wer,
)

pytestmark = pytest.mark.slow

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract" / "ASYNC_API.md"


def test_async_flow(service: LiveService, short_wav: Path) -> None:
    job_id = live.submit(service.url, short_wav, language="en")
    first = httpx.get(f"{service.url}/jobs/{job_id}").json()
    assert first["status"] in {"queued", "processing", "completed"}
    assert set(first) >= {"job_id", "status", "progress", "created_at", "started_at", "completed_at"}
    seen = []
    job = first
    while job["status"] not in live.FINAL:
        seen.append(job["progress"])
        job = httpx.get(f"{service.url}/jobs/{job_id}").json()
    assert seen == sorted(seen), "progress went backwards"
    assert job["status"] == "completed", job
    assert job["progress"] == 100
    assert job["created_at"] <= job["started_at"] <= job["completed_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", job["created_at"])  # the contract's format
    result = job["result"]
    assert {"text", "language", "duration", "segments", "processing_time"} <= set(result)
    assert wer(SHORT_TEXT, result["text"]) <= SHORT_CLIP_WER_BOUND
    assert result["segments"][0]["words"][0]["word"]
    assert "error" not in job
    assert job["attempts"] == 1


def test_sync_endpoint(service: LiveService, short_wav: Path) -> None:
    with short_wav.open("rb") as f:
        response = httpx.post(f"{service.url}/transcribe", files={"file": f}, timeout=300)
    assert response.status_code == 200, response.text
    assert wer(SHORT_TEXT, response.json()["result"]["text"]) <= SHORT_CLIP_WER_BOUND


def test_a_prompt_spells_names_as_given(service: LiveService, audio_dir: Path) -> None:
    clip = speech_clip(audio_dir / "vocabulary", VOCABULARY_SENTENCES, "vocabulary")
    prompt = ", ".join(VOCABULARY) + "."
    with clip.open("rb") as f:
        response = httpx.post(
            f"{service.url}/transcribe", files={"file": f}, data={"prompt": prompt, "language": "en"}, timeout=300
        )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["options"]["prompt"] == prompt
    assert len(vocabulary_found(job["result"]["text"])) >= 2, job["result"]["text"]


def test_sync_endpoint_times_out_clearly(service: LiveService, short_wav: Path) -> None:
    with short_wav.open("rb") as f:
        response = httpx.post(f"{service.url}/transcribe", files={"file": f}, data={"timeout": "0.01"}, timeout=60)
    assert response.status_code == 504
    body = response.json()
    assert "did not finish in time" in body["detail"]
    assert live.wait_job(service.url, body["job_id"])["status"] == "completed"  # it went on


def test_list_jobs_by_status_and_limit(service: LiveService, short_wav: Path) -> None:
    for _ in range(2):
        live.wait_job(service.url, live.submit(service.url, short_wav))
    listing = httpx.get(f"{service.url}/jobs", params={"status": "completed", "limit": 2}).json()
    assert listing["count"] == 2
    assert all(j["status"] == "completed" and "result" not in j for j in listing["jobs"])
    assert listing["jobs"][0]["created_at"] >= listing["jobs"][1]["created_at"]
    everything = httpx.get(f"{service.url}/jobs", params={"limit": 1000}).json()
    assert everything["count"] >= 2
    assert httpx.get(f"{service.url}/jobs", params={"status": "canceled"}).status_code == 200


def test_queue_stats_and_health(service: LiveService) -> None:
    stats = httpx.get(f"{service.url}/queue/stats").json()
    assert stats["redis_healthy"] is True
    assert isinstance(stats["queue_length"], int)
    assert stats["workers"] >= 1  # a worker killed by a recovery test stays listed until its key expires
    health = httpx.get(f"{service.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_metrics_are_prometheus_text(service: LiveService, short_wav: Path) -> None:
    live.wait_job(service.url, live.submit(service.url, short_wav))
    response = httpx.get(f"{service.url}/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for name in (
        "stt_jobs", "stt_queue_length", "stt_workers", "stt_jobs_finished", "stt_audio_seconds_processed",
        "stt_job_duration_seconds", "stt_stage_duration_seconds", "stt_http_requests",
        "stt_http_request_duration_seconds", "stt_gpu_memory_used_bytes", "stt_gpu_memory_total_bytes",
    ):  # fmt: skip
        assert name in families, name
    audio = next(s.value for s in families["stt_audio_seconds_processed"].samples if s.name.endswith("_total"))
    assert audio > 0
    stages = {s.labels["stage"] for s in families["stt_stage_duration_seconds"].samples}
    assert {"decoding", "vad", "transcribing"} <= stages
    routes = {s.labels.get("route") for s in families["stt_http_requests"].samples}
    assert "/jobs/{job_id}" in routes


def test_contract_python_example_runs_unchanged(service: LiveService, sentences_wav: Path, tmp_path: Path) -> None:
    code = re.search(r"### Python Example\s+```python\n(.*?)```", CONTRACT.read_text(), re.S)
    assert code is not None, "the contract's Python example"
    (tmp_path / "call.wav").write_bytes(sentences_wav.read_bytes())
    example = code.group(1)
    if SERVICE_PORT != CONTRACT_PORT:  # only when STT_TEST_PORT moved the server; CI runs it unchanged
        example = example.replace("localhost:8000", f"localhost:{SERVICE_PORT}")
    proc = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "Job created: " in proc.stdout
    transcript = proc.stdout.split("Transcription:", 1)[1]
    assert wer(" ".join(SENTENCES), transcript) <= 0.15


def test_twenty_concurrent_submissions(service: LiveService, short_wav: Path) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(lambda _: live.submit(service.url, short_wav), range(20)))
    assert len(set(ids)) == 20
    jobs = [live.wait_job(service.url, job_id, timeout=900) for job_id in ids]
    assert [j["status"] for j in jobs] == ["completed"] * 20
    assert [j["attempts"] for j in jobs] == [1] * 20, "a job ran more than once"
    texts = {j["result"]["text"] for j in jobs}
    assert len(texts) == 1  # same input, same deterministic output


def test_cancel_queued_and_running_jobs(service: LiveService, audio_dir: Path, short_wav: Path) -> None:
    long_wav = speech_clip(audio_dir / "cancel", SENTENCES * 4, "cancel")
    running = live.submit(service.url, long_wav)
    queued = live.submit(service.url, short_wav)
    live.wait_for(lambda: _finished(service, running, "vad"), 120, "the running job's speech regions")
    checkpoints = service.data_dir / "jobs" / running / "checkpoints"
    assert (checkpoints / "vad.json").is_file()
    response = httpx.post(f"{service.url}/jobs/{queued}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert httpx.post(f"{service.url}/jobs/{running}/cancel").status_code == 200
    job = live.wait_job(service.url, running, timeout=120)
    assert job["status"] == "canceled", job
    assert "result" not in job
    assert not checkpoints.exists(), "a canceled job keeps no checkpoints"
    assert httpx.post(f"{service.url}/jobs/{running}/cancel").status_code == 409
    # Both outcomes outlive Redis's record of them.
    redis_client = EmbeddedRedis(service.data_dir / "redis").client()
    for job_id in (queued, running):
        redis_client.delete(f"rq:job:{job_id}")
        assert httpx.get(f"{service.url}/jobs/{job_id}").json()["status"] == "canceled"
    # The worker carries on with new work afterwards.
    assert live.wait_job(service.url, live.submit(service.url, short_wav))["status"] == "completed"


def _finished(service: LiveService, job_id: str, stage: str) -> bool:
    stages = httpx.get(f"{service.url}/jobs/{job_id}").json()["stages"]
    return any(s["name"] == stage and s["finished_at"] for s in stages)


def test_export_formats(service: LiveService, short_wav: Path) -> None:
    job_id = live.submit(service.url, short_wav)
    live.wait_job(service.url, job_id)
    srt = httpx.get(f"{service.url}/jobs/{job_id}/export", params={"format": "srt"})
    assert srt.status_code == 200 and "-->" in srt.text
    assert httpx.get(f"{service.url}/jobs/{job_id}/export", params={"format": "vtt"}).text.startswith("WEBVTT")


def _job_dirs(service: LiveService) -> set[Path]:
    jobs = service.data_dir / "jobs"
    return set(jobs.iterdir()) if jobs.exists() else set()


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, short_wav: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    files = {
        "empty": d / "empty.wav",
        "text": d / "notes.mp3",
        "truncated": d / "cut.wav",
        "garbage": d / "broken.wav",
        "big_garbage": d / "big_broken.wav",
        "silent_video": video_without_audio(d / "silent.mp4"),
        "too_big": d / "big.wav",
        "too_long": d / "long.flac",
    }
    files["empty"].touch()
    files["text"].write_text("minutes of the meeting\n" * 50)
    files["truncated"].write_bytes(short_wav.read_bytes()[:30000])
    files["garbage"].write_bytes(b"RIFF" + bytes(range(256)) * 64)
    files["big_garbage"].write_bytes(b"RIFF" + bytes(range(256)) * (INLINE_CHECK_MAX_BYTES // 200))  # thread pool
    files["too_big"].write_bytes(b"\0" * (21 * 1024 * 1024))  # the service allows 20 MB
    silence = d / "long.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", str(silence), "trim", "0", "400"], check=True)
    convert(silence, files["too_long"])  # 400 s; the service allows 300 s
    return files


@pytest.mark.parametrize(
    ("kind", "form", "status", "message"),
    [
        ("empty", {}, 400, "empty"),
        ("text", {}, 400, "not an audio or video file"),
        ("truncated", {}, 400, "truncated"),
        ("garbage", {}, 400, "damaged"),
        ("big_garbage", {}, 400, "damaged"),
        ("silent_video", {}, 400, "no audio stream"),
        ("too_big", {}, 413, "upload limit"),
        ("too_long", {}, 413, "the limit is 300 s"),
        (None, {"language": "xx"}, 400, "Unknown language code 'xx'"),
        (None, {"enable_diarization": "perhaps"}, 422, "enable_diarization"),
        (None, {"num_speakers": "0"}, 422, "num_speakers"),
        (None, {"min_speakers": "3", "max_speakers": "2"}, 400, "min_speakers"),
        (None, {"timeout": "-1"}, 422, "timeout"),
        (None, {"prompt": "Siobhan\x00Kowalczyk"}, 400, "The prompt contains control characters"),
        (None, {"prompt": "x" * 4097}, 422, "prompt"),
    ],
)
def test_bad_uploads_get_a_clear_4xx(
    service: LiveService,
    bad_files: dict[str, Path],
    short_wav: Path,
    kind: str | None,
    form: dict[str, str],
    status: int,
    message: str,
) -> None:
    path = bad_files[kind] if kind else short_wav
    endpoint = "/transcribe" if "timeout" in form else "/transcribe/async"
    jobs_before = _job_dirs(service)
    with path.open("rb") as f:
        response = httpx.post(f"{service.url}{endpoint}", files={"file": (path.name, f)}, data=form, timeout=60)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert _job_dirs(service) == jobs_before


def _chunked(data: bytes, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """A body without Content-Length: only the streaming reader can enforce the size limit."""
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("json", 422, "file: Field required (send the file as multipart/form-data"),
        ("text_in_file_field", 422, "file: Expected a file upload"),
        ("no_closing_boundary", 400, "ended before its closing boundary"),
        ("no_boundary", 400, "no boundary"),
        ("chunked_too_big", 413, "upload limit"),
    ],
)
def test_bodies_that_are_not_an_upload_get_a_clear_4xx_and_leave_nothing_behind(
    service: LiveService, short_wav: Path, kind: str, status: int, message: str
) -> None:
    url = f"{service.url}/transcribe/async"
    wav = short_wav.read_bytes()
    multipart = {"content-type": "multipart/form-data; boundary=b"}
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
    jobs_before = _job_dirs(service)
    if kind == "json":
        response = httpx.post(url, json={"file": "a.wav"})
    elif kind == "text_in_file_field":
        response = httpx.post(url, files={"file": (None, "a.wav")})
    elif kind == "no_closing_boundary":
        response = httpx.post(url, content=part + wav, headers=multipart)
    elif kind == "no_boundary":
        response = httpx.post(url, content=part + wav, headers={"content-type": "multipart/form-data"})
    else:
        body = part + b"\0" * (21 * 1024 * 1024) + b"\r\n--b--\r\n"  # the service allows 20 MB
        response = httpx.post(url, content=_chunked(body), headers=multipart, timeout=60)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert _job_dirs(service) == jobs_before


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("POST", "/transcribe/async", 422, "file: Field required"),
        ("GET", "/jobs/not-a-job-id", 404, "Job not found"),
        ("GET", "/jobs/00000000-0000-0000-0000-000000000000", 404, "Job not found"),
        ("GET", "/jobs/..%2F..%2Fetc", 404, "Not Found"),
        ("GET", "/jobs?status=done", 422, "status"),
        ("GET", "/jobs?limit=0", 422, "limit"),
        ("GET", "/jobs/00000000-0000-0000-0000-000000000000/export?format=pdf", 422, "format"),
        ("POST", "/jobs/00000000-0000-0000-0000-000000000000/cancel", 404, "Job not found"),
    ],
)
def test_bad_requests_get_a_clear_4xx(service: LiveService, method: str, path: str, status: int, message: str) -> None:
    response = httpx.request(method, f"{service.url}{path}", timeout=30)
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])


def test_a_file_over_the_inline_check_size_is_accepted_through_the_thread_pool(
    service: LiveService, tmp_path: Path
) -> None:
    big = tmp_path / "long_silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(big), "trim", "0", "290"], check=True)
    assert big.stat().st_size > INLINE_CHECK_MAX_BYTES
    job_id = live.submit(service.url, big)
    assert httpx.get(f"{service.url}/jobs/{job_id}").json()["filename"] == "long_silence.wav"
    httpx.post(f"{service.url}/jobs/{job_id}/cancel").raise_for_status()


def test_openapi_documents_both_upload_forms(service: LiveService) -> None:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    fields = {"file", "enable_diarization", "language", "num_speakers", "min_speakers", "max_speakers", "callback_url",
              "prompt", "model", "task", "identify_speakers", "name_speakers_automatically"}  # fmt: skip
    for path, extra in (("/transcribe/async", set()), ("/transcribe", {"timeout"})):
        schema = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert set(schema["properties"]) == fields | extra
        assert schema["properties"]["file"]["format"] == "binary" and schema["required"] == ["file"]
        assert schema["properties"]["prompt"]["maxLength"] == 4096 and "pattern" in schema["properties"]["prompt"]
    assert httpx.get(f"{service.url}/docs").status_code == 200


def test_rttm_of_an_undiarized_job_is_a_conflict(service: LiveService, short_wav: Path) -> None:
    job_id = live.submit(service.url, short_wav)
    live.wait_job(service.url, job_id)
    response = httpx.get(f"{service.url}/jobs/{job_id}/export", params={"format": "rttm"})
    assert response.status_code == 409
    assert "enable_diarization" in response.json()["detail"]


def test_a_model_per_job_by_name_on_both_submit_endpoints(service: LiveService, short_wav: Path) -> None:
    """The worker runs tiny.en; a job may ask for another model the server has (base is bundled) by its name, on
    either endpoint. A path on the server, or a model it does not have (offline: large-v3), is refused with 400."""
    for path in ("/transcribe/async", "/transcribe"):
        for asked in ("/srv/models/tiny", "../models/base", "large-v3"):
            with short_wav.open("rb") as f:
                refused = httpx.post(f"{service.url}{path}", files={"file": f}, data={"model": asked}, timeout=60)
            assert refused.status_code == 400, (path, asked, refused.text)
            assert refused.json()["detail"] == (
                f"Unknown model '{asked}': this server has tiny.en, base (a model name, never a path)"
            )
    with short_wav.open("rb") as f:
        done = httpx.post(f"{service.url}/transcribe", files={"file": f}, data={"model": "base"}, timeout=300)
    assert done.status_code == 200, done.text
    job = done.json()
    assert (job["status"], job["model"], job["result"]["model"]) == ("completed", "base", "base")
    assert wer(SHORT_TEXT, job["result"]["text"]) <= SHORT_CLIP_WER_BOUND
    by_default = live.wait_job(service.url, live.submit(service.url, short_wav, model="tiny.en"))
    assert (by_default["model"], by_default["result"]["model"]) == ("tiny.en", "tiny.en")
