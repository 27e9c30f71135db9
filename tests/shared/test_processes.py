"""Several real processes of one key sharing limits through a real redis-server.

Each process is ``worker.py`` with 4 concurrent callers; the fake runs in the test's
process and counts what it sees (requests, throttles, the most in flight at once).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from runsignup_async.testing import FakeRunSignup, Fault, Throttle

from .conftest import RedisServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

WORKER = Path(__file__).with_name("worker.py")
PROCESSES = 4
CALLERS = 4
READY_SECONDS = 60.0
RUN_SECONDS = 90.0


def config(fake: FakeRunSignup, redis: RedisServer, group: str, **options: Any) -> dict[str, Any]:
    creds = fake.credentials
    return {
        "base_url": fake.base_url,
        "key": creds.rsu_api_key,
        "secret": creds.rsu_api_secret,
        "redis": redis.url,
        "group": group,
        "day": fake.race_days()[0],
        "burst": 2,
        "adaptive": False,
        "callers": CALLERS,
        **options,
    }


async def spawn(settings: dict[str, Any]) -> Process:
    """A worker that has built its client and waits for the word to go."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), json.dumps(settings),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), READY_SECONDS)
    if line != b"ready\n":
        proc.kill()
        _, err = await proc.communicate()
        raise AssertionError(f"worker did not start: {line!r} {err.decode()[-2000:]}")
    return proc


def go(proc: Process) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"go\n")


async def result(proc: Process) -> tuple[dict[str, Any], str]:
    """The worker's JSON report and its log (stderr)."""
    out, err = await asyncio.wait_for(proc.communicate(), RUN_SECONDS)
    log = err.decode()
    assert proc.returncode == 0, log[-3000:]
    return json.loads(out.decode().splitlines()[-1]), log


@asynccontextmanager
async def workers(settings: list[dict[str, Any]]) -> AsyncIterator[list[Process]]:
    """Started workers, waiting for the word; any still running at the end are killed."""
    procs: list[Process] = []
    try:
        for one in settings:
            procs.append(await spawn(one))
        yield procs
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def run_group(settings: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    async with workers(settings) as procs:
        for proc in procs:
            go(proc)
        return [await result(proc) for proc in procs]


def aggregate_rate(reports: list[dict[str, Any]]) -> float:
    spans = [span for report in reports for span in report["spans"]]
    first = min(start for start, _ in spans)
    last = max(end for _, end in spans)
    return len(spans) / (last - first)


# Answers quick enough that the cap never holds the rate back: 4 slots of ~40 ms.
@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20, latency=0.03)
async def test_processes_share_the_rate_and_are_never_throttled(
    runsignup_fake: FakeRunSignup, redis_server: RedisServer, group: str
) -> None:
    fake = runsignup_fake
    rate, cap, calls = 40.0, 4, 60
    # The fake allows R with room for the jitter of four processes' sends, no more. The
    # group's bucket of 5 lets a process that the OS kept off the CPU for a moment catch
    # up, as the fake's bucket of 10 allows, instead of losing the tokens it missed.
    fake.set_throttle(Throttle(per_second=rate, burst=10))
    settings = config(fake, redis_server, group, per_second=rate, max_concurrency=cap,
                      calls=calls, burst=5)  # fmt: skip
    done = await run_group([settings] * PROCESSES)
    reports = [report for report, _ in done]
    assert [r["errors"] for r in reports] == [[]] * PROCESSES
    assert sum(len(r["spans"]) for r in reports) == PROCESSES * calls
    assert fake.throttled_count == 0
    assert fake.request_counts["get-race-photos"] == PROCESSES * calls
    assert 0.95 * rate <= aggregate_rate(reports) <= 1.05 * rate
    assert 1 <= fake.max_in_flight["get-race-photos"] <= cap
    assert max(r["clients"] for r in reports) == PROCESSES


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20, latency=0.2)
async def test_processes_share_the_concurrency_cap(
    runsignup_fake: FakeRunSignup, redis_server: RedisServer, group: str
) -> None:
    # Slow answers and a high rate: the cap is what holds everyone back.
    fake = runsignup_fake
    cap, calls = 3, 12
    settings = config(fake, redis_server, group, per_second=500.0, max_concurrency=cap, calls=calls)
    done = await run_group([settings] * PROCESSES)
    reports = [report for report, _ in done]
    assert [r["errors"] for r in reports] == [[]] * PROCESSES
    assert fake.max_in_flight["get-race-photos"] == cap
    # Every slot is used: the group runs near cap / latency, not at one process's share.
    assert aggregate_rate(reports) >= 0.8 * cap / 0.2


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20, latency=0.05)
async def test_a_killed_process_frees_its_slots_within_the_lease_time(
    runsignup_fake: FakeRunSignup, redis_server: RedisServer, group: str
) -> None:
    fake = runsignup_fake
    cap, lease = 2, 1.0
    # The victim's calls hang, so it holds every slot of the group when it is killed.
    fake.faults.add(Fault.slow(5.0), endpoint="get-race-photo-albums")
    common = config(fake, redis_server, group, per_second=200.0, max_concurrency=cap, lease=lease)
    victim_settings = {**common, "endpoint": "albums", "calls": cap, "callers": cap}
    others = [{**common, "calls": 20}] * (PROCESSES - 1)
    async with workers([victim_settings, *others]) as (victim, *survivors):
        go(victim)
        for _ in range(500):
            if fake.request_counts["get-race-photo-albums"] >= cap:
                break
            await asyncio.sleep(0.01)
        assert fake.request_counts["get-race-photo-albums"] == cap
        victim.send_signal(signal.SIGKILL)
        killed_at = time.time()
        for proc in survivors:
            go(proc)
        done = [await result(proc) for proc in survivors]
        await victim.wait()
    assert victim.returncode == -signal.SIGKILL
    reports = [report for report, _ in done]
    assert [r["errors"] for r in reports] == [[]] * (PROCESSES - 1)
    assert sum(len(r["spans"]) for r in reports) == (PROCESSES - 1) * 20
    first = min(start for r in reports for start, _ in r["spans"])
    # Nobody got a slot while the dead process's leases stood (renewed a third of the
    # lease ago at most), and everybody did soon after they lapsed.
    assert 0.5 * lease <= first - killed_at <= lease + 0.5
    assert fake.max_in_flight["get-race-photos"] == cap


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20, latency=0.02)
async def test_redis_stopped_mid_run_fails_no_call(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, group: str
) -> None:
    fake = runsignup_fake
    calls, processes = 60, 2
    settings = config(fake, own_redis, group, per_second=30.0, max_concurrency=3, calls=calls)
    async with workers([settings] * processes) as procs:
        for proc in procs:
            go(proc)
        await asyncio.sleep(0.7)
        own_redis.stop()
        await asyncio.sleep(1.0)
        own_redis.start()
        done = [await result(proc) for proc in procs]
    for report, log in done:
        assert report["errors"] == []
        assert len(report["spans"]) == calls
        assert log.count("WARNING shared limits: Redis at") == 1, log
        assert log.count("INFO shared limits: Redis at") == 1, log
    assert fake.request_counts["get-race-photos"] == processes * calls
