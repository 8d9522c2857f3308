"""Job control over the REST API, run for real (``serve`` with a tiny.en worker): DELETE /jobs/{id},
POST /jobs/{id}/retry, cursor pagination on GET /jobs and the Idempotency-Key header."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from stt_studio.jobs.redis_server import EmbeddedRedis
from tests import live
from tests.conftest import LiveService
from tests.speech import SENTENCES, convert, speech_clip

pytestmark = pytest.mark.slow

UNKNOWN_JOB = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def long_wav(audio_dir: Path) -> Path:
    """Speech long enough (about 3 minutes) to keep the one worker busy while a test looks at the queue."""
    return speech_clip(audio_dir / "control", SENTENCES * 4, "control")


@pytest.fixture(scope="module")
def truncated_flac(audio_dir: Path, short_wav: Path) -> Path:
    """Passes the upload check (its header and first second are fine) but fails when the worker decodes it all."""
    full = convert(short_wav, audio_dir / "control_full.flac").read_bytes()
    path = audio_dir / "control_cut.flac"
    path.write_bytes(full[: len(full) // 2])
    return path


def _job(service: LiveService, job_id: str) -> httpx.Response:
    return httpx.get(f"{service.url}/jobs/{job_id}", timeout=10)


def _job_dir(service: LiveService, job_id: str) -> Path:
    return service.data_dir / "jobs" / job_id


def _uploads(service: LiveService, job_id: str) -> list[str]:
    return sorted(p.name for p in _job_dir(service, job_id).glob("upload.*"))


def _delete(service: LiveService, job_id: str) -> httpx.Response:
    return httpx.delete(f"{service.url}/jobs/{job_id}", timeout=60)


def _wait_status(service: LiveService, job_id: str, status: str, timeout: float = 120) -> None:
    live.wait_for(lambda: _job(service, job_id).json()["status"] == status, timeout, f"job {job_id} to be {status}")


@contextmanager
def _busy_worker(service: LiveService, long_wav: Path) -> Iterator[str]:
    """The worker busy with a long job, so that jobs submitted meanwhile stay queued; deleted afterwards."""
    blocker = live.submit(service.url, long_wav)
    _wait_status(service, blocker, "processing")
    try:
        yield blocker
    finally:
        _delete(service, blocker)


def _unique_copy(source: Path, directory: Path) -> Path:
    copy = directory / f"{uuid.uuid4().hex}{source.suffix}"
    shutil.copyfile(source, copy)
    return copy


def test_delete_queued_and_running_jobs(service: LiveService, long_wav: Path, short_wav: Path) -> None:
    running = live.submit(service.url, long_wav)
    queued = live.submit(service.url, short_wav)
    _wait_status(service, running, "processing")
    assert _uploads(service, queued) == ["upload.wav"]

    for job_id in (queued, running):
        response = _delete(service, job_id)
        assert response.status_code == 200, response.text
        assert response.json() == {"job_id": job_id, "deleted": True}
        assert _job(service, job_id).status_code == 404
        assert not _job_dir(service, job_id).exists()
        assert _delete(service, job_id).status_code == 404
    redis_client = EmbeddedRedis(service.data_dir / "redis").client()
    assert not redis_client.exists(f"rq:job:{running}", f"rq:job:{queued}", f"stt:cancel:{running}")
    assert _delete(service, UNKNOWN_JOB).status_code == 404
    assert _delete(service, "not-a-job-id").status_code == 404

    # The worker is free again: the next job runs to the end; a completed job is deleted just the same.
    after = live.submit(service.url, short_wav)
    assert live.wait_job(service.url, after, timeout=120)["status"] == "completed"
    assert _delete(service, after).status_code == 200
    assert not _job_dir(service, after).exists()


def test_retry_a_canceled_job(service: LiveService, long_wav: Path, short_wav: Path) -> None:
    with _busy_worker(service, long_wav) as blocker:
        queued = live.submit(service.url, short_wav, language="en")
        assert httpx.post(f"{service.url}/jobs/{queued}/cancel").json()["status"] == "canceled"
        assert _uploads(service, queued) == ["upload.wav"]  # kept for a retry
        conflict = httpx.post(f"{service.url}/jobs/{blocker}/retry")
        assert conflict.status_code == 409 and "processing" in conflict.json()["detail"]
        response = httpx.post(f"{service.url}/jobs/{queued}/retry")
        assert response.status_code == 200, response.text
        retried = response.json()
        assert retried["job_id"] != queued and retried["retry_of"] == queued and retried["status"] == "queued"
        assert _job(service, queued).status_code == 404 and not _job_dir(service, queued).exists()

        # A running job canceled by its worker keeps its upload too.
        httpx.post(f"{service.url}/jobs/{blocker}/cancel").raise_for_status()
        assert live.wait_job(service.url, blocker, timeout=60)["status"] == "canceled"
        assert _uploads(service, blocker) == ["upload.wav"]

    job = live.wait_job(service.url, retried["job_id"], timeout=120)
    assert job["status"] == "completed", job
    assert job["options"]["language"] == "en"
    assert _uploads(service, job["job_id"]) == []  # a completed job's upload goes, as before
    conflict = httpx.post(f"{service.url}/jobs/{job['job_id']}/retry")
    assert conflict.status_code == 409 and "completed" in conflict.json()["detail"]
    assert httpx.post(f"{service.url}/jobs/{UNKNOWN_JOB}/retry").status_code == 404


def test_retry_a_failed_job(service: LiveService, truncated_flac: Path) -> None:
    first = live.wait_job(service.url, live.submit(service.url, truncated_flac, language="en"))
    assert first["status"] == "failed" and "truncated" in first["error"], first
    assert _uploads(service, first["job_id"]) == ["upload.flac"]

    response = httpx.post(f"{service.url}/jobs/{first['job_id']}/retry")
    assert response.status_code == 200, response.text
    again = live.wait_job(service.url, response.json()["job_id"])
    assert again["status"] == "failed" and again["error"] == first["error"]
    assert again["options"] == first["options"] and first["options"]["language"] == "en"
    assert again["filename"] == first["filename"] == truncated_flac.name
    assert _uploads(service, again["job_id"]) == ["upload.flac"]  # still there for another retry...
    assert _delete(service, again["job_id"]).status_code == 200
    assert not _job_dir(service, again["job_id"]).exists()  # ...until the job is deleted


def _page(service: LiveService, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/jobs", params=params, timeout=10)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert page["count"] == len(page["jobs"])
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [job["job_id"] for job in page["jobs"]]


def test_cursor_pagination(service: LiveService, long_wav: Path, short_wav: Path) -> None:
    with _busy_worker(service, long_wav):
        oldest_first = [live.submit(service.url, short_wav) for _ in range(6)]
        for job_id in oldest_first:
            httpx.post(f"{service.url}/jobs/{job_id}/cancel").raise_for_status()
    newest_first = oldest_first[::-1]  # the newest canceled jobs: other tests' ones are older

    first = _page(service, status="canceled", limit=2)
    second = _page(service, status="canceled", limit=2, before=first["next_before"])
    third = _page(service, status="canceled", limit=2, before=second["next_before"])
    assert [_ids(first), _ids(second), _ids(third)] == [newest_first[0:2], newest_first[2:4], newest_first[4:6]]
    assert first["next_before"] == newest_first[1] and second["next_before"] == newest_first[3]
    assert first["next_after"] is None and second["next_after"] == newest_first[2]

    newer = _page(service, status="canceled", limit=2, after=newest_first[5])
    assert _ids(newer) == newest_first[3:5]
    assert newer["next_after"] == newest_first[3] and newer["next_before"] == newest_first[4]
    top = _page(service, status="canceled", limit=2, after=newest_first[2])
    assert _ids(top) == newest_first[0:2] and top["next_after"] is None
    assert _ids(_page(service, limit=3, before=newest_first[1])) == newest_first[2:5]  # without a status filter
    assert _page(service, status="completed", limit=5, after=newest_first[0])["jobs"] == []

    both = {"before": newest_first[0], "after": oldest_first[0]}
    for params, expected in (({"before": UNKNOWN_JOB}, 404), ({"after": "nonsense"}, 404), (both, 400)):
        response = httpx.get(f"{service.url}/jobs", params=params)
        assert response.status_code == expected, params
        assert isinstance(response.json()["detail"], str)
    for job_id in oldest_first:
        _delete(service, job_id)


def _submit(
    service: LiveService, path: Path, key: str, endpoint: str = "/transcribe/async", **form: str
) -> httpx.Response:
    with path.open("rb") as f:
        return httpx.post(
            f"{service.url}{endpoint}",
            files={"file": (path.name, f)},
            data=form,
            headers={"Idempotency-Key": key},
            timeout=300,
        )


def _jobs_named(service: LiveService, filename: str) -> list[str]:
    return [job["job_id"] for job in _page(service, limit=1000)["jobs"] if job["filename"] == filename]


def _orphan_dirs(service: LiveService) -> list[Path]:
    """Job directories without a record: an upload that was neither queued nor removed."""
    return [d for d in (service.data_dir / "jobs").iterdir() if not (d / "record.json").exists()]


def test_idempotency_key_returns_the_first_job(service: LiveService, short_wav: Path, tmp_path: Path) -> None:
    clip, key = _unique_copy(short_wav, tmp_path), str(uuid.uuid4())
    first = _submit(service, clip, key, language="en")
    assert first.status_code == 200, first.text
    job_id = first.json()["job_id"]
    again = _submit(service, clip, key, language="en")
    assert again.status_code == 200 and again.json()["job_id"] == job_id
    synchronous = _submit(service, clip, key, endpoint="/transcribe", language="en")  # waits for that same job
    assert synchronous.status_code == 200 and synchronous.json()["job_id"] == job_id
    assert synchronous.json()["result"]["text"]
    assert _jobs_named(service, clip.name) == [job_id]
    assert _orphan_dirs(service) == []

    renamed = _submit(service, _unique_copy(clip, tmp_path), key, language="en")
    assert renamed.json()["job_id"] == job_id  # the same bytes under another name are the same submission
    changed = tmp_path / "changed.wav"
    changed.write_bytes(clip.read_bytes()[:-2] + b"\x01\x01")
    response = _submit(service, changed, key, language="en")
    assert response.status_code == 422 and "different file" in response.json()["detail"]
    response = _submit(service, clip, key)
    assert response.status_code == 422 and "different options" in response.json()["detail"]
    assert _jobs_named(service, clip.name) == [job_id]
    assert _orphan_dirs(service) == []


def test_idempotency_key_must_be_1_to_255_characters(service: LiveService, short_wav: Path) -> None:
    for key in ("", "k" * 256):
        response = _submit(service, short_wav, key)
        assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]
    assert _submit(service, short_wav, f"{uuid.uuid4()}".ljust(255, "k")).status_code == 200


def test_concurrent_requests_with_one_key_make_one_job(service: LiveService, short_wav: Path, tmp_path: Path) -> None:
    clip, key = _unique_copy(short_wav, tmp_path), str(uuid.uuid4())
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: _submit(service, clip, key), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    job_ids = {r.json()["job_id"] for r in responses}
    assert len(job_ids) == 1
    assert _jobs_named(service, clip.name) == list(job_ids)
    assert live.wait_job(service.url, job_ids.pop())["status"] == "completed"
    assert _orphan_dirs(service) == []
