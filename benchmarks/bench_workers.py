"""Harvest workers on a job queue: 1, 2 and 4 workers harvesting the same race days.

Run: ``python benchmarks/bench_workers.py [--runs N] [--races N]``. Issue 21. Needs
``redis-server`` on PATH; the script starts it on a free port.

The fake RunSignup runs in its own process (``_common.fake_server``, not pinned: the
workers are processes of their own) and answers API calls after 100 ms and images after
50 ms, so that the box's two cores are not what limits. Each worker is a
``runsignup-async worker`` subprocess harvesting 2 race days at a time and downloading
4 images at a time, its limits shared with the others through the same Redis, into a
local directory that all the workers of a run share.

1. Scaling: with a shared rate R set above what 4 workers need, photos/s of 2 and 4
   workers over 1 worker. Targets: >= 1.8x and >= 3.0x; the API never sees more than R
   requests in any 1 s window (counted from the fake's arrival time of every request).
2. Held rate: R lowered to a whole number of about half what 2 workers used in step 1:
   the aggregate after the first second holds at >= 0.95 R, and no 1 s window holds more
   than R requests.

Each run also prints where the time and the CPU went: the CPU seconds per photo of the
workers, the fake and Redis (with 4 workers' photos/s, the share of the machine's 2
cores they take), how long jobs waited in the queue, how busy the job slots were, and
how long the last job ran on alone (the tail).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from bisect import bisect_left
from typing import Any

import attrs
from _common import FakeServer, fake_server
from bench_shared_limits import redis_server

from runsignup_async.workers import enqueue_harvest, follow_harvest
from runsignup_async.workers._queue import connect, job_key

RACES, DAYS_PER_RACE, PHOTOS = 24, 2, 40  # 48 race days, 1,920 photos
PAGE = 10  # the fake's page size: 4 listing pages a race day, so the API rate matters
API_LATENCY, IMAGE_LATENCY = 0.100, 0.050
IMAGE_BYTES = 2_000
DAYS_AT_ONCE, IMAGES_AT_ONCE = 2, 4  # per worker
HIGH_RATE = 200.0  # well above what 4 workers need
# API calls in flight for the whole fleet: 8 of 100 ms allow 80/s, above what 4 workers
# need (the SDK's default of 2 would cap the fleet at 20/s).
MAX_IN_FLIGHT = 8
LOW_SHARE = 0.5  # the low R: about this share of what 2 workers used at the high R
SCALING_TARGETS = {2: 1.8, 4: 3.0}
HELD_TARGET = 0.95
CORES = os.cpu_count() or 1
TICKS = os.sysconf("SC_CLK_TCK")


def busiest_window(arrivals: tuple[float, ...], window: float = 1.0) -> int:
    """The most requests that arrived within any ``window`` seconds (half-open)."""
    times = sorted(arrivals)
    return max((bisect_left(times, t + window, i) - i for i, t in enumerate(times)), default=0)


def shortest_span(arrivals: tuple[float, ...], n: int) -> float:
    """The shortest time in which ``n`` requests arrived: at least 1 s for every window
    of 1 s to hold fewer than ``n``."""
    times = sorted(arrivals)
    return min((b - a for a, b in zip(times, times[n - 1 :], strict=False)), default=math.inf)


def rate_after(arrivals: tuple[float, ...], started: float, skip: float = 1.0) -> float:
    """Requests per second from ``skip`` seconds after ``started`` to the last request."""
    later = [t for t in arrivals if t >= started + skip]
    return len(later) / (later[-1] - started - skip) if len(later) > 1 else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def redis_cpu(redis_url: str) -> float:
    from redis import asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    try:
        info = await redis.info("cpu")
    finally:
        await redis.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def flush(redis_url: str) -> None:
    """Empty the queue's Redis: the next harvest queues the same race days afresh."""
    from redis import asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    try:
        await redis.flushall()
    finally:
        await redis.aclose()


@attrs.frozen
class Run:
    workers: int
    rate: float
    photos: int
    seconds: float
    peak: int  # the most API requests in any 1 s window
    arrivals: tuple[float, ...]
    api_rate: float  # API requests per second after the first second
    cpu: dict[str, float]  # CPU seconds by process kind
    gaps: list[float]  # seconds between a worker's job ending and its next one starting
    busy: float  # share of the job slots' time spent running jobs
    tail: float  # seconds between the last job's start and the end of the run

    @property
    def speed(self) -> float:
        return self.photos / self.seconds

    def cpu_line(self) -> str:
        per = {k: 1000 * v / self.photos for k, v in self.cpu.items()}
        total = sum(self.cpu.values()) / self.seconds
        parts = ", ".join(f"{k} {v:.2f}" for k, v in per.items())
        return f"CPU ms per photo: {parts}; all {total:.2f} of {CORES} cores during the run"

    def jobs_line(self) -> str:
        gaps = sorted(self.gaps) or [0.0]
        return (f"a worker's next job started {1000 * gaps[len(gaps) // 2]:.0f} ms (median),"
                f" {1000 * gaps[-1]:.0f} ms (max) after its last ended; job slots busy"
                f" {100 * self.busy:.0f}%; the last job ran {self.tail:.2f} s")  # fmt: skip


async def start_workers(server: FakeServer, redis_url: str, dest: str, n: int, rate: float
                        ) -> list[asyncio.subprocess.Process]:  # fmt: skip
    creds = server.info.credentials
    env = {**os.environ, "RUNSIGNUP_RSU_API_KEY": creds.rsu_api_key,
           "RUNSIGNUP_RSU_API_SECRET": creds.rsu_api_secret}  # fmt: skip
    args = ["worker", "--redis", redis_url, "--dest", dest, "--base-url", server.info.base_url,
            "--concurrency", str(DAYS_AT_ONCE), "--download-concurrency", str(IMAGES_AT_ONCE),
            "--rate", f"{rate:g}", "--max-concurrency", str(MAX_IN_FLIGHT)]  # fmt: skip
    quiet = asyncio.subprocess.DEVNULL
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "runsignup_async.cli", *args, env=env, stdout=quiet, stderr=quiet
        )
        for _ in range(n)
    ]
    queue = await connect(redis_url, dest)
    try:
        for _ in range(600):  # every worker has said hello to the queue
            if len((await queue.info())["workers"]) >= n:
                break
            await asyncio.sleep(0.05)
    finally:
        await queue.disconnect()
    return procs


async def job_times(redis_url: str, dest: str, days: list[tuple[int, int]]) -> list[Any]:
    queue = await connect(redis_url, dest)
    try:
        return list(await queue.jobs(job_key(r, d) for r, d in days))
    finally:
        await queue.disconnect()


def dequeue_gaps(jobs: list[Any]) -> list[float]:
    """For each job a worker took once its first ones were running: the time since the
    last of that worker's jobs to end before it started (SAQ's times are in ms)."""
    gaps = []
    for job in jobs:
        ended = [j.completed for j in jobs
                 if j.worker_id == job.worker_id and j.completed <= job.started]  # fmt: skip
        if ended:
            gaps.append((job.started - max(ended)) / 1000)
    return gaps


async def one_run(server: FakeServer, redis_url: str, workers: int, rate: float) -> Run:
    await flush(redis_url)
    days = server.info.race_days
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as dest:
        procs = await start_workers(server, redis_url, dest, workers, rate)
        before = server.reset()
        redis_before = await redis_cpu(redis_url)
        cpu_before = [cpu_seconds(p.pid) for p in procs]
        started, own_cpu = time.monotonic(), time.process_time()
        queued = await enqueue_harvest(redis_url, days, dest)
        summary = await follow_harvest(queued, every=0.05)
        ended, ended_wall = time.monotonic(), time.time()
        stats = server.stats()
        cpu = {
            "workers": sum(cpu_seconds(p.pid) for p in procs) - sum(cpu_before),
            "fake": stats.cpu_seconds - before.cpu_seconds,
            "redis": await redis_cpu(redis_url) - redis_before,
            "this script": time.process_time() - own_cpu,
        }
        jobs = await job_times(redis_url, dest, days)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()
    assert summary.ok and summary.photos_downloaded == len(days) * PHOTOS, summary
    run_ms = [j.completed - j.started for j in jobs]
    last_start = max(j.started for j in jobs) / 1000
    return Run(
        workers, rate, summary.photos_downloaded, ended - started,
        peak=busiest_window(stats.arrivals), arrivals=stats.arrivals,
        api_rate=rate_after(stats.arrivals, started),
        cpu=cpu,
        gaps=dequeue_gaps(jobs),
        busy=sum(run_ms) / 1000 / ((ended - started) * workers * DAYS_AT_ONCE),
        tail=ended_wall - last_start,
    )  # fmt: skip


async def amain(runs: int, races: int, held: int | None, fleets: list[int]) -> int:
    failed = False
    with redis_server() as redis_url, fake_server(
        pin=False, log_requests=True, seed=21, races=races, days_per_race=DAYS_PER_RACE,
        photos_per_race_day=PHOTOS, latency=API_LATENCY, image_size=IMAGE_BYTES,
        max_page_size=PAGE,
    ) as server:  # fmt: skip
        server.set_image_latency(IMAGE_LATENCY)
        print(f"{len(server.info.race_days)} race days of {PHOTOS} photos, {CORES} cores")
        for run in range(1, runs + 1):
            speeds, rates = {}, {}
            for n in () if held else fleets:
                r = await one_run(server, redis_url, n, HIGH_RATE)
                speeds[n], rates[n] = r.speed, r.api_rate
                over = r.peak > HIGH_RATE
                failed |= over
                print(f"run {run}: {n} workers: {r.speed:.1f} photos/s ({r.speed / speeds[1]:.2f}x"
                      f" of 1) in {r.seconds:.1f} s; API {r.api_rate:.1f} req/s, busiest 1 s"
                      f" window {r.peak} (R = {HIGH_RATE:g}){' ABOVE R' if over else ''}\n"
                      f"    {r.cpu_line()}\n    {r.jobs_line()}", flush=True)  # fmt: skip
            for n, target in {} if held else SCALING_TARGETS.items():
                if n not in speeds:
                    continue
                ratio = speeds[n] / speeds[1]
                ok = ratio >= target
                failed |= not ok
                print(f"run {run}: {n} workers / 1 = {ratio:.2f}x, target >= {target}x:"
                      f" {'PASS' if ok else 'FAIL'}")  # fmt: skip
            if not held and 2 not in rates:
                continue
            low = held or max(1, math.floor(LOW_SHARE * rates[2]))
            r = await one_run(server, redis_url, 2, low)
            ok = r.api_rate >= HELD_TARGET * low and r.peak <= low
            failed |= not ok
            print(f"run {run}: 2 workers at R = {low}: {r.api_rate:.2f} req/s after the first"
                  f" second ({r.api_rate / low:.2f} R), busiest 1 s window {r.peak}, the"
                  f" shortest span of {low + 1} requests {shortest_span(r.arrivals, low + 1):.3f}"
                  f" s; target >= {HELD_TARGET} R and never above R:"
                  f" {'PASS' if ok else 'FAIL'}", flush=True)  # fmt: skip
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--races", type=int, default=RACES, help="races of 2 race days")
    parser.add_argument("--held", type=int, metavar="R", help="only the held run, at this R")
    parser.add_argument("--workers", default="1,2,4", help="fleet sizes, 1 first (1,2,4)")
    args = parser.parse_args()
    fleets = [int(n) for n in args.workers.split(",")]
    if fleets[0] != 1:
        parser.error("--workers: the first fleet is 1 worker, the one the others compare with")
    return asyncio.run(amain(args.runs, args.races, args.held, fleets))


if __name__ == "__main__":
    sys.exit(main())
