"""Throughput of the fake RunSignup server on one core.

The fake runs in a child process (pinned to one CPU where the OS allows), the parent
drives it over loopback with aiohttp at fixed concurrency for a bounded number of
requests or seconds, then prints requests/s and the ratio to the 2,000 req/s target.

    python benchmarks/bench_fake_server.py [--endpoint albums|photos] [--requests 20000]
        [--seconds 15] [--concurrency 32] [--num 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection

import aiohttp

from runsignup_async.testing import FakeRunSignup

TARGET = 2000.0
PATHS = {
    "albums": "/v2/photos/get-race-photo-albums.json",
    "photos": "/v2/photos/get-race-photos.json",
}


def _serve(conn: Connection, cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})

    async def main() -> None:
        async with FakeRunSignup(seed=1, races=10, photos_per_race_day=250) as fake:
            race_id, days_id = fake.race_days()[0]
            conn.send((fake.base_url, race_id, days_id, fake.credentials))
            loop = asyncio.get_running_loop()
            # The parent says when to stop; wait for it without blocking the loop.
            await loop.run_in_executor(None, conn.recv)

    asyncio.run(main())


async def _drive(
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    total: int,
    seconds: float,
    conc: int,
) -> tuple[int, float]:
    done = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=conc)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while done < total and time.monotonic() < deadline:
                done += 1
                async with session.get(url, params=params, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200 or not body.startswith((b'{"albums"', b'{"photos"')):
                        raise RuntimeError(f"unexpected answer: {response.status} {body[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        elapsed = time.perf_counter() - started
    return done, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--endpoint", choices=sorted(PATHS), default="albums",
        help="albums: the small answer; photos: a page of --num photos",
    )  # fmt: skip
    parser.add_argument("--num", type=int, default=10)
    args = parser.parse_args()

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_cpu = cpus[0] if cpus else None
    if len(cpus) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus[1:]))  # keep the driver off the server's core
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(child, server_cpu), daemon=True)
    proc.start()
    try:
        if not parent.poll(30):
            raise SystemExit("fake server did not start within 30 s")
        base_url, race_id, days_id, creds = parent.recv()
        params = {"race_id": str(race_id), "race_event_days_id": str(days_id), "format": "json"}
        headers = {}
        if args.endpoint == "albums":
            params |= {"api_key": creds.api_key, "api_secret": creds.api_secret}
        else:
            params |= {"rsu_api_key": creds.rsu_api_key, "num": str(args.num)}
            headers["X-RSU-API-SECRET"] = creds.rsu_api_secret
        url = base_url + PATHS[args.endpoint]
        asyncio.run(_drive(url, params, headers, 500, 5.0, args.concurrency))  # warm-up
        count, elapsed = asyncio.run(
            _drive(url, params, headers, args.requests, args.seconds, args.concurrency)
        )
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    rate = count / elapsed
    pinned = f"pinned to CPU {server_cpu}" if server_cpu is not None else "not pinned"
    print(
        f"fake server ({pinned}), {args.endpoint}: {count} requests in {elapsed:.2f} s"
        f" at concurrency {args.concurrency}: {rate:,.0f} req/s;"
        f" ratio to the {TARGET:,.0f} req/s target: {rate / TARGET:.2f}"
    )


if __name__ == "__main__":
    main()
