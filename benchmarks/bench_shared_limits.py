"""Shared limits: four processes of one key, one Redis, one set of limits.

Run: ``python benchmarks/bench_shared_limits.py``. Issue 17. Needs ``redis-server`` on
PATH (the script starts its own on a free port, no persistence) and the ``redis`` extra.

The fake runs in its own process (``_common.fake_server``) and adds 20 ms a request; each
client process walks its own share of 100 race days of 40 pages of 10 photos with 4
callers (``iter_many``) for ``--seconds`` seconds, all four starting together. Achieved
is the answers the server served (not throttled) over the time from the first process's
start to the last one's end; throttled answers are retried by the SDK.

1. Set rate: the four share ``RateLimit(per_second=R, burst=10, adaptive=False)`` and
   the server allows 1.25 R (bucket of 20). Target: achieved >= 0.95 R with no throttled
   answer. For contrast, the same four without sharing (each believes it owns R).
2. Adaptive: the four share one adaptive limit (ceiling 1000/s, never told S) and the
   server throttles at S (bucket of 10). Target: achieved >= 0.90 S with < 3% of answers
   throttled. ``--trace`` prints the group's rate twice a second.
3. Overhead: one process, shared limits vs local limits, neither the bottleneck (a rate
   of 1e6/s, 8 in flight), 20 ms latency, alternating, best of 3 each. Target: shared
   throughput >= 0.97x local.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from multiprocessing.synchronize import Event
from typing import Any

import attrs
from _common import FakeServer, ServerInfo, fake_server, unlimited, verdict, where

from runsignup_async import Client, RateLimit, V2KeyAuth

PROCESSES = 4
CALLERS = 4
RACES = 100
NUM = 10
PAGES = 40
LATENCY = 0.020
BURST = 10
SERVER_BURST = 20  # the set-rate run's server: room for four processes' send jitter
CEILING = 1000.0
SET_RATE_TARGET = 0.95
ADAPTIVE_TARGET = 0.90
THROTTLED_TARGET = 0.03
OVERHEAD_TARGET = 0.97
OVERHEAD_RACES = 150
OVERHEAD_CONCURRENCY = 8
READY_SECONDS = 60.0


def _client_side() -> None:
    # Redis serves the clients, not RunSignup: keep it off the fake's CPU (the first,
    # see ``_common.fake_server``), where every cycle it took would be the fake's.
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[1:]))


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of our own on a free port (``--port 0`` would mean no TCP), on the
    clients' CPU(s)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            preexec_fn=_client_side,
        )  # fmt: skip
        try:
            for _ in range(500):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@attrs.frozen
class Walk:
    info: ServerInfo
    races: list[tuple[int, int]]
    rate_limit: RateLimit
    max_concurrency: int
    concurrency: int
    seconds: float
    shared: str | None
    group: str


async def _walk(walk: Walk, go: Event | None) -> tuple[float, float, int]:
    """Walk until the deadline: (start, end) wall-clock seconds and failed race days."""
    creds = walk.info.credentials
    sdk = Client(
        V2KeyAuth(creds.rsu_api_key, creds.rsu_api_secret),
        base_url=walk.info.base_url,
        rate_limit=walk.rate_limit,
        max_concurrency=walk.max_concurrency,
        shared_limits=walk.shared,
        shared_limits_key=walk.group if walk.shared else None,
    )
    async with sdk:
        if go is not None:
            await asyncio.get_running_loop().run_in_executor(None, go.wait)
        start = time.time()
        deadline = time.monotonic() + walk.seconds
        async with sdk.photos.iter_many(
            walk.races, concurrency=walk.concurrency, num=NUM, on_error="skip"
        ) as photos:
            async for _ in photos:
                if time.monotonic() >= deadline:
                    break
        return start, time.time(), len(photos.report.failures)


def _child(walk: Walk, go: Event, ready: Any, out: Any) -> None:
    ready.release()
    out.put(asyncio.run(_walk(walk, go)))


@attrs.frozen
class GroupRun:
    seconds: float
    requests: int
    throttled: int
    failed_race_days: int

    @property
    def served_per_second(self) -> float:
        return (self.requests - self.throttled) / self.seconds

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0


def run_group(server: FakeServer, make: Any, seconds: float) -> GroupRun:
    """PROCESSES walks built by ``make(races)``, started together; the server's counts."""
    ctx = mp.get_context("spawn")
    go, ready, out = ctx.Event(), ctx.Semaphore(0), ctx.Queue()
    days = server.info.race_days
    procs = [
        ctx.Process(target=_child, args=(make(days[n::PROCESSES]), go, ready, out))
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        if not ready.acquire(timeout=READY_SECONDS):
            raise SystemExit("a client process did not start")
    time.sleep(1.0)  # each has built its client and waits for the word
    server.reset()
    go.set()
    results = [out.get(timeout=seconds + READY_SECONDS) for _ in procs]
    for proc in procs:
        proc.join(10)
    stats = server.stats()
    wall = max(end for _, end, _ in results) - min(start for start, _, _ in results)
    return GroupRun(wall, stats.requests, stats.throttled, sum(f for _, _, f in results))


def describe(name: str, run: GroupRun) -> str:
    return (
        f"  {name}: {run.seconds:.1f} s, {run.requests} answers, {run.served_per_second:.1f}"
        f" served/s, {run.throttled} throttled ({run.throttled_share:.2%}),"
        f" {run.failed_race_days} race days failed"
    )


def set_rate(redis: str, rate: float, seconds: float) -> list[tuple[str, bool]]:
    with fake_server(
        seed=17, races=RACES, photos_per_race_day=PAGES * NUM, latency=LATENCY,
        throttle=(1.25 * rate, SERVER_BURST),
    ) as server:  # fmt: skip
        print(where(server.info))
        print(
            f"1. set rate: {PROCESSES} processes x {CALLERS} callers, R = {rate:g}/s"
            f" (burst {BURST}, not adaptive); server allows {1.25 * rate:g}/s (burst"
            f" {SERVER_BURST}), {LATENCY * 1000:g} ms latency"
        )
        limit = RateLimit(per_second=rate, burst=BURST, adaptive=False)

        def walk(shared: str | None, group: str) -> Any:
            return lambda races: Walk(
                server.info, races, limit, 16, CALLERS, seconds, shared, group
            )

        shared = run_group(server, walk(redis, uuid.uuid4().hex), seconds)
        print(describe("shared", shared))
        alone = run_group(server, walk(None, ""), seconds)
        print(describe("not shared (contrast)", alone))
        sent = alone.requests / alone.seconds
        print(f"  not shared: {sent / rate:.2f} R sent, {alone.throttled} throttled")
    ratio = shared.served_per_second / rate
    print(f"  shared: achieved / R {ratio:.3f} (target >= {SET_RATE_TARGET})")
    return [
        (f"set rate: achieved {ratio:.3f} R >= {SET_RATE_TARGET} R", ratio >= SET_RATE_TARGET),
        (f"set rate: {shared.throttled} throttled == 0", shared.throttled == 0),
        (f"set rate: {shared.failed_race_days} failed race days == 0", not shared.failed_race_days),
    ]


@contextmanager
def tracing(server: FakeServer, redis: str, group: str, limit: RateLimit) -> Iterator[None]:
    """Print the group's rate twice a second, with the answers the server gave and
    throttled since the last line, from a thread of this process."""
    info = server.info
    stop = threading.Event()

    async def watch() -> None:
        creds = info.credentials
        async with Client(
            V2KeyAuth(creds.rsu_api_key, creds.rsu_api_secret), base_url=info.base_url,
            rate_limit=limit, shared_limits=redis, shared_limits_key=group,
        ) as sdk:  # fmt: skip
            started = time.monotonic()
            last = server.stats()
            while not stop.is_set():
                seen = await sdk.limits_snapshot()
                now = server.stats()
                if now.requests < last.requests:  # the counters were reset: a new run
                    last = attrs.evolve(now, requests=0, throttled=0)
                print(
                    f"    {time.monotonic() - started:5.1f} s: {seen.rate:6.1f}/s,"
                    f" {now.requests - last.requests} answers,"
                    f" {now.throttled - last.throttled} throttled",
                    flush=True,
                )
                last = now
                await asyncio.sleep(0.5)

    thread = threading.Thread(target=asyncio.run, args=(watch(),), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def adaptive(redis: str, limit: float, seconds: float, trace: bool) -> list[tuple[str, bool]]:
    with fake_server(
        seed=17, races=RACES, photos_per_race_day=PAGES * NUM, latency=LATENCY,
        throttle=(limit, BURST),
    ) as server:  # fmt: skip
        print(
            f"2. adaptive: {PROCESSES} processes x {CALLERS} callers share a ceiling of"
            f" {CEILING:g}/s; server throttles at S = {limit:g}/s (burst {BURST}), not told"
        )
        group = uuid.uuid4().hex
        ceiling = RateLimit(per_second=CEILING, burst=BURST)
        with tracing(server, redis, group, ceiling) if trace else nullcontext():
            run = run_group(
                server,
                lambda races: Walk(server.info, races, ceiling, 16, CALLERS, seconds, redis, group),
                seconds,
            )
        print(describe("shared", run))
    ratio = run.served_per_second / limit
    share = run.throttled_share
    print(
        f"  achieved / S {ratio:.3f} (target >= {ADAPTIVE_TARGET}); throttled {share:.2%}"
        f" (target < {THROTTLED_TARGET:.0%})"
    )
    return [
        (f"adaptive: achieved {ratio:.3f} S >= {ADAPTIVE_TARGET} S", ratio >= ADAPTIVE_TARGET),
        (f"adaptive: throttled {share:.2%} < {THROTTLED_TARGET:.0%}", share < THROTTLED_TARGET),
    ]


def overhead(redis: str, rounds: int) -> list[tuple[str, bool]]:
    with fake_server(
        seed=17, races=OVERHEAD_RACES, photos_per_race_day=5 * 100, latency=LATENCY
    ) as server:
        days = server.info.race_days
        limit = unlimited(OVERHEAD_CONCURRENCY)
        print(
            f"3. overhead: one process, {len(days)} race days x 6 pages of 100, concurrency"
            f" {OVERHEAD_CONCURRENCY}, {LATENCY * 1000:g} ms latency, best of {rounds}"
        )
        best: dict[str, float] = {"local": 0.0, "shared": 0.0}
        for _ in range(rounds):
            for name, shared in (("local", None), ("shared", redis)):
                walk = Walk(
                    server.info, days, limit, OVERHEAD_CONCURRENCY, OVERHEAD_CONCURRENCY,
                    1e9, shared, uuid.uuid4().hex,
                )  # fmt: skip
                server.reset()
                start, end, failed = asyncio.run(_walk(walk, None))
                if failed:
                    raise SystemExit(f"{failed} race days failed")
                best[name] = max(best[name], server.stats().requests / (end - start))
    ratio = best["shared"] / best["local"]
    print(f"  local: {best['local']:.1f} req/s   shared: {best['shared']:.1f} req/s")
    print(f"  shared / local: {ratio:.3f} (target >= {OVERHEAD_TARGET})")
    name = f"overhead: shared {ratio:.3f}x local >= {OVERHEAD_TARGET}x"
    return [(name, ratio >= OVERHEAD_TARGET)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="R of the set-rate run")
    parser.add_argument("--server-rate", type=float, default=100.0, help="S of the adaptive run")
    parser.add_argument("--seconds", type=float, default=20.0, help="each set-rate run")
    parser.add_argument("--adaptive-seconds", type=float, default=30.0)
    parser.add_argument("--trace", action="store_true", help="print the adaptive rate")
    parser.add_argument("--rounds", type=int, default=3, help="overhead runs a side")
    parser.add_argument("--only", choices=("set-rate", "adaptive", "overhead"))
    args = parser.parse_args()
    checks: list[tuple[str, bool]] = []
    with redis_server() as redis:
        if args.only in (None, "set-rate"):
            checks += set_rate(redis, args.rate, args.seconds)
        if args.only in (None, "adaptive"):
            checks += adaptive(redis, args.server_rate, args.adaptive_seconds, args.trace)
        if args.only in (None, "overhead"):
            checks += overhead(redis, args.rounds)
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
