"""The deployment scenario on real containers: the compose stack (docker-compose.yml) run with podman-compose.

packaging/container-test.sh sets podman up, builds the images and runs this module; tests/test_containers.py runs
that script. Each step checks what it shows and stops with ScenarioError when it is wrong; the findings are
printed as a summary and written as JSON.

    python -m tests.container_scenario --compose .venv/bin/podman-compose --redis-image IMAGE --work DIR \
        --summary DIR/summary.json      (with CONTAINERS_CONF set and the images built, as the script does)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from tests import live
from tests.speech import SENTENCES, SHORT_CLIP_WER_BOUND, SHORT_TEXT, speech_clip, wer

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO.parent / "shared" / "contract" / "ASYNC_API.md"
PROJECT = "stt-container-test"
COMPOSE_FILES = "docker-compose.yml:packaging/compose.cpu.yml"  # no GPU here: the CPU override drops the reservation
CONTRACT_WER_BOUND = 0.15
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The contract's example sends no key; an exposed API requires one. The example's code runs unchanged, and every
# request it makes carries the key, as a real client's session would.
WITH_API_KEY = """\
import os as _os, requests as _requests
_send = _requests.Session.request
def _request_with_key(self, method, url, **kwargs):
    kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-API-Key": _os.environ["STT_API_KEY"]}
    return _send(self, method, url, **kwargs)
_requests.Session.request = _request_with_key
"""


class ScenarioError(AssertionError):
    """A step did not show what it should."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioError(message)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Stack:
    """The compose project under test: how to run podman-compose and podman, and how to reach the API."""

    compose_cmd: str
    port: int
    api_key: str
    redis_password: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def compose(self, *args: str, timeout: float = 900) -> str:
        """Run a compose command exactly as the contract writes it (podman-compose in place of docker-compose)."""
        say(f"$ docker-compose {' '.join(args)}   (podman-compose)")
        proc = self.run([self.compose_cmd, *args], timeout)
        return proc.stdout + proc.stderr

    def podman(self, *args: str, timeout: float = 300, ok: bool = True) -> str:
        proc = self.run(["podman", *args], timeout, ok=ok)
        return proc.stdout + proc.stderr

    def run(self, command: list[str], timeout: float, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(command)}  -> {proc.returncode}\n{proc.stdout}{proc.stderr}\n")
        if ok and proc.returncode != 0:
            raise ScenarioError(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def containers(self, service: str) -> list[str]:
        out = self.podman(
            "ps", "--filter", f"label=com.docker.compose.project={PROJECT}",
            "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}",
        )  # fmt: skip
        return sorted(out.split())

    def project_containers(self) -> list[str]:
        label = f"label=io.podman.compose.project={PROJECT}"
        return sorted(self.podman("ps", "-a", "--filter", label, "--format", "{{.Names}}").split())

    def remove_project(self) -> None:
        """Remove every container, volume and network of the project, whatever state a previous run left."""
        self.podman("pod", "rm", "--force", "--ignore", f"pod_{PROJECT}", ok=False)
        for name in self.project_containers():
            self.podman("rm", "--force", "--depend", "--ignore", name, ok=False)
        volumes = self.podman("volume", "ls", "-q", "--filter", f"label=io.podman.compose.project={PROJECT}")
        for volume in volumes.split():
            self.podman("volume", "rm", "--force", volume, ok=False)
        self.podman("network", "rm", "--force", f"{PROJECT}_default", ok=False)
        check(not self.project_containers(), f"containers of {PROJECT} left: {self.project_containers()}")

    def container_log(self, name: str) -> str:
        """The container's output with colours removed and Rich's wrapped lines joined."""
        return re.sub(r"\s+", " ", ANSI.sub("", self.podman("logs", name)))

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, headers=self.headers, timeout=30)
        check(response.status_code == 200, f"GET {path}: {response.status_code} {response.text}")
        return response.json()

    def submit(self, audio: Path, **form: str) -> str:
        with audio.open("rb") as f:
            response = httpx.post(
                f"{self.url}/transcribe/async", files={"file": (audio.name, f)}, data=form, headers=self.headers,
                timeout=60,
            )  # fmt: skip
        check(response.status_code == 200, f"submit: {response.status_code} {response.text}")
        job_id: str = response.json()["job_id"]
        return job_id

    def wait_job(self, job_id: str, timeout: float = 600) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            job: dict[str, Any] = self.get(f"/jobs/{job_id}")
            return job if job["status"] in live.FINAL else None

        return live.wait_for(final, timeout, f"job {job_id}", interval=0.5)

    def wait_ready(self, workers: int, timeout: float = 900) -> float:
        """Seconds until the API answers with Redis healthy and this many workers registered."""
        started = time.monotonic()

        def ready() -> bool:
            stats = self.get("/queue/stats")
            return bool(stats["redis_healthy"] and stats["workers"] >= workers)

        live.wait_for(ready, timeout, f"the API with {workers} worker(s)", interval=1.0)
        return time.monotonic() - started


def finished_by(stack: Stack, job_ids: list[str]) -> dict[str, str]:
    """Which worker container logged 'Job OK' for each job (each job must be finished by exactly one)."""
    logs = {name: stack.container_log(name) for name in stack.containers("stt-worker")}
    owners: dict[str, str] = {}
    for job_id in job_ids:
        names = [name for name, text in logs.items() if f"Job OK ({job_id})" in text]
        check(len(names) == 1, f"job {job_id} finished in {len(names)} worker containers: {names}")
        owners[job_id] = names[0]
    return owners


# --- the steps --------------------------------------------------------------------------------------------------
def contract_example(stack: Stack, audio_dir: Path) -> dict[str, Any]:
    """The contract's Python example, run unchanged against the stack (its URL's port rewritten)."""
    code = re.search(r"### Python Example\s+```python\n(.*?)```", CONTRACT.read_text(encoding="utf-8"), re.S)
    check(code is not None, f"no Python example in {CONTRACT}")
    assert code is not None
    example = code.group(1).replace("localhost:8000", f"localhost:{stack.port}")
    workdir = audio_dir / "contract-example"
    workdir.mkdir(exist_ok=True)
    (workdir / "call.wav").write_bytes(speech_clip(audio_dir / "contract", SENTENCES, "sentences").read_bytes())
    say("Running the contract's Python example (diarization on, language en)")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", WITH_API_KEY + example], cwd=workdir, capture_output=True, text=True, timeout=900,
        env={**os.environ, "STT_API_KEY": stack.api_key},
    )  # fmt: skip
    check(proc.returncode == 0, f"the contract example failed:\n{proc.stdout}\n{proc.stderr}")
    lines = proc.stdout.splitlines()
    job_id = next((line.split(": ", 1)[1] for line in lines if line.startswith("Job created: ")), "")
    check(bool(job_id), f"no 'Job created' line:\n{proc.stdout}")
    transcript = proc.stdout.split("Transcription:", 1)[-1].strip()
    error_rate = wer(" ".join(SENTENCES), transcript)
    check(error_rate <= CONTRACT_WER_BOUND, f"WER {error_rate:.2f} on the contract example:\n{proc.stdout}")
    statuses = [line for line in lines if line.startswith("Status: ")]
    job = stack.get(f"/jobs/{job_id}")
    speakers = sorted({s.get("speaker") for s in job["result"]["segments"] if s.get("speaker")})
    say(f"  {lines[0]}; {len(statuses)} status lines; WER {error_rate:.1%}; speakers {speakers}")
    return {
        "job_id": job_id,
        "first_lines": lines[:3],
        "status_lines": len(statuses),
        "transcription": transcript,
        "wer": round(error_rate, 3),
        "speakers": speakers,
        "seconds": round(time.monotonic() - started, 1),
    }


def follow_logs(stack: Stack, seconds: float = 8) -> list[str]:
    """`docker-compose logs -f stt-worker` follows the worker's output (stopped after a few seconds)."""
    say("$ docker-compose logs -f stt-worker   (podman-compose, stopped after a few seconds)")
    proc = subprocess.Popen(
        [stack.compose_cmd, "logs", "-f", "stt-worker"], cwd=REPO, env=stack.env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(seconds)
    check(proc.poll() is None, "logs -f exited instead of following")
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    lines = [ANSI.sub("", line) for line in out.splitlines() if line.strip()]
    check(any("Worker ready" in line for line in lines), f"no 'Worker ready' in the worker's log:\n{out[-2000:]}")
    return [line.rstrip() for line in lines if "Worker ready" in line or "Job OK" in line][:4]


def spread(stack: Stack, clip: Path, jobs: int = 6) -> dict[str, Any]:
    """Jobs submitted at once to three workers: each runs once, and more than one worker takes some."""
    say(f"Submitting {jobs} jobs at once")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        ids = list(pool.map(lambda _: stack.submit(clip, language="en"), range(jobs)))
    results = [stack.wait_job(job_id) for job_id in ids]
    check(all(j["status"] == "completed" for j in results), f"not all completed: {[j['status'] for j in results]}")
    check([j["attempts"] for j in results] == [1] * jobs, "a job ran more than once")
    for job in results:
        error_rate = wer(SHORT_TEXT, job["result"]["text"])
        check(error_rate <= SHORT_CLIP_WER_BOUND, f"WER {error_rate:.2f}: {job['result']['text']}")
    owners = finished_by(stack, ids)
    per_worker: dict[str, int] = {}
    for name in owners.values():
        per_worker[name] = per_worker.get(name, 0) + 1
    check(len(per_worker) > 1, f"all {jobs} jobs ran on one worker: {per_worker}")
    say(f"  jobs per worker container: {per_worker}")
    return {"jobs": owners, "per_worker": per_worker}


def kill_mid_job(stack: Stack, long_clip: Path) -> dict[str, Any]:
    """SIGKILL the worker container running a job; the job must finish on another worker."""
    job_id = stack.submit(long_clip, language="en")

    def running_in() -> str | None:
        if stack.get(f"/jobs/{job_id}")["status"] != "processing":
            return None
        holders = [name for name in stack.containers("stt-worker") if job_id in stack.container_log(name)]
        return holders[0] if len(holders) == 1 else None

    victim = live.wait_for(running_in, 300, f"job {job_id} to be processing", interval=0.5)
    progress = stack.get(f"/jobs/{job_id}")["progress"]
    say(f"Job {job_id} is processing in {victim} ({progress}%): podman kill --signal KILL {victim}")
    stack.podman("kill", "--signal", "KILL", victim)
    killed_at = time.monotonic()
    job = stack.wait_job(job_id, timeout=600)
    recovered_seconds = time.monotonic() - killed_at
    check(job["status"] == "completed", f"the killed job ended {job['status']}: {job}")
    check(job["attempts"] == 2, f"attempts {job['attempts']}, expected 2 (one killed, one finished)")
    error_rate = wer(" ".join(SENTENCES * 2), job["result"]["text"])
    check(error_rate <= CONTRACT_WER_BOUND, f"WER {error_rate:.2f} on the re-run: {job['result']['text']}")
    finisher = finished_by(stack, [job_id])[job_id]
    victim_state = stack.podman("inspect", "--format", "{{.State.Status}} restarts={{.RestartCount}}", victim)
    say(f"  finished by {finisher} after {recovered_seconds:.0f} s; attempts {job['attempts']}; "
        f"killed container now: {victim_state.strip()}")  # fmt: skip
    check(finisher != victim, f"the job finished in the killed container {victim} (restarted), not another worker")
    return {
        "job_id": job_id,
        "killed": victim,
        "progress_when_killed": progress,
        "finished_by": finisher,
        "attempts": job["attempts"],
        "seconds_from_kill_to_completed": round(recovered_seconds),
        "killed_container_after": victim_state.strip(),
    }


def healthchecks(stack: Stack) -> dict[str, str]:
    """Run each container's healthcheck once (podman without systemd does not schedule them)."""
    results = {}
    for service in ("redis", "stt-api", "stt-worker"):
        for name in stack.containers(service):
            out = stack.podman("healthcheck", "run", name, ok=False).strip()
            results[name] = out or "healthy"
            check(results[name] == "healthy", f"{name}: healthcheck says {out}")
    return results


def down_and_up(stack: Stack, finished: dict[str, str]) -> dict[str, Any]:
    """`down` then `up -d`: the transcripts written before are still served."""
    stack.compose("down")
    # podman-compose 1.6 stops only the containers of the file's own scale (one worker); the scaled-up ones, and
    # Redis, which they depend on, stay (Docker Compose's down removes them all). Removed here, volumes kept.
    left = stack.project_containers()
    for name in left:
        stack.podman("rm", "--force", "--depend", "--ignore", name)
    check(not stack.project_containers(), f"containers left after down: {stack.project_containers()}")
    say(f"  down left {left or 'nothing'}: removed with podman rm --force (volumes kept)")
    stack.compose("up", "-d")
    seconds = stack.wait_ready(workers=1)
    for job_id, text in finished.items():
        job = stack.get(f"/jobs/{job_id}")
        check(job["status"] == "completed" and job["result"]["text"] == text, f"job {job_id} after down/up: {job}")
    listing = stack.get("/jobs", status="completed", limit=100)
    say(f"  after down/up: {len(finished)} transcripts served unchanged; {listing['count']} completed jobs listed")
    return {
        "jobs_checked": len(finished),
        "completed_listed": listing["count"],
        "ready_seconds": round(seconds),
        "left_by_podman_compose_down": left,
    }


def offline_fallback(stack: Stack, image: str, clip: Path) -> dict[str, Any]:
    """No network at all and a model that is not in the image: the bundled base model transcribes instead."""
    clip_dir = clip.parent / "mounted"  # read by the container's user: world-readable
    clip_dir.mkdir(exist_ok=True)
    clip_dir.chmod(0o755)
    (clip_dir / "short.wav").write_bytes(clip.read_bytes())
    (clip_dir / "short.wav").chmod(0o644)
    say(f"podman run --network none {image} stt-studio transcribe --model large-v3 (not in the image)")
    proc = stack.run(
        ["podman", "run", "--rm", "--network", "none", "-v", f"{clip_dir}:/clips:ro", image,
         "stt-studio", "transcribe", "/clips/short.wav", "--model", "large-v3", "--device", "cpu", "--language", "en",
         "-f", "txt", "--no-timestamps"],
        timeout=600,
    )  # fmt: skip
    warning = "so the bundled base model was used instead"  # the plain sentence, not the hub library's text
    check(warning in re.sub(r"\s+", " ", proc.stderr), f"no fallback warning:\n{proc.stderr[-3000:]}")
    error_rate = wer(SHORT_TEXT, proc.stdout)
    check(error_rate <= SHORT_CLIP_WER_BOUND, f"WER {error_rate:.2f} with the fallback model: {proc.stdout}")
    say(f"  fell back to the bundled base model: {proc.stdout.strip()!r} (WER {error_rate:.1%})")
    return {"fallback_warning": True, "transcript": proc.stdout.strip(), "wer": round(error_rate, 3)}


@contextmanager
def timed(summary: dict[str, Any], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    summary.setdefault("step_seconds", {})[name] = round(time.monotonic() - started)


def run(stack: Stack, image: str, work: Path, summary: dict[str, Any]) -> None:
    audio_dir = work / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    short = speech_clip(audio_dir / "short", SENTENCES[:2], "short")
    long = speech_clip(audio_dir / "long", SENTENCES * 2, "long")  # about 100 s: caught mid-job

    def step(name: str, action: Callable[[], Any]) -> Any:
        with timed(summary, name):
            result = action()
        summary[name] = result
        return result

    stack.remove_project()  # what a run cut short before left behind
    step("up", lambda: (stack.compose("up", "-d"), round(stack.wait_ready(workers=1)))[1])
    unauthorized = httpx.get(f"{stack.url}/jobs", timeout=10)
    check(unauthorized.status_code == 401, f"no key: {unauthorized.status_code}, expected 401")
    redis_name = stack.containers("redis")[0]
    noauth = stack.podman("exec", redis_name, "redis-cli", "ping", ok=False)
    check("NOAUTH" in noauth, f"Redis answered without its password: {noauth}")
    summary["auth"] = {"api_without_key": unauthorized.status_code, "redis_without_password": noauth.strip()}
    contract = step("contract_example", lambda: contract_example(stack, audio_dir))
    step("logs", lambda: (stack.compose("logs", "stt-worker"), follow_logs(stack))[1])
    step("scale", lambda: (stack.compose("up", "-d", "--scale", "stt-worker=3"), round(stack.wait_ready(3)))[1])
    summary["workers_after_scale"] = stack.containers("stt-worker")
    check(len(summary["workers_after_scale"]) == 3, f"workers after scale: {summary['workers_after_scale']}")
    step("healthchecks", lambda: healthchecks(stack))
    spread_result = step("spread", lambda: spread(stack, short))
    kill = step("kill", lambda: kill_mid_job(stack, long))
    finished = {job_id: stack.get(f"/jobs/{job_id}")["result"]["text"] for job_id in
                [contract["job_id"], *spread_result["jobs"], kill["job_id"]]}  # fmt: skip
    step("down_up", lambda: down_and_up(stack, finished))
    step("offline_fallback", lambda: offline_fallback(stack, image, short))


def print_summary(summary: dict[str, Any]) -> None:
    print("\n===== container test summary =====")
    print(json.dumps(summary, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compose", required=True, help="the podman-compose executable")
    parser.add_argument("--image", default="stt-studio:gpu", help="the image the stack runs (built beforehand)")
    parser.add_argument("--redis-image", required=True, help="REDIS_IMAGE for the stack")
    parser.add_argument("--work", type=Path, required=True, help="a directory for audio and logs")
    parser.add_argument("--summary", type=Path, required=True, help="where to write the summary (JSON)")
    parser.add_argument("--keep", action="store_true", help="leave the stack running at the end")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    target = args.image.rsplit(":", 1)[-1]
    stack = Stack(
        compose_cmd=args.compose, port=live.free_port(), api_key=secrets.token_urlsafe(24),
        redis_password=secrets.token_urlsafe(16), log=args.work / "commands.log",
    )  # fmt: skip
    stack.env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": PROJECT,
        "COMPOSE_FILE": COMPOSE_FILES,
        "STT_TARGET": target,
        "REDIS_IMAGE": args.redis_image,
        "STT_API_PORT": f"127.0.0.1:{stack.port}",
        "STT_API_KEYS": stack.api_key,
        "REDIS_PASSWORD": stack.redis_password,
        "WHISPER_MODEL_SIZE": "tiny.en",
        "WHISPER_DEVICE": "cpu",
        "STT_OFFLINE": "true",
    }
    stack.log.write_text("", encoding="utf-8")
    summary: dict[str, Any] = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "image": args.image}
    started = time.monotonic()
    failure: BaseException | None = None
    try:
        run(stack, args.image, args.work, summary)
    except BaseException as exc:
        failure = exc
        summary["failed"] = f"{type(exc).__name__}: {exc}"
        for service in ("stt-api", "stt-worker"):
            for name in stack.containers(service):
                summary.setdefault("last_log_lines", {})[name] = stack.podman("logs", "--tail", "30", name, ok=False)
    finally:
        summary["seconds"] = round(time.monotonic() - started)
        if not args.keep:
            try:
                stack.compose("down", "-v")
                stack.remove_project()
            except (ScenarioError, subprocess.TimeoutExpired) as exc:
                print(f"could not take the stack down: {exc}", file=sys.stderr)
        args.summary.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        print_summary(summary)
    if failure is not None:
        raise failure
    return 0


if __name__ == "__main__":
    sys.exit(main())
