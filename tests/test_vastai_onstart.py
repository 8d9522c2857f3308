"""The Vast.ai on-start script (packaging/vastai/onstart.sh), started the way the template starts it.

The end-to-end test runs the template's on-start field, copied from packaging/vastai/README.md, with a temporary
directory in place of /workspace and a temporary git repository in place of GitHub: it clones, the script starts
`serve`, and after a hard stop of everything (as when the instance is stopped) a second start updates the
checkout, keeps the key and the queue, and a job queued before the stop is transcribed after it. The installation
itself (scripts/setup.sh: minutes and gigabytes of CUDA wheels) is not repeated: STT_VENV points the script at
the environment running these tests. When that step runs is checked separately, with a stand-in setup.sh.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from stt_studio.api_keys import ApiKeyStore, hash_key, keys_file
from tests import live
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, wer

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "packaging" / "vastai" / "onstart.sh"
GUIDE = REPO_ROOT / "packaging" / "vastai" / "README.md"
BRANCH = "vastai-onstart-test"
CREATED_KEY = re.compile(r"stt_[A-Za-z0-9_-]{20,}")
UPDATED_MARK = "on-start revision 2 (pushed by the test)"


def _git(*args: str, cwd: Path | None = None) -> str:
    identity = ["-c", "user.name=STT Studio tests", "-c", "user.email=tests@stt-studio.invalid"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def onstart_field(workspace: Path) -> str:
    """The on-start field of the guide's template, with ``workspace`` for /workspace."""
    match = re.search(r"<!-- on-start field -->\s*```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert match, f"{GUIDE} lost its on-start field block"
    return match.group(1).replace("/workspace", str(workspace))


@dataclass
class Box:
    """A stand-in for one Vast.ai instance and the repository it clones."""

    workspace: Path
    origin: Path
    work: Path
    """A clone of ``origin`` to push updates from."""

    @property
    def checkout(self) -> Path:
        return self.workspace / "stt-studio"

    @property
    def valkey_pidfile(self) -> Path:
        return self.workspace / "stt-data" / "redis" / "valkey.pid"


def _box(tmp_path: Path) -> Box:
    """The repository to clone from: this repository's HEAD plus the working tree's on-start script, committed on a
    branch of a temporary copy (in CI both are the same commit), so the instance runs the script under test."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("needs a git checkout of the repository")
    box = Box(tmp_path / "workspace", tmp_path / "origin.git", tmp_path / "work")
    _git("clone", "--quiet", "--bare", str(REPO_ROOT), str(box.origin))
    _git("clone", "--quiet", str(box.origin), str(box.work))
    _git("checkout", "--quiet", "-B", BRANCH, cwd=box.work)
    shutil.copy2(SCRIPT, box.work / "packaging" / "vastai" / "onstart.sh")
    _git("commit", "--quiet", "--allow-empty", "-am", "on-start script under test", cwd=box.work)
    _git("push", "--quiet", "origin", BRANCH, cwd=box.work)
    _git("symbolic-ref", "HEAD", f"refs/heads/{BRANCH}", cwd=box.origin)  # what a plain clone checks out
    return box


def _push_script_update(box: Box) -> str:
    """A new commit whose on-start script announces itself; returns the commit."""
    script = box.work / "packaging" / "vastai" / "onstart.sh"
    lines = script.read_text(encoding="utf-8").splitlines(keepends=True)
    script.write_text("".join([lines[0], f'echo "{UPDATED_MARK}"\n', *lines[1:]]), encoding="utf-8")
    _git("commit", "--quiet", "-am", "on-start script, revision 2", cwd=box.work)
    _git("push", "--quiet", "origin", BRANCH, cwd=box.work)
    return _git("rev-parse", "HEAD", cwd=box.work)


def _env(box: Box, port: int, workers: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "REDIS_", "HF_", "WHISPER_", "TORCH_"))}
    env.update(
        STT_WORKSPACE=str(box.workspace),  # the field names /workspace (replaced); the script reads this
        STT_REPO_URL=str(box.origin),
        STT_VENV=sys.prefix,  # the installed environment these tests run in: no scripts/setup.sh
        STT_PORT=str(port),
        STT_WORKERS=str(workers),
        WHISPER_MODEL_SIZE="tiny.en",
        WHISPER_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        STT_DIARIZATION_BACKEND="local",
    )
    env.update(extra)
    return env


def _start(box: Box, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run the template's on-start field; its output (the instance log) goes to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(["bash", "-c", onstart_field(box.workspace)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _serve_of(session: int) -> psutil.Process | None:
    """The `stt-studio serve` that the on-start run in ``session`` became."""
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if os.getsid(proc.pid) == session and "serve" in (proc.info["cmdline"] or []):
                return proc
        except (ProcessLookupError, PermissionError):
            continue
    return None


def _wait_until_serving(url: str, field: subprocess.Popen[bytes], log: Path) -> psutil.Process:
    def answered() -> bool:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200

    try:
        live.wait_for(answered, 180, f"serve on {url}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- on-start output ---\n{log.read_text(errors='replace')}") from None
    serve = _serve_of(field.pid)
    assert serve is not None, "serve does not run in the on-start's session"
    return serve


def _everything_of(serve: psutil.Process, box: Box) -> list[psutil.Process]:
    """serve, its workers and the embedded Valkey: what the instance runs for STT Studio."""
    procs = [serve, *serve.children(recursive=True)]
    valkey = int(box.valkey_pidfile.read_text().strip())
    if valkey not in {p.pid for p in procs}:
        procs.append(psutil.Process(valkey))
    return procs


def _gone(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() == psutil.STATUS_ZOMBIE)  # dead, waiting for whoever adopted it to reap it
    except psutil.NoSuchProcess:
        return True


def _left_running(box: Box, session: int) -> list[psutil.Process]:
    """Processes in the on-start's session or using the workspace (the embedded Valkey names it)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            in_session = os.getsid(proc.pid) == session
        except (ProcessLookupError, PermissionError):
            continue
        uses_workspace = any(str(box.workspace) in part for part in proc.info["cmdline"] or [])
        if (in_session or uses_workspace) and not _gone(proc):
            found.append(proc)
    return found


def _assert_nothing_left(procs: list[psutil.Process], box: Box, session: int) -> None:
    live.wait_for(lambda: all(_gone(p) for p in procs), 30, "serve, its workers and Valkey to end")
    left = _left_running(box, session)
    assert not left, f"processes left running: {left}"


def _kill_leftovers(box: Box, sessions: list[int]) -> None:
    """After a failure: nothing of this test may keep running (or keep its port)."""
    for session in sessions:
        for proc in _left_running(box, session):
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


def _in_append_only_file(box: Box, text: str) -> bool:
    aof = box.workspace / "stt-data" / "redis" / "appendonlydir"
    return any(text.encode() in path.read_bytes() for path in aof.glob("*.aof"))


def _files_containing(root: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and needle in p.read_bytes()]


@pytest.mark.slow
def test_onstart_serves_and_keeps_key_and_queue_across_a_restart(tmp_path: Path, short_wav: Path) -> None:
    box = _box(tmp_path)
    sessions: list[int] = []
    try:
        _first_start_stop_and_second_start(box, tmp_path, short_wav, sessions)
    finally:
        _kill_leftovers(box, sessions)


def _first_start_stop_and_second_start(box: Box, tmp_path: Path, short_wav: Path, sessions: list[int]) -> None:
    port = live.free_port()
    url = f"http://127.0.0.1:{port}"
    first_log, second_log = tmp_path / "onstart-1.log", tmp_path / "onstart-2.log"

    # First start: no worker, so the job submitted below is still queued when the instance stops. A model that
    # can't be fetched (offline) is reported and the start goes on.
    field = _start(box, _env(box, port, workers=0, STT_PREFETCH_MODELS="tiny.en small"), first_log)
    sessions.append(field.pid)
    serve = _wait_until_serving(url, field, first_log)
    output = first_log.read_text()
    assert f"console output: {box.workspace / 'stt-serve.log'}" in output, output
    created = CREATED_KEY.findall(output)
    assert len(created) == 1, output
    key = created[0]
    assert "could not pre-fetch small" in output
    assert httpx.get(f"{url}/queue/stats", timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {key}"}
    stats = httpx.get(f"{url}/queue/stats", headers=auth, timeout=10)
    assert stats.status_code == 200 and stats.json()["redis_healthy"], stats.text
    with short_wav.open("rb") as audio:
        submitted = httpx.post(f"{url}/transcribe/async", headers=auth, files={"file": (short_wav.name, audio)},
                               timeout=60)  # fmt: skip
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.json()["job_id"]
    queued = httpx.get(f"{url}/jobs/{job_id}", headers=auth, timeout=10)
    assert queued.status_code == 200 and queued.json()["status"] == "queued", queued.text

    # The instance stops, once the job is in Valkey's append-only file: every process dies at once.
    live.wait_for(lambda: _in_append_only_file(box, job_id), 10, f"job {job_id} in the append-only file")
    running = _everything_of(serve, box)
    for proc in running:
        proc.send_signal(signal.SIGKILL)
    _assert_nothing_left(running, box, field.pid)
    field.wait(10)

    # Second start, after a new commit: the updated script runs, the key from the first start still works and is
    # not printed again, and the queued job is transcribed.
    new_head = _push_script_update(box)
    field = _start(box, _env(box, port, workers=1), second_log)
    sessions.append(field.pid)
    serve = _wait_until_serving(url, field, second_log)
    output = second_log.read_text()
    assert UPDATED_MARK in output, output
    assert _git("rev-parse", "HEAD", cwd=box.checkout) == new_head
    assert not CREATED_KEY.findall(output) and "API keys: the one(s) in" in output, output
    job = live.wait_for(lambda: _finished(url, job_id, auth), 300, f"job {job_id} after the restart", interval=0.5)
    assert job["status"] == "completed", job
    assert wer(SHORT_TEXT, job["result"]["text"]) <= SHORT_CLIP_WER_BOUND, job["result"]["text"]

    assert _files_containing(box.workspace, key) == []  # the created key is only ever in the on-start output

    running = _everything_of(serve, box)
    serve.send_signal(signal.SIGTERM)  # a clean stop: serve ends its workers and Valkey
    _assert_nothing_left(running, box, field.pid)
    field.wait(10)


def _finished(url: str, job_id: str, auth: dict[str, str]) -> dict[str, Any] | None:
    response = httpx.get(f"{url}/jobs/{job_id}", headers=auth, timeout=10)
    assert response.status_code == 200, f"job {job_id} after the restart: {response.status_code} {response.text}"
    job: dict[str, Any] = response.json()
    return job if job["status"] in live.FINAL else None


# --- when scripts/setup.sh runs (fast: a stand-in setup.sh that only records its runs) ------------------------

STAND_IN_SETUP = """#!/usr/bin/env bash
cd "$(dirname "$0")/.."
echo run >> setup-runs
mkdir -p .venv/bin && printf '#!/bin/sh\\n' > .venv/bin/stt-studio && chmod +x .venv/bin/stt-studio
exit "${SETUP_EXIT:-0}"
"""


def _setup_if_needed(checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = f'source "{SCRIPT}"; configure; setup_if_needed'
    full_env = {"PATH": os.environ["PATH"], "STT_WORKSPACE": str(checkout.parent), "STT_CHECKOUT": str(checkout)}
    full_env.update(env)
    return subprocess.run(["bash", "-c", command], env=full_env, capture_output=True, text=True, timeout=60)


def _runs(checkout: Path) -> int:
    runs = checkout / "setup-runs"
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def test_setup_runs_on_the_first_start_and_after_dependencies_change(tmp_path: Path) -> None:
    checkout = tmp_path / "stt-studio"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "stt-studio"\n')
    (checkout / "scripts" / "setup.sh").write_text(STAND_IN_SETUP)
    (checkout / "scripts" / "setup.sh").chmod(0o755)

    assert _setup_if_needed(checkout).returncode == 0 and _runs(checkout) == 1
    again = _setup_if_needed(checkout)
    assert again.returncode == 0 and _runs(checkout) == 1, again.stderr
    assert "up to date" in again.stdout

    (checkout / "pyproject.toml").write_text('[project]\nname = "stt-studio"\ndependencies = ["x"]\n')
    assert _setup_if_needed(checkout).returncode == 0 and _runs(checkout) == 2
    assert _setup_if_needed(checkout).returncode == 0 and _runs(checkout) == 2

    # A failed install (PyPI unreachable, …) starts the earlier environment and is tried again next time.
    (checkout / "scripts" / "setup.sh").write_text(STAND_IN_SETUP + "# changed\n")
    failed = _setup_if_needed(checkout, SETUP_EXIT="1")
    assert failed.returncode == 0 and "starting with the environment installed before" in failed.stderr
    assert _setup_if_needed(checkout).returncode == 0 and _runs(checkout) == 4


def test_a_first_setup_that_fails_stops_the_start(tmp_path: Path) -> None:
    checkout = tmp_path / "stt-studio"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "stt-studio"\n')
    setup = checkout / "scripts" / "setup.sh"
    setup.write_text('#!/usr/bin/env bash\necho "pip: no network" >&2\nexit 1\n')
    setup.chmod(0o755)
    done = _setup_if_needed(checkout)
    assert done.returncode == 1
    assert "no earlier installation to fall back on" in done.stderr


def test_a_given_installation_is_used_as_is(tmp_path: Path) -> None:
    """STT_VENV elsewhere (e.g. the project's image, /opt/stt-studio): no setup, and it must have stt-studio."""
    installed = tmp_path / "opt"
    (installed / "bin").mkdir(parents=True)
    done = _setup_if_needed(tmp_path / "no-checkout", STT_VENV=str(installed))
    assert done.returncode == 1 and "has no bin/stt-studio" in done.stderr
    (installed / "bin" / "stt-studio").write_text("#!/bin/sh\n")
    (installed / "bin" / "stt-studio").chmod(0o755)
    done = _setup_if_needed(tmp_path / "no-checkout", STT_VENV=str(installed))
    assert done.returncode == 0 and "Using the installation in" in done.stdout


# --- which start prints a key (the real `stt-studio keys`, a temporary data dir) ------------------------------


def _ensure_api_key(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = f'source "{SCRIPT}"; configure; ensure_api_key'
    full_env = {"PATH": os.environ["PATH"], "STT_WORKSPACE": str(tmp_path), "STT_VENV": sys.prefix, **env}
    return subprocess.run(["bash", "-c", command], env=full_env, capture_output=True, text=True, timeout=60)


def test_a_given_key_is_never_printed_and_none_is_created(tmp_path: Path) -> None:
    given = f"given-{secrets.token_urlsafe(16)}"
    done = _ensure_api_key(tmp_path, STT_API_KEYS=given)
    assert done.returncode == 0, done.stderr
    assert "from STT_API_KEYS (not shown)" in done.stdout
    assert given not in done.stdout + done.stderr
    assert not CREATED_KEY.findall(done.stdout + done.stderr)
    assert not (tmp_path / "stt-data" / "api-keys.json").exists()


@pytest.mark.parametrize(
    "env", [{"STT_HOST": "127.0.0.1"}, {"STT_REQUIRE_API_KEY": "never"}], ids=["loopback", "never"]
)
def test_no_key_is_created_where_none_is_required(tmp_path: Path, env: dict[str, str]) -> None:
    done = _ensure_api_key(tmp_path, **env)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    assert not (tmp_path / "stt-data" / "api-keys.json").exists()


def test_the_first_start_prints_a_working_key_once(tmp_path: Path) -> None:
    first = _ensure_api_key(tmp_path)
    printed = CREATED_KEY.findall(first.stdout)
    assert first.returncode == 0 and len(printed) == 1, first.stdout + first.stderr
    store = ApiKeyStore(keys_file(tmp_path / "stt-data"))
    assert [r.sha256 for r in store.records()] == [hash_key(printed[0])]
    second = _ensure_api_key(tmp_path)
    assert second.returncode == 0 and not CREATED_KEY.findall(second.stdout + second.stderr)
    assert len(store.records()) == 1
