"""Server-Sent Events vs polling, side by side in one run of ``stt-studio serve`` (one worker, embedded Valkey).

The same ~50 s clip is transcribed once per scenario per round; from its submission until every client has seen it
completed, the benchmark records the API process's CPU time and the Valkey server's (psutil), and Valkey's
command count (INFO commandstats, without the benchmark's own INFO calls):

  quiet    nobody watches the job over HTTP (the floor: the worker's own Redis traffic)
  sse-1    1 client on GET /jobs/{id}/events
  sse-N    N clients on the same stream (default 50)
  poll-N   N clients polling GET /jobs/{id} twice a second

    .venv/bin/python -m benchmarks.sse [--model tiny.en] [--clients 50] [--rounds 3] [--port 8013]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
from httpx_sse import aconnect_sse

from stt_studio.engine.cpu import configure_process_environment
from stt_studio.jobs.events import CHANNEL
from stt_studio.jobs.redis_server import EmbeddedRedis
from tests import live
from tests.speech import SENTENCES, speech_clip

POLL_INTERVAL = 0.5
Clients = Callable[[str, str, Callable[[], None]], Coroutine[Any, Any, list[int]]]
"""Given the API's URL, a job id and what to call once every client is connected: watch the job until it is
completed; returns how much each client received."""


class _AllIn:
    """Calls ``connected`` once each of ``clients`` has checked in (its first event or answer)."""

    def __init__(self, clients: int, connected: Callable[[], None]) -> None:
        self.waiting = clients
        self.connected = connected

    def check_in(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.connected()


@dataclass
class Usage:
    seconds: float
    api_cpu: float
    valkey_cpu: float
    commands: Counter[str]

    @property
    def command_rate(self) -> float:
        return sum(self.commands.values()) / self.seconds


Snapshot = tuple[float, float, float, Counter[str]]


class Meter:
    """CPU seconds of the API and Valkey processes and Valkey's per-command call counts, between two points."""

    def __init__(self, api_pid: int, valkey: EmbeddedRedis) -> None:
        self.api = psutil.Process(api_pid)
        valkey_pid = valkey.pid()
        assert valkey_pid is not None
        self.valkey = psutil.Process(valkey_pid)
        self.client = valkey.client()

    def _cpu(self, process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)  # this process only: serve's workers are its children

    def _calls(self) -> Counter[str]:
        stats: dict[str, Any] = self.client.info("commandstats")
        return Counter({name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()})

    def start(self) -> Snapshot:
        return time.perf_counter(), self._cpu(self.api), self._cpu(self.valkey), self._calls()

    def since(self, start: Snapshot) -> Usage:
        calls = self._calls()
        t0, api0, valkey0, calls0 = start
        commands = calls - calls0
        commands.pop("info", None)  # the meter's own
        return Usage(time.perf_counter() - t0, self._cpu(self.api) - api0, self._cpu(self.valkey) - valkey0, commands)


async def _sse_clients(url: str, job_id: str, clients: int, connected: Callable[[], None]) -> list[int]:
    """``clients`` streams of the job until its final event; the number of events each received."""
    limits = httpx.Limits(max_connections=clients + 1)
    all_in = _AllIn(clients, connected)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10), limits=limits) as client:

        async def one() -> int:
            count = 0
            async with aconnect_sse(client, "GET", f"{url}/jobs/{job_id}/events") as source:
                async for event in source.aiter_sse():
                    if not event.data:
                        continue  # a keep-alive comment (httpx-sse yields it as an empty event)
                    count += 1
                    if count == 1:
                        all_in.check_in()
                    if event.event == "job":
                        assert json.loads(event.data)["status"] == "completed", event.data
            return count

        return list(await asyncio.gather(*(one() for _ in range(clients))))


async def _pollers(url: str, job_id: str, clients: int, connected: Callable[[], None]) -> list[int]:
    """``clients`` keep-alive clients GET the job every ``POLL_INTERVAL`` until it is completed; requests each."""
    all_in = _AllIn(clients, connected)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients + 1)) as session:

        async def one(index: int) -> int:
            await asyncio.sleep(POLL_INTERVAL * index / clients)  # spread over one interval, as real clients are
            requests = 0
            while True:
                async with session.get(f"{url}/jobs/{job_id}") as response:
                    job = await response.json()
                requests += 1
                if requests == 1:
                    all_in.check_in()
                if job["status"] in live.FINAL:
                    assert job["status"] == "completed", job
                    return requests
                await asyncio.sleep(POLL_INTERVAL)

        return list(await asyncio.gather(*(one(i) for i in range(clients))))


def _quietly(valkey: EmbeddedRedis) -> Clients:
    """Wait for the job's end on the event channel directly, without any HTTP client."""

    async def wait(_: str, job_id: str, connected: Callable[[], None]) -> list[int]:
        connected()
        pubsub = valkey.client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.subscribe(CHANNEL)
        try:
            while True:
                message = await asyncio.to_thread(pubsub.get_message, timeout=1.0)
                event = json.loads(message["data"]) if message is not None else {}
                if event.get("job_id") == job_id and event.get("status") == "completed":
                    return []
        finally:
            pubsub.close()

    return wait


@dataclass
class Run:
    whole: Usage
    """From the submission until every client has seen the job completed."""
    steady: Usage
    """From when every client was connected (had its first event or answer) until then."""
    received: list[int]


def _run(url: str, clip: Path, meter: Meter, clients: Clients) -> Run:
    start = meter.start()
    job_id = live.submit(url, clip)
    steady_start: list[Snapshot] = []
    counts = asyncio.run(clients(url, job_id, lambda: steady_start.append(meter.start())))
    return Run(meter.since(start), meter.since(steady_start[0]), counts)


def _median_usage(samples: list[Usage]) -> Usage:
    commands: Counter[str] = Counter()
    for sample in samples:
        commands.update(sample.commands)
    return Usage(
        statistics.median(s.seconds for s in samples),
        statistics.median(s.api_cpu for s in samples),
        statistics.median(s.valkey_cpu for s in samples),
        Counter({name: round(count / len(samples)) for name, count in commands.items()}),
    )


def _table(title: str, usage: dict[str, Usage]) -> None:
    print(title)
    print(f"  {'scenario':<9} {'seconds':>7} {'API CPU s':>9} {'API CPU':>8} {'Valkey CPU s':>12} {'Redis cmd/s':>11}  "
          "Redis commands (most frequent)")  # fmt: skip
    for name, u in usage.items():
        top = ", ".join(f"{cmd} {count}" for cmd, count in u.commands.most_common(4))
        print(f"  {name:<9} {u.seconds:>7.1f} {u.api_cpu:>9.2f} {100 * u.api_cpu / u.seconds:>7.1f}% "
              f"{u.valkey_cpu:>12.2f} {u.command_rate:>11.1f}  {top}")  # fmt: skip


def _ratios(usage: dict[str, Usage], clients: int) -> str:
    def per_second(u: Usage) -> float:
        return u.api_cpu / u.seconds

    one, many, poll = usage["sse-1"], usage[f"sse-{clients}"], usage[f"poll-{clients}"]
    return (
        f"  sse-{clients} / sse-1: API CPU per second {per_second(many) / per_second(one):.2f}x, "
        f"Redis commands per second {many.command_rate / one.command_rate:.2f}x\n"
        f"  poll-{clients} / sse-{clients}: API CPU per second {per_second(poll) / per_second(many):.2f}x, "
        f"Redis commands per second {poll.command_rate / many.command_rate:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--port", type=int, default=8013)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="jobs per scenario (medians are reported)")
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-sse-"))
    clip = speech_clip(work / "clip", SENTENCES, "clip")  # ~50 s
    env = live.service_env(work / "data", Settings().resolved_models_dir, WHISPER_MODEL_SIZE=args.model)
    url = f"http://127.0.0.1:{args.port}"
    serve = live.start(["serve", "--port", str(args.port), "--workers", "1"], env, work / "serve.log")
    n = args.clients
    valkey = EmbeddedRedis(work / "data" / "redis")
    scenarios: dict[str, Clients] = {
        "quiet": _quietly(valkey),
        "sse-1": lambda u, j, c: _sse_clients(u, j, 1, c),
        f"sse-{n}": lambda u, j, c: _sse_clients(u, j, n, c),
        f"poll-{n}": lambda u, j, c: _pollers(u, j, n, c),
    }
    runs: dict[str, list[Run]] = {name: [] for name in scenarios}
    try:
        live.wait_until_up(url, workers=1)
        meter = Meter(serve.pid, valkey)
        live.wait_job(url, live.submit(url, clip))  # warm-up: first-run costs out of the figures
        for _ in range(args.rounds):  # interleaved: the machine's noise is shared by all scenarios
            for name, clients in scenarios.items():
                runs[name].append(_run(url, clip, meter, clients))
    finally:
        live.stop(serve)

    print(f"model {args.model}, CPU, 1 worker, a ~50 s clip; medians of {args.rounds} jobs per scenario")
    whole = {name: _median_usage([r.whole for r in rs]) for name, rs in runs.items()}
    steady = {name: _median_usage([r.steady for r in rs]) for name, rs in runs.items()}
    _table("Whole job (submission, clients connecting, the run, the final event):", whole)
    print(_ratios(whole, n))
    _table("While the job runs (every client connected):", steady)
    print(_ratios(steady, n))
    for name in (f"sse-{n}", f"poll-{n}"):
        counts = [count for run in runs[name] for count in run.received]
        unit = "events" if name.startswith("sse") else "requests"
        print(f"{name}: {min(counts)}-{max(counts)} {unit} per client per job")


if __name__ == "__main__":
    main()
