"""Nothing accepted is lost: a worker SIGKILLed mid-job, Redis SIGKILLed, the API restarted, Redis TTLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from rq import Worker
from rq.worker import BaseWorker

from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.jobs.store import QUEUE_NAME, JobStore
from stt_studio.settings import Settings
from tests import live
from tests.conftest import LiveService
from tests.speech import SENTENCES, speech_clip, wer

pytestmark = pytest.mark.slow


def service_redis(service: LiveService) -> redis.Redis:
    return EmbeddedRedis(service.data_dir / "redis").client()


def test_worker_killed_mid_job_reruns_and_completes(service: LiveService, audio_dir: Path) -> None:
    long_wav = speech_clip(audio_dir / "kill", SENTENCES * 3, "kill")
    job_id = live.submit(service.url, long_wav)

    def processing() -> bool:
        job = httpx.get(f"{service.url}/jobs/{job_id}").json()
        return bool(job["status"] == "processing" and job["progress"] > 20)

    live.wait_for(processing, 180, "the job to be well under way")
    [worker] = transcription_workers(service_redis(service))
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    job = live.wait_job(service.url, job_id, timeout=300)
    print(f"job completed {time.monotonic() - killed_at:.0f} s after its worker was killed")
    assert job["status"] == "completed", job
    assert job["attempts"] == 2
    assert wer(" ".join(SENTENCES * 3), job["result"]["text"]) <= 0.15


def test_redis_killed_keeps_queued_jobs(tmp_path: Path, short_wav: Path, settings: Settings) -> None:
    data = tmp_path / "data"
    server = EmbeddedRedis(data / "redis")
    server.ensure_running()
    try:
        store = JobStore(server.client(), data)
        ids = []
        for i in range(3):
            job_id, job_dir = store.new_job_dir()
            audio = job_dir / "upload.wav"
            audio.write_bytes(short_wav.read_bytes())
            ids.append(store.submit(job_id, audio, JobOptions(), filename=f"{i}.wav", delete_audio_after=True).job_id)
        time.sleep(1.5)  # appendfsync everysec: what was acknowledged a second ago is on disk
        pid = server.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        live.wait_for(lambda: not server.is_running(), 10, "Valkey to die")

        server.ensure_running()
        store = JobStore(server.client(), data)
        assert [store.get(i).status for i in ids] == [JobStatus.QUEUED] * 3
        assert store.stats().queue_length == 3

        env = live.service_env(data, settings.resolved_models_dir)
        subprocess.run([sys.executable, "-m", "stt_studio", "worker", "--burst"], env=env, check=True, timeout=600)
        assert [store.get(i).status for i in ids] == [JobStatus.COMPLETED] * 3
    finally:
        server.stop()


def test_api_restart_and_expired_redis_records_lose_nothing(
    service: LiveService, short_wav: Path, tmp_path: Path
) -> None:
    port = live.free_port()
    url = f"http://127.0.0.1:{port}"
    api = live.start(["api", "--port", str(port)], service.env, tmp_path / "api.log")
    try:
        live.wait_until_up(url, workers=1)
        done = live.submit(url, short_wav)
        live.wait_job(url, done)
        pending = live.submit(url, short_wav)
        api.send_signal(signal.SIGKILL)
        api.wait()
        api = live.start(["api", "--port", str(port)], service.env, tmp_path / "api.log")
        live.wait_until_up(url, workers=1)
        assert live.wait_job(url, pending)["status"] == "completed"
        assert httpx.get(f"{url}/jobs/{done}").json()["result"]["text"]

        # Past RQ's result TTL the job is gone from Redis; the transcript is still served from disk.
        service_redis(service).delete(f"rq:job:{done}")
        job = httpx.get(f"{url}/jobs/{done}").json()
        assert job["status"] == "completed" and job["result"]["text"]
    finally:
        live.stop(api)


def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path, settings: Settings) -> None:
    """Ctrl-C (SIGINT) stops the API, the workers and the embedded Redis that serve started; nothing lingers."""
    port = live.free_port()
    env = live.service_env(tmp_path / "data", settings.resolved_models_dir)
    serve = live.start(["serve", "--port", str(port), "--workers", "1"], env, tmp_path / "serve.log")
    server = EmbeddedRedis(tmp_path / "data" / "redis")
    try:
        live.wait_until_up(f"http://127.0.0.1:{port}", workers=1)
        [worker] = transcription_workers(server.client())
        redis_pid = server.pid()
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
    finally:
        live.stop(serve, signal.SIGKILL)
    assert not server.is_running()

    def gone(pid: int | None) -> bool:
        assert pid is not None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    live.wait_for(lambda: gone(worker.pid) and gone(redis_pid), 10, "the worker and Valkey to exit")
    assert live.port_is_free(port)


def transcription_workers(connection: redis.Redis) -> list[BaseWorker]:
    """The RQ workers that transcribe (serve also runs a webhook worker on its own queue)."""
    return [w for w in Worker.all(connection=connection) if QUEUE_NAME in w.queue_names()]
