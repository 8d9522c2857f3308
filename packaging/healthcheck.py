#!/usr/bin/env python3
"""The container healthcheck (installed as ``stt-healthcheck``): exit 0 when healthy, 1 otherwise.

stt-healthcheck api      the REST API in this container answers GET /health with 200 (Redis reachable)
stt-healthcheck worker   the worker in this container is registered in Redis and its heartbeat is fresh
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request


def api_healthy() -> bool:
    port = os.environ.get("STT_HEALTHCHECK_PORT", "8000")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
        return bool(response.status == 200)


def worker_healthy() -> bool:
    # A worker's registration expires unless it beats (every few seconds, also while a job runs), so a hung or
    # dead worker drops out. Workers register only once their model is loaded.
    from rq import Worker

    from stt_studio.jobs.connection import connect, embedded_server
    from stt_studio.settings import Settings

    settings = Settings()
    if embedded_server(settings) is not None:
        raise RuntimeError("no Redis configured (REDIS_HOST or REDIS_URL): a worker container needs one")
    host = socket.gethostname()
    return any(worker.hostname == host for worker in Worker.all(connection=connect(settings)))


def main(role: str) -> int:
    checks = {"api": api_healthy, "worker": worker_healthy}
    if role not in checks:
        print(f"usage: stt-healthcheck {'|'.join(checks)}", file=sys.stderr)
        return 2
    try:
        healthy = checks[role]()
    except Exception as exc:  # unreachable, refused, timed out: all mean unhealthy
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy" if healthy else "unhealthy")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
