"""What the benchmarks share: the fake server in its own process, clients, verdicts.

The fake runs in a child process pinned to the first CPU (where the OS allows) and the
benchmark process is kept off that CPU, so the server's work is never counted as the
client's (``time.process_time()`` in the benchmark process measures the client alone).
The parent talks to the child over a pipe: ask for its counters, change its latency,
reset its counters, stop it. Only the child imports the fake (``runsignup_async.testing``
and aiohttp's server): the client process holds the client alone, so its garbage
collector walks the heap a client application would have, not a server's as well.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import attrs

from runsignup_async import Client, RateLimit, V2KeyAuth

PHOTOS_PATH = "/v2/photos/get-race-photos.json"
STARTUP_SECONDS = 60.0


@attrs.frozen
class Credentials:
    """The fake's keys (a plain copy: the client process does not import the fake)."""

    rsu_api_key: str
    rsu_api_secret: str
    api_key: str
    api_secret: str


@attrs.frozen
class ServerInfo:
    base_url: str
    race_days: list[tuple[int, int]]
    credentials: Credentials
    cpu: int | None


@attrs.frozen
class ServerStats:
    requests: int  # every API request received, throttled ones included
    throttled: int
    images: int = 0  # image requests received
    cpu_seconds: float = 0.0  # the server process's CPU time so far
    # When each API request since the last reset arrived (time.monotonic(), the same clock
    # in every process of the machine); only when the fake was started with log_requests.
    arrivals: tuple[float, ...] = ()


class _Stamped(Counter[str]):
    """The fake's request counter, noting when each count went up."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def __setitem__(self, key: str, value: int) -> None:
        if value > self.get(key, 0):
            self.arrivals.append(time.monotonic())
        super().__setitem__(key, value)

    def clear(self) -> None:
        self.arrivals.clear()
        super().clear()


def _serve(
    conn: Connection, cpu: int | None, throttle: tuple[float, int] | None, options: dict[str, Any]
) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    from runsignup_async.testing import FakeRunSignup, Fault, Throttle

    if throttle is not None:
        options["throttle"] = Throttle(per_second=throttle[0], burst=throttle[1])

    log_requests = options.pop("log_requests", False)

    async def main() -> None:
        async with FakeRunSignup(**options) as fake:
            if log_requests:
                fake._state.request_counts = _Stamped()
            creds = fake.credentials
            key = Credentials(
                creds.rsu_api_key, creds.rsu_api_secret, creds.api_key, creds.api_secret
            )
            conn.send((fake.base_url, fake.race_days(), key))
            loop = asyncio.get_running_loop()
            while True:
                # Wait for the parent's word without blocking the server's loop.
                command, argument = await loop.run_in_executor(None, conn.recv)
                if command == "stop":
                    return
                if command == "latency":
                    fake.latency = argument
                elif command == "image_latency":
                    fake.faults.clear()
                    if argument:
                        fake.faults.add(Fault.slow(argument), endpoint="images")
                elif command == "reset":
                    fake.reset_stats()
                counts = fake.request_counts
                conn.send(
                    ServerStats(
                        sum(counts.values()),
                        fake.throttled_count,
                        fake.image_request_count,
                        time.process_time(),
                        tuple(counts.arrivals) if isinstance(counts, _Stamped) else (),
                    )
                )

    asyncio.run(main())


class FakeServer:
    """Talks to the fake in its process; every call answers the server's counters."""

    def __init__(self, conn: Connection, info: ServerInfo) -> None:
        self._conn = conn
        self.info = info
        self._lock = threading.Lock()  # a tracing thread may ask too

    def _ask(self, command: str, argument: Any = None) -> ServerStats:
        with self._lock:
            self._conn.send((command, argument))
            stats: ServerStats = self._conn.recv()
        return stats

    def stats(self) -> ServerStats:
        return self._ask("stats")

    def reset(self) -> ServerStats:
        return self._ask("reset")

    def set_latency(self, seconds: float) -> ServerStats:
        return self._ask("latency", seconds)

    def set_image_latency(self, seconds: float) -> ServerStats:
        """Delay every image answer by ``seconds`` (an image host is rarely next door)."""
        return self._ask("image_latency", seconds)


@contextmanager
def fake_server(
    *,
    throttle: tuple[float, int] | None = None,
    pin: bool = True,
    cpu: int | None = None,
    **options: Any,
) -> Iterator[FakeServer]:
    """A ``FakeRunSignup(**options)`` serving from a child process on its own CPU.

    ``throttle``: (per_second, burst) of the fake's per-key rate limit (error 14).
    ``pin=False``: neither process pinned (the clients are other processes, which would
    inherit the benchmark's CPU). ``cpu``: the CPU of a server started before (this
    process already off it); by default the first of this process's CPUs, which this
    process then leaves. ``log_requests=True``: the stats carry each API request's
    arrival time.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") and pin else []
    server_cpu = cpu if cpu is not None else cpus[0] if cpus else None
    if cpu is None and len(cpus) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus[1:]))  # keep the client off the server's CPU
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(
        target=_serve, args=(child, server_cpu, throttle, options), daemon=True
    )
    proc.start()
    try:
        if not parent.poll(STARTUP_SECONDS):
            raise SystemExit(f"fake server did not start within {STARTUP_SECONDS:g} s")
        base_url, race_days, credentials = parent.recv()
        yield FakeServer(parent, ServerInfo(base_url, race_days, credentials, server_cpu))
    finally:
        parent.send(("stop", None))
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def where(info: ServerInfo) -> str:
    pinned = f"pinned to CPU {info.cpu}" if info.cpu is not None else "not pinned"
    return f"fake server in its own process ({pinned}), client on the other CPU(s)"


def client(info: ServerInfo, *, rate_limit: RateLimit, max_concurrency: int) -> Client:
    """An SDK client of the fake with V2 key credentials (those the photo listing needs)."""
    return Client(
        V2KeyAuth(info.credentials.rsu_api_key, info.credentials.rsu_api_secret),
        base_url=info.base_url,
        rate_limit=rate_limit,
        max_concurrency=max_concurrency,
    )


def unlimited(concurrency: int) -> RateLimit:
    """A client rate limit far above anything the fake can serve: never the bottleneck."""
    return RateLimit(per_second=1e6, burst=max(1000, concurrency), adaptive=False)


async def count_photos(
    info: ServerInfo, races: list[tuple[int, int]], concurrency: int, num: int
) -> int:
    """Walk ``races`` through ``client.photos.iter_many``; the number of photos listed."""
    async with client(info, rate_limit=unlimited(concurrency), max_concurrency=concurrency) as sdk:
        count = 0
        async for _ in sdk.photos.iter_many(races, concurrency=concurrency, num=num):
            count += 1
        return count


def timed(run: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float]:
    """Run a coroutine in a fresh event loop: its result, wall seconds, process CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = asyncio.run(run())  # type: ignore[arg-type]
    return result, time.perf_counter() - wall, time.process_time() - cpu


def verdict(checks: list[tuple[str, bool]]) -> int:
    """Print PASS/FAIL per check and overall; the exit status (0 when all pass)."""
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}: {name}")
    passed = all(ok for _, ok in checks)
    print("PASS" if passed else "FAIL")
    sys.stdout.flush()
    return 0 if passed else 1


async def photo_files(
    info: ServerInfo, races: list[tuple[int, int]], size: str, concurrency: int
) -> list[tuple[str, str]]:
    """``(image URL, path)`` of one ``size`` of every photo of ``races``, listed through
    the SDK; the path is the harvest's, ``race/day/album/photo-size.jpg``, spelled by hand."""
    sdk = client(info, rate_limit=unlimited(concurrency), max_concurrency=concurrency)
    async with sdk:
        files = []
        async for photo in sdk.photos.iter_many(races, concurrency=concurrency):
            image = getattr(photo, size)
            if image is not None:
                path = (
                    f"{photo.race_id}/{photo.race_event_days_id}/{photo.album_id}/"
                    f"{photo.photo_id}-{size}.jpg"
                )
                files.append((image.image_url, path))
        return files


@attrs.frozen
class RateRun:
    """What a rate-limited walk did, as the server counted it."""

    seconds: float
    requests: int  # answers the server gave, throttled ones included
    throttled: int
    failed_race_days: int

    @property
    def served(self) -> int:
        return self.requests - self.throttled

    @property
    def served_per_second(self) -> float:
        return self.served / self.seconds

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0


def rate_run(
    server: FakeServer,
    *,
    rate_limit: RateLimit,
    concurrency: int,
    num: int,
    seconds: float | None = None,
) -> RateRun:
    """Walk every race day of the fake through ``iter_many`` with ``rate_limit``.

    Stops after ``seconds`` when given (the walk is cut short; requests in flight are
    cancelled and not counted as served). Race days that fail are skipped and counted.
    """
    info = server.info

    async def walk() -> int:
        async with client(info, rate_limit=rate_limit, max_concurrency=concurrency) as sdk:
            deadline = None if seconds is None else time.monotonic() + seconds
            async with sdk.photos.iter_many(
                info.race_days, concurrency=concurrency, num=num, on_error="skip"
            ) as photos:
                async for _ in photos:
                    if deadline is not None and time.monotonic() >= deadline:
                        break
            return len(photos.report.failures)

    server.reset()
    failed, wall, _ = timed(walk)
    stats = server.stats()
    return RateRun(wall, stats.requests, stats.throttled, failed)


@attrs.frozen
class Bucket:
    """A bucket of the local S3 server: its s3:// URL and the endpoint to reach it."""

    url: str
    endpoint: str


@attrs.frozen
class StoreWork:
    """What moto's process has done so far: its CPU seconds, its requests by kind."""

    cpu_seconds: float
    requests: Counter[str]

    def __sub__(self, before: StoreWork) -> StoreWork:
        return StoreWork(self.cpu_seconds - before.cpu_seconds, self.requests - before.requests)


class StoreServer(list[Bucket]):
    """moto's buckets, and a look at its process: ``work()`` reads its CPU time from
    ``/proc`` and counts the requests of its log (one line a request)."""

    def __init__(self, endpoint: str, buckets: int, pid: int, log: str) -> None:
        super().__init__(Bucket(f"s3://bench-{n}/photos", endpoint) for n in range(buckets))
        self.endpoint = endpoint
        self.pid = pid
        self.log = log
        self.empty()

    def empty(self) -> None:
        """Drop every object: the buckets as new. moto lists a prefix by walking every key
        of its bucket (S3 answers from an index), so what earlier runs left there would
        make the later runs' listings dearer on the servers' CPU."""
        import urllib.request

        requests = [urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")]
        requests += [
            urllib.request.Request(f"{self.endpoint}/{b.url.split('/')[2]}", method="PUT")
            for b in self
        ]
        for request in requests:
            with urllib.request.urlopen(request, timeout=30):
                pass

    def work(self) -> StoreWork:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        requests: Counter[str] = Counter()
        with open(self.log, errors="replace") as f:
            for line in f:
                found = _REQUEST.search(line)
                if found:
                    method, target = found.groups()
                    kind = "LIST" if method == "GET" and "list-type=" in target else method
                    requests[kind] += 1
        return StoreWork(cpu, requests)


_REQUEST = re.compile(r'"([A-Z]+) (\S+) HTTP/')


@contextmanager
def moto_server(cpu: int | None, *, buckets: int = 1) -> Iterator[StoreServer]:
    """moto's S3 server in a child process (on the server's CPU, beside the fake), with
    ``buckets`` new buckets; sets the standard AWS variables of this process for it.

    Its own process, not the benchmark's: its CPU and the objects it holds in memory
    are the store's, never counted as the client's. Its request log goes to a temporary
    file (``StoreServer.work`` counts it).
    """
    import socket
    import subprocess
    import tempfile

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"

    def pin() -> None:
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {cpu})

    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=pin,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("moto's S3 server did not start") from None
                time.sleep(0.1)
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1"
        )
        yield StoreServer(endpoint, buckets, proc.pid, log.name)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def store_of(bucket: Bucket) -> Any:
    """An obstore S3Store on ``bucket`` configured as the harvest configures its own."""
    from runsignup_async.harvester.sinks.s3 import make_store

    return make_store(bucket.url, endpoint=bucket.endpoint)
