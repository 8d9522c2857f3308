"""Faults, each with "nothing accepted is lost, nothing runs twice to completion": the worker SIGKILLed in every
stage, the embedded Valkey SIGKILLed under submissions and stopped for 30 s, an external Redis gone for 30 s,
the data disk full, an unwritable data dir, a worker out of memory. Every case records a row of
docs/reliability.md (tests/reliability.py); stopping and killing serve itself is tests/test_process_lifetime.py.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from rq.job import Job

from stt_studio.jobs.connection import TIMEOUT_SECONDS as REDIS_TIMEOUT_SECONDS
from stt_studio.jobs.models import JobStatus
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.jobs.resources import DISK_FULL_MESSAGE
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from tests import live
from tests.reliability import ServeInstance, cannot_run_here, completions, record, serve, wait_until_answering
from tests.speech import SENTENCES, SHORT_CLIP_WER_BOUND, SHORT_TEXT, convert, speech_clip, wer

pytestmark = pytest.mark.slow

GROUP = "Faults"
LONG_TEXT = " ".join(SENTENCES * 3)
LONG_WER_BOUND = 0.15


@pytest.fixture(scope="module")
def long_clip(audio_dir: Path) -> Path:
    """156 s of speech as Opus: a job that is still transcribing while the tests break things around it."""
    wav = speech_clip(audio_dir / "reliability", SENTENCES * 3, "long")
    return convert(wav, audio_dir / "reliability" / "long.opus", "-ar", "48000", "-ac", "2")


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[ServeInstance]:
    """A serve of this module's own (its worker and Valkey get killed): one worker, tiny.en."""
    root = tmp_path_factory.mktemp("faults")
    with serve(root, settings.resolved_models_dir, STT_WEBHOOK_ALLOWED_HOSTS="127.0.0.1") as instance:
        FRESH_WORKER_DATA_MB.append(_vm_data_mb(instance.wait_for_ready_worker()))
        yield instance


FRESH_WORKER_DATA_MB: list[float] = []
"""VmData (what RLIMIT_DATA limits) of a worker that has loaded its model and run no job yet."""


def _vm_data_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmData:")[1].split()[0]) / 1024


def _post(url: str, path: Path, *, timeout: float = 60.0, **form: str) -> httpx.Response:
    with path.open("rb") as f:
        return httpx.post(f"{url}/transcribe/async", files={"file": (path.name, f)}, data=form, timeout=timeout)


# --- the worker SIGKILLed in each stage -------------------------------------------------------------------------


@dataclass(frozen=True)
class StageCase:
    stage: str
    diarize: bool
    reused: tuple[str, ...]
    """The stages the second attempt reads back from the first one's checkpoints (decoding is never kept)."""


STAGES = [
    StageCase("decoding", False, ()),
    StageCase("vad", False, ()),
    StageCase("transcribing", False, ("vad", "language")),
    StageCase("aligning", True, ("vad", "language", "transcribing")),
    StageCase("diarizing", True, ("vad", "language", "transcribing", "aligning")),
]


@pytest.fixture(scope="module")
def uninterrupted_words(one: ServeInstance, sentences_wav: Path) -> list[str]:
    """The words of the clip's transcript from a run nobody interrupted (diarization splits segments only)."""
    job = live.wait_job(one.url, live.submit(one.url, sentences_wav))
    assert job["status"] == "completed", job
    return str(job["result"]["text"]).split()


@pytest.mark.parametrize("case", STAGES, ids=[c.stage for c in STAGES])
def test_worker_killed_in_each_stage_reruns_once(
    one: ServeInstance, sentences_wav: Path, case: StageCase, uninterrupted_words: list[str]
) -> None:
    text = " ".join(SENTENCES)
    with record(
        GROUP,
        f"Worker SIGKILLed while {case.stage}",
        action=f"hold the worker in stage '{case.stage}' (the test's fault injection), SIGKILL it there, let the "
        f"next attempt through (50 s of speech{', diarization on' if case.diarize else ''})",
        expected="the job runs again on the restarted worker and completes once: attempts 2, the same text as an "
        "uninterrupted run; the stages finished before the kill are read back from their checkpoints (reused)",
    ) as row:
        pid = one.wait_for_ready_worker()
        before = completions(one.url)
        one.faults.hold(case.stage)
        try:
            diarize = "true" if case.diarize else "false"
            response = _post(one.url, sentences_wav, enable_diarization=diarize)
            assert response.status_code == 200, response.text
            job_id = response.json()["job_id"]
            held_pid, held_job = one.faults.held(case.stage)
            assert (held_pid, held_job) == (pid, job_id), "another worker or job was held"
            stage_at_death = Job.fetch(job_id, connection=one.redis()).meta.get("stage")
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
        finally:
            one.faults.release(case.stage)  # the rerun goes through
        psutil.Process(pid).wait(10) if psutil.pid_exists(pid) else None
        assert stage_at_death == case.stage, f"the worker died in {stage_at_death}, not {case.stage}"

        rerun_at = None
        while True:
            job = httpx.get(f"{one.url}/jobs/{job_id}", timeout=30).json()
            if rerun_at is None and job["attempts"] >= 2 and job["status"] == "processing":
                rerun_at = time.monotonic()
            if job["status"] in live.FINAL:
                break
            assert time.monotonic() - killed_at < 600, "the job did not finish within 10 minutes"
            time.sleep(0.25)
        done_at = time.monotonic()
        error = wer(text, job.get("result", {}).get("text", ""))
        completed = completions(one.url) - before
        second = {s["name"]: s for s in job.get("stages", []) if s["attempt"] == 2}
        reused = tuple(name for name, s in second.items() if s["reused"])
        row.observed = (
            f"{job['status']} after {job['attempts']} attempts, WER {error:.0%}, {completed:g} completion counted; "
            f"the worker died in stage '{stage_at_death}'; reused on the second attempt: {', '.join(reused) or 'none'}"
        )
        row.figures = {
            "rerun started after kill (s)": round((rerun_at or done_at) - killed_at, 1),
            "completed after kill (s)": round(done_at - killed_at, 1),
        }
        assert job["status"] == "completed", job
        assert job["attempts"] == 2
        assert error <= LONG_WER_BOUND
        assert str(job["result"]["text"]).split() == uninterrupted_words
        assert reused == case.reused, job["stages"]
        assert all(s["finished_at"] is not None for s in second.values()), "every stage of the rerun finished"
        assert set(job["result"]["stage_seconds"]) == set(second)
        [died_in] = [s for s in job["stages"] if s["attempt"] == 1 and s["finished_at"] is None]
        assert died_in["name"] == case.stage
        assert completed == 1, "the job ran to completion more than once (or not at all)"
        if case.diarize:
            assert job["result"]["speakers"], "diarization ran on the second attempt"


class _Hooks(http.server.BaseHTTPRequestHandler):
    """A webhook receiver: keeps the body of every delivery."""

    bodies: list[bytes] = []  # noqa: RUF012 - one list for the module's one receiver

    def do_POST(self) -> None:
        self.bodies.append(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def webhook_receiver() -> Iterator[str]:
    """The URL of a receiver on a free loopback port (its deliveries in ``_Hooks.bodies``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()


def test_worker_killed_on_every_attempt_fails_the_job_for_good(one: ServeInstance, short_wav: Path) -> None:
    """The real counterpart of tests/test_final_failures.py: nothing is called by hand, the worker really dies."""
    stopped = "The worker stopped unexpectedly while processing this job (3 attempts)"
    with (
        webhook_receiver() as hook_url,
        record(
            GROUP,
            "Worker SIGKILLed on every attempt",
            action="the worker SIGKILLs itself each time the job enters 'decoding' (the test's fault injection); "
            "the job asks for a webhook; then Redis forgets the job",
            expected=f"3 attempts, then failed for good: '{stopped}', in the API, the library and one webhook "
            "delivery, and still in the API once Redis has forgotten the job; the next job completes",
        ) as row,
    ):
        one.wait_for_ready_worker()
        one.faults.kill_in("decoding")
        try:
            job_id = live.submit(one.url, short_wav, callback_url=hook_url)
            failed = live.wait_job(one.url, job_id, timeout=400)
        finally:
            one.faults.stop_killing("decoding")
        deaths = one.faults.kills("decoding")
        live.wait_for(lambda: _Hooks.bodies, 120, "the webhook delivery")
        [entry] = [e for e in JobStore(one.redis(), one.data_dir).library() if e.job_id == job_id]
        one.redis().delete(f"rq:job:{job_id}")  # past RQ's retention: only the data dir knows the job now
        remembered = live_job(one, job_id)
        after = live.wait_job(one.url, live.submit(one.url, short_wav))
        deliveries = [json.loads(body) for body in _Hooks.bodies]  # read last: a second one would show by now
        row.observed = (
            f"{failed['status']} after {failed['attempts']} attempts ({len(deaths)} deaths in decoding): "
            f"{failed.get('error')!r}; library: {entry.status.value} {entry.error!r}; webhooks: "
            f"{[(d.get('status'), d.get('error')) for d in deliveries]}; from disk: {remembered['status']}; "
            f"next job {after['status']}"
        )
        assert [dead_job for _, dead_job in deaths] == [job_id] * 3
        assert len({pid for pid, _ in deaths}) == 3, "three different workers died"
        assert (failed["status"], failed["attempts"], failed["error"]) == ("failed", 3, stopped)
        assert (entry.status, entry.error) == (JobStatus.FAILED, stopped)
        assert [(d["job_id"], d["status"], d["error"]) for d in deliveries] == [(job_id, "failed", stopped)]
        assert (remembered["status"], remembered["error"]) == ("failed", stopped)
        assert after["status"] == "completed"


# --- the embedded Valkey SIGKILLed under submissions -----------------------------------------------------------


def test_valkey_killed_during_submissions_loses_nothing_accepted(one: ServeInstance, short_wav: Path) -> None:
    with record(
        GROUP,
        "Embedded Valkey SIGKILLed during submissions",
        action="3 clients submit 30 short jobs; Valkey is SIGKILLed after the 6th answer (serve restarts it)",
        expected="every submit answered 200 completes (once); every other one gets an error (503 + message); "
        "no job folder is left for a refused submit",
    ) as row:
        one.wait_for_ready_worker()
        jobs_dir = one.data_dir / "jobs"
        dirs_before = set(jobs_dir.iterdir()) if jobs_dir.exists() else set()
        before = completions(one.url)
        answers: list[tuple[int, str]] = []
        lock = threading.Lock()
        killed = threading.Event()
        old_pid = one.valkey_pid()

        def client(count: int) -> None:
            for _ in range(count):
                try:
                    response = _post(one.url, short_wav)
                    answer = (response.status_code, response.text)
                except httpx.HTTPError as exc:
                    answer = (0, f"{type(exc).__name__}: {exc}")
                with lock:
                    answers.append(answer)
                    if len(answers) == 6 and not killed.is_set():
                        os.kill(old_pid, signal.SIGKILL)
                        killed.set()

        with ThreadPoolExecutor(3) as pool:
            list(pool.map(client, [10, 10, 10]))
        assert killed.is_set()
        back_after = wait_until_answering(one.url)
        accepted = [json_id(text) for status, text in answers if status == 200]
        refused = [(status, text) for status, text in answers if status != 200]
        jobs = [live.wait_job(one.url, job_id, timeout=900) for job_id in accepted]
        completed = completions(one.url) - before
        new_dirs = set(jobs_dir.iterdir()) - dirs_before
        row.observed = (
            f"{len(accepted)} accepted, all {sum(j['status'] == 'completed' for j in jobs)} completed "
            f"(attempts {sorted({j['attempts'] for j in jobs})}); {len(refused)} refused with "
            f"{sorted({status for status, _ in refused})}; Valkey restarted as pid {one.valkey_pid()}"
        )
        row.figures = {
            "accepted": len(accepted),
            "refused": len(refused),
            "API healthy again after (s)": round(back_after, 1),
        }
        assert one.valkey_pid() != old_pid
        assert [j["status"] for j in jobs] == ["completed"] * len(accepted)
        assert all(j["attempts"] == 1 for j in jobs)
        assert completed == len(accepted), "a job was lost or ran twice"
        for status, text in refused:
            assert status == 503 and "unavailable" in text, text
        assert {d.name for d in new_dirs} == set(accepted), "a refused submit left a job folder (or one is missing)"


def json_id(text: str) -> str:
    import json

    job_id: str = json.loads(text)["job_id"]
    return job_id


# --- Redis unreachable for 30 s ---------------------------------------------------------------------------------


OUTAGE_ANSWER_SECONDS = 4 * REDIS_TIMEOUT_SECONDS
"""What "503 within seconds" means while Redis is away: a few of the API's own Redis timeouts (connection.py), not
the minute redis-py's default retries kept a call waiting. A call not answered by then counts as a hang."""


@dataclass
class OutageProbe:
    """Calls the API over and over while Redis is away: the slowest answer and the statuses seen."""

    url: str
    clip: Path
    slowest: float = 0.0
    statuses: frozenset[int] = frozenset()
    calls: int = 0
    bad: str | None = None

    def run_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        lock = threading.Lock()
        seen: set[int] = set()

        def loop(call: Any) -> None:
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    response: httpx.Response = call()
                except httpx.TimeoutException:  # the hang this test is about
                    with lock:
                        self.bad = f"an API call got no answer within {OUTAGE_ANSWER_SECONDS:g} s while Redis was away"
                    continue
                with lock:
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    self.calls += 1
                    seen.add(response.status_code)
                    if response.status_code != 503 or not response.json().get("detail", response.json()):
                        self.bad = f"{response.status_code} {response.text[:200]}"

        timeout = OUTAGE_ANSWER_SECONDS
        calls = [
            lambda: httpx.get(f"{self.url}/health", timeout=timeout),
            lambda: httpx.get(f"{self.url}/jobs/00000000-0000-4000-8000-000000000000", timeout=timeout),
            lambda: _post(self.url, self.clip, timeout=timeout),
        ]
        threads = [threading.Thread(target=loop, args=(call,)) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.statuses = frozenset(seen)


def test_valkey_stopped_for_30_seconds(one: ServeInstance, long_clip: Path, short_wav: Path) -> None:
    with record(
        GROUP,
        "Embedded Valkey stopped (SIGSTOP) for 30 s",
        action="SIGSTOP Valkey for 30 s while a 156 s job runs and 2 wait; meanwhile GET /health, GET /jobs/{id} "
        "and POST /transcribe/async in a loop; then SIGCONT",
        expected="every call answered 503 with a message within seconds (no hang, no second Valkey); afterwards "
        "the worker carries on by itself and all 3 jobs complete once",
    ) as row:
        worker = one.wait_for_ready_worker()
        before = completions(one.url)
        running = live.submit(one.url, long_clip)
        queued = [live.submit(one.url, short_wav) for _ in range(2)]
        live.wait_for(lambda: live_job(one, running)["stage"] == "transcribing", 120, "the long job to transcribe")
        valkey = one.valkey_pid()
        os.kill(valkey, signal.SIGSTOP)
        try:
            probe = OutageProbe(one.url, short_wav)
            probe.run_for(30)
            valkeys = [p for p in psutil.process_iter(["name", "cmdline"]) if _is_valkey_of(p, one.data_dir)]
        finally:
            os.kill(valkey, signal.SIGCONT)
        resumed = time.monotonic()
        back_after = wait_until_answering(one.url)
        jobs = [live.wait_job(one.url, job_id, timeout=600) for job_id in [running, *queued]]
        all_done = time.monotonic() - resumed
        completed = completions(one.url) - before
        kept = worker in {p.pid for p in one.workers()}
        row.observed = (
            f"{probe.calls} calls, all answered {sorted(probe.statuses)}, slowest {probe.slowest:.1f} s; "
            f"{len(valkeys)} Valkey process(es); jobs {[j['status'] for j in jobs]}, attempts "
            f"{[j['attempts'] for j in jobs]}; worker {'kept' if kept else 'restarted'}"
        )
        row.figures = {
            "slowest answer during outage (s)": round(probe.slowest, 1),
            "API healthy after SIGCONT (s)": round(back_after, 1),
            "all jobs completed after SIGCONT (s)": round(all_done, 1),
        }
        # Not a speed test: redis-py's default retries kept such a call waiting about a minute (OUTAGE_ANSWER_SECONDS).
        assert probe.bad is None, probe.bad
        assert probe.calls > 0 and probe.statuses == {503}
        assert len(valkeys) == 1, "a second Valkey was started on the same files"
        assert [j["status"] for j in jobs] == ["completed"] * 3
        assert [j["attempts"] for j in jobs] == [1, 1, 1]
        assert completed == 3
        assert kept, "the worker had to be restarted: it did not carry on by itself"


def live_job(instance: ServeInstance, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{instance.url}/jobs/{job_id}", timeout=30).json()
    return job


def _is_valkey_of(proc: psutil.Process, data_dir: Path) -> bool:
    try:
        return "valkey" in (proc.info["name"] or "") and any(str(data_dir) in arg for arg in proc.info["cmdline"])
    except (psutil.Error, TypeError):
        return False


def test_external_redis_down_for_30_seconds(
    tmp_path: Path, settings: Settings, long_clip: Path, short_wav: Path
) -> None:
    """The docker compose shape: Redis is someone else's (REDIS_URL); it is killed, and back 30 s later."""
    with record(
        GROUP,
        "External Redis (REDIS_URL) killed, back after 30 s",
        action="SIGKILL the Redis serve uses (REDIS_URL) while a 156 s job runs and 2 wait; call the API in a loop "
        "for 30 s; start Redis again on the same files",
        expected="503 with a message at once meanwhile; the worker reconnects by itself (no restart); "
        "all 3 jobs complete once",
    ) as row:
        external = EmbeddedRedis(tmp_path / "external-redis")
        external.ensure_running()
        try:
            with serve(tmp_path / "serve", settings.resolved_models_dir, REDIS_URL=external.url) as instance:
                worker = instance.wait_for_ready_worker()
                before = completions(instance.url)
                running = live.submit(instance.url, long_clip)
                queued = [live.submit(instance.url, short_wav) for _ in range(2)]
                live.wait_for(lambda: live_job(instance, running)["stage"] == "transcribing", 120, "transcribing")
                time.sleep(1.5)  # appendfsync everysec: what was acknowledged a second ago is on disk
                pid = external.pid()
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                probe = OutageProbe(instance.url, short_wav)
                probe.run_for(30)
                external.ensure_running()
                restarted = time.monotonic()
                back_after = wait_until_answering(instance.url)
                jobs = [live.wait_job(instance.url, job_id, timeout=600) for job_id in [running, *queued]]
                all_done = time.monotonic() - restarted
                completed = completions(instance.url) - before
                kept = worker in {p.pid for p in instance.workers()}
                row.observed = (
                    f"{probe.calls} calls, all answered {sorted(probe.statuses)}, slowest {probe.slowest:.1f} s; "
                    f"jobs {[j['status'] for j in jobs]}, attempts {[j['attempts'] for j in jobs]}; "
                    f"worker {'reconnected (same process)' if kept else 'restarted'}"
                )
                row.figures = {
                    "slowest answer during outage (s)": round(probe.slowest, 1),
                    "API healthy after Redis is back (s)": round(back_after, 1),
                    "all jobs completed after Redis is back (s)": round(all_done, 1),
                }
                assert probe.bad is None, probe.bad
                assert probe.statuses == {503}
                assert [j["status"] for j in jobs] == ["completed"] * 3
                assert [j["attempts"] for j in jobs] == [1, 1, 1]
                assert completed == 3
                assert kept, "the worker had to be restarted"
        finally:
            external.stop()


# --- the data disk -----------------------------------------------------------------------------------------------


@contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of ``megabytes`` at ``path`` (needs root, as in CI: there a failed mount fails the test; elsewhere it
    is skipped with the reason)."""
    path.mkdir(parents=True, exist_ok=True)
    problem = mount_tmpfs(path, f"size={megabytes}m")
    if problem is not None:
        cannot_run_here(problem)
    try:
        yield path
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)


def mount_tmpfs(path: Path, options: str) -> str | None:
    """Mount a tmpfs at ``path``; None when mounted, else why not."""
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    mounted = subprocess.run(command, capture_output=True, text=True)
    if mounted.returncode == 0:
        return None
    return f"cannot mount a tmpfs here ({' '.join(mounted.stderr.split()) or f'exit {mounted.returncode}'}): needs root"


def fill(disk: Path) -> Path:
    """Write zeros until the disk is full; the file returned frees the space when removed."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for block in (1 << 20, 1 << 12, 1):
            try:
                while os.write(fd, b"\0" * block):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def _job_dirs(data_dir: Path) -> set[str]:
    jobs = data_dir / "jobs"
    return {p.name for p in jobs.iterdir()} if jobs.exists() else set()


def test_disk_full(tmp_path: Path, settings: Settings, short_wav: Path, long_clip: Path) -> None:
    with (
        small_disk(tmp_path / "disk", 64) as disk,
        serve(tmp_path, settings.resolved_models_dir, STT_DATA_DIR=str(disk / "data")) as instance,
    ):
        earlier = live.wait_job(instance.url, live.submit(instance.url, short_wav))
        assert earlier["status"] == "completed"
        srt = httpx.get(f"{instance.url}/jobs/{earlier['job_id']}/export", params={"format": "srt"}).content

        with record(
            GROUP,
            "Data disk full: a new submission",
            action="fill the data dir's file system (a 64 MB tmpfs) to the last byte, then submit a file",
            expected="507 with a plain message; no job folder left behind",
        ) as row:
            filler = fill(disk)
            before = _job_dirs(instance.data_dir)
            response = _post(instance.url, short_wav)
            row.observed = f"{response.status_code} {response.json().get('detail')!r}"
            assert response.status_code == 507, response.text
            assert "disk is full" in response.json()["detail"]
            assert _job_dirs(instance.data_dir) == before

        with record(
            GROUP,
            "Data disk full: existing transcripts",
            action="while the disk is full, read an earlier job and export its transcript",
            expected="both answered as before, the transcript intact",
        ) as row:
            again = live.wait_job(instance.url, earlier["job_id"])
            srt_again = httpx.get(f"{instance.url}/jobs/{earlier['job_id']}/export", params={"format": "srt"})
            same = srt_again.content == srt
            row.observed = f"GET {again['status']}, export {srt_again.status_code}, transcript identical: {same}"
            assert again["result"] == earlier["result"]
            assert srt_again.status_code == 200 and srt_again.content == srt
        filler.unlink()

        with record(
            GROUP,
            "Data disk fills up while a job runs",
            action="submit 156 s of speech; fill the disk while it is transcribing; free the space a few seconds "
            "after the worker found it cannot save the transcript",
            expected="the job fails with a plain reason (recorded once there is space again), no retry; the "
            "service works again: a retry of that job and a new job complete",
        ) as row:
            running = live.submit(instance.url, long_clip)
            live.wait_for(lambda: live_job(instance, running)["stage"] == "transcribing", 120, "transcribing")
            filler = fill(disk)
            live.wait_for(lambda: "The disk is full: waiting for space" in instance.log.read_text(errors="replace"),
                          300, "the worker to find the disk full")  # fmt: skip
            time.sleep(3)
            filler.unlink()
            freed = time.monotonic()
            failed = live.wait_job(instance.url, running, timeout=120)
            recorded_after = time.monotonic() - freed
            retry = httpx.post(f"{instance.url}/jobs/{running}/retry", timeout=30)
            assert retry.status_code == 200, retry.text
            retried = live.wait_job(instance.url, retry.json()["job_id"], timeout=600)
            fresh = live.wait_job(instance.url, live.submit(instance.url, short_wav))
            row.observed = (
                f"{failed['status']} after {failed['attempts']} attempt(s): {failed.get('error')!r}; "
                f"retry {retried['status']} (WER {wer(LONG_TEXT, retried.get('result', {}).get('text', '')):.0%}), "
                f"new job {fresh['status']}"
            )
            row.figures = {"failure recorded after space freed (s)": round(recorded_after, 1)}
            assert failed["status"] == "failed" and failed["attempts"] == 1
            assert failed["error"] == DISK_FULL_MESSAGE
            assert retried["status"] == "completed"
            assert wer(LONG_TEXT, retried["result"]["text"]) <= LONG_WER_BOUND
            assert fresh["status"] == "completed"
            assert not list((instance.data_dir / "jobs").glob("*/*.tmp")), "a half-written file was left behind"


def test_unwritable_data_dir_is_refused_at_start(tmp_path: Path, settings: Settings) -> None:
    with record(
        GROUP,
        "Unwritable data dir at start",
        action="start `stt-studio serve` with STT_DATA_DIR on a read-only file system, and below a regular file",
        expected="it exits at once (status 2) with a message naming the folder, no traceback",
    ) as row:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        cases = {"below a file": blocker / "data"}
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        ro_problem = mount_tmpfs(read_only, "size=1m,ro")
        ro_mounted = ro_problem is None
        if ro_mounted:
            cases["read-only file system"] = read_only / "data"
        try:
            outcomes = {}
            for name, data_dir in cases.items():
                env = live.service_env(data_dir, settings.resolved_models_dir)
                done = subprocess.run([sys.executable, "-m", "stt_studio", "serve", "--port", "0"], env=env,
                                      capture_output=True, text=True, timeout=120)  # fmt: skip
                outcomes[name] = (done.returncode, " ".join(done.stderr.split()))
        finally:
            if ro_mounted:
                subprocess.run(["umount", str(read_only)], check=False)
        row.observed = "; ".join(f"{name}: exit {code}, {message!r}" for name, (code, message) in outcomes.items())
        for code, message in outcomes.values():
            assert code == 2
            assert "cannot be written to" in message and "STT_DATA_DIR" in message
            assert "Traceback" not in message
        if ro_problem is not None:  # the case below a file held; the read-only one could not be set up
            cannot_run_here(f"the read-only file-system case: {ro_problem}")


# --- the worker out of memory ------------------------------------------------------------------------------------


def test_worker_out_of_memory(one: ServeInstance, tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    silence = tmp_path / "hour-of-silence.opus"
    live_silence = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(live_silence), "trim", "0", "3600"],
                   check=True)  # fmt: skip
    convert(live_silence, silence, "-b:a", "8k")
    live_silence.unlink()
    limit = round(FRESH_WORKER_DATA_MB[0] + 350)
    with (
        record(
            GROUP,
            "Worker out of memory",
            action=f"serve with STT_WORKER_MEMORY_LIMIT_MB={limit} (the idle worker + 350 MB); submit an hour of "
            f"audio ({silence.stat().st_size // 1024} KB of Opus: ~460 MB once decoded), then a short clip",
            expected="the hour fails with 'ran out of memory' (no retry); the worker is replaced; the next job "
            "completes",
        ) as row,
        serve(tmp_path, settings.resolved_models_dir, STT_WORKER_MEMORY_LIMIT_MB=str(limit)) as instance,
    ):
        first_worker = instance.wait_for_ready_worker()
        big = live.wait_job(instance.url, live.submit(instance.url, silence), timeout=600)
        failed_at = time.monotonic()
        new_worker = instance.wait_for_ready_worker(not_pid=first_worker)
        replaced_after = time.monotonic() - failed_at
        after = live.wait_job(instance.url, live.submit(instance.url, short_wav))
        row.observed = (
            f"{big['status']} after {big['attempts']} attempt(s): {big.get('error')!r}; worker pid {first_worker} "
            f"replaced by {new_worker}; next job {after['status']}"
        )
        row.figures = {"limit (MB)": limit, "new worker ready after (s)": round(replaced_after, 1)}
        assert big["status"] == "failed" and big["attempts"] == 1
        assert "ran out of memory" in big["error"] and "STT_WORKER_MEMORY_LIMIT_MB" in big["error"]
        assert not psutil.pid_exists(first_worker) or first_worker not in {p.pid for p in instance.workers()}
        assert after["status"] == "completed"
        assert wer(SHORT_TEXT, after["result"]["text"]) <= SHORT_CLIP_WER_BOUND


# --- CUDA faults raised inside a real job (the texts CTranslate2 and torch raise; tests/test_cuda_faults.py) ------


def test_gpu_out_of_memory_retries_once_at_half_the_batch(tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    with (
        record(
            GROUP,
            "GPU out of memory in a job",
            action="a job raises CTranslate2's 'CUDA failed with error out of memory' as it enters transcribing: once "
            "(first job), then every time (second job)",
            expected="each is run again at once in the same worker with half the batch size; the first completes, the "
            "second fails naming the model and the free memory; no worker restart, no RQ retry",
        ) as row,
        # a serve of its own: the module's `one` may have lost its worker's RQ registration to the Valkey that
        # earlier tests kill, and then no worker counts as ready
        serve(tmp_path, settings.resolved_models_dir) as one,
    ):
        pid = one.wait_for_ready_worker()
        try:
            one.faults.raise_in("oom", "transcribing", times=1)
            recovered = live.wait_job(one.url, live.submit(one.url, short_wav))
            one.faults.raise_in("oom", "transcribing")
            failed = live.wait_job(one.url, live.submit(one.url, short_wav))
        finally:
            one.faults.stop_raising("oom", "transcribing")
        raised = one.faults.raised("oom", "transcribing")
        batches = [Job.fetch(j["job_id"], connection=one.redis()).meta.get("batch_sizes") for j in (recovered, failed)]
        row.observed = (
            f"first {recovered['status']} (batch sizes {batches[0]}), second {failed['status']} (batch sizes "
            f"{batches[1]}): {failed.get('error')!r}; {len(raised)} faults raised, by worker(s) "
            f"{sorted({p for p, _ in raised})}"
        )
        assert recovered["status"] == "completed" and recovered["attempts"] == 1
        assert wer(SHORT_TEXT, recovered["result"]["text"]) <= SHORT_CLIP_WER_BOUND
        assert failed["status"] == "failed" and failed["attempts"] == 1
        assert batches == [[4, 2], [4, 2]]
        assert [job for _, job in raised] == [recovered["job_id"], failed["job_id"], failed["job_id"]]
        assert {p for p, _ in raised} == {pid} and one.wait_for_ready_worker() == pid, "the worker was replaced"
        assert failed["error"].startswith("Out of memory running the Whisper model 'tiny.en' (batch size 4 and 2): ")
        assert "MB of memory free" in failed["error"]


def test_sticky_cuda_fault_reruns_once_in_a_fresh_worker(tmp_path: Path, settings: Settings, short_wav: Path) -> None:
    with (
        record(
            GROUP,
            "Sticky CUDA fault in a job",
            action="a job raises torch's 'CUDA error: an illegal memory access was encountered' as it enters "
            "transcribing: once (first job), then on every attempt (second job)",
            expected="the fault is recorded on the job, the worker exits and is replaced, the job runs again there "
            "once: the first completes on the new worker (attempts 2), the second fails plainly after 2 attempts",
        ) as row,
        # a serve of its own: the module's `one` may have lost its worker's RQ registration to the Valkey that
        # earlier tests kill, and then no worker counts as ready
        serve(tmp_path, settings.resolved_models_dir) as one,
    ):
        first = one.wait_for_ready_worker()
        try:
            one.faults.raise_in("sticky", "transcribing", times=1)
            recovered = live.wait_job(one.url, live.submit(one.url, short_wav), timeout=600)
            second = one.wait_for_ready_worker()
            one.faults.raise_in("sticky", "transcribing")
            failed = live.wait_job(one.url, live.submit(one.url, short_wav), timeout=600)
        finally:
            one.faults.stop_raising("sticky", "transcribing")
        raised = one.faults.raised("sticky", "transcribing")
        pids = [pid for pid, _ in raised]
        fourth = one.wait_for_ready_worker(not_pid=pids[-1])  # the last fault ended its worker too
        recorded = [Job.fetch(j["job_id"], connection=one.redis()).meta.get("cuda_faults") for j in (recovered, failed)]
        row.observed = (
            f"first {recovered['status']} after {recovered['attempts']} attempts, second {failed['status']} after "
            f"{failed['attempts']}: {failed.get('error')!r}; faults raised by workers {pids}, each then replaced "
            f"(the last by {fourth})"
        )
        fault = "CUDA error: an illegal memory access was encountered"
        assert recovered["status"] == "completed" and recovered["attempts"] == 2
        assert wer(SHORT_TEXT, recovered["result"]["text"]) <= SHORT_CLIP_WER_BOUND
        assert failed["status"] == "failed" and failed["attempts"] == 2, "a sticky fault was retried more than once"
        assert recorded == [[fault], [fault, fault]]
        assert [job for _, job in raised] == [recovered["job_id"], failed["job_id"], failed["job_id"]]
        assert pids[:2] == [first, second] and len({*pids, fourth}) == 4, "a fault's worker took another job"
        assert failed["error"] == (
            "A CUDA error that leaves the GPU unusable to its process stopped this job twice, each time in a fresh "
            f"worker (model 'tiny.en'): {fault}. Check the GPU and its driver (nvidia-smi), then retry the job."
        )
