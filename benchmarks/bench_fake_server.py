"""Throughput of the fake RunSignup server on one core.

The fake runs in a child process (``_common.fake_server``: pinned to one CPU where the OS
allows); the parent drives it over loopback with aiohttp at fixed concurrency for a
bounded number of requests or seconds, then prints requests/s and the ratio to the
2,000 req/s target.

    python benchmarks/bench_fake_server.py [--endpoint albums|photos] [--requests 20000]
        [--seconds 15] [--concurrency 32] [--num 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
from _common import fake_server, where

TARGET = 2000.0
PATHS = {
    "albums": "/v2/photos/get-race-photo-albums.json",
    "photos": "/v2/photos/get-race-photos.json",
}


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

    with fake_server(seed=1, races=10, photos_per_race_day=250) as server:
        info = server.info
        creds = info.credentials
        race_id, days_id = info.race_days[0]
        params = {"race_id": str(race_id), "race_event_days_id": str(days_id), "format": "json"}
        headers = {}
        if args.endpoint == "albums":
            params |= {"api_key": creds.api_key, "api_secret": creds.api_secret}
        else:
            params |= {"rsu_api_key": creds.rsu_api_key, "num": str(args.num)}
            headers["X-RSU-API-SECRET"] = creds.rsu_api_secret
        url = info.base_url + PATHS[args.endpoint]
        asyncio.run(_drive(url, params, headers, 500, 5.0, args.concurrency))  # warm-up
        count, elapsed = asyncio.run(
            _drive(url, params, headers, args.requests, args.seconds, args.concurrency)
        )
    rate = count / elapsed
    print(
        f"{where(info)}; {args.endpoint}: {count} requests in {elapsed:.2f} s"
        f" at concurrency {args.concurrency}: {rate:,.0f} req/s;"
        f" ratio to the {TARGET:,.0f} req/s target: {rate / TARGET:.2f}"
    )


if __name__ == "__main__":
    main()
