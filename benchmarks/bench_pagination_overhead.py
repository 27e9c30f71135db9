"""SDK overhead: ``client.photos.iter_many`` against a hand-written raw aiohttp loop.

Run: ``python benchmarks/bench_pagination_overhead.py``. Issue 5, benchmark 1; targets
raised by issue 16, once the SDK decoded pages faster than ``json.loads`` parses them.

200 race days of 500 photos each, listed 100 a page: every race day is 5 full pages and
the empty 6th page that ends every listing (the API gives no count, so any walker has to
fetch it): 1,200 requests, 100,000 photos. The raw loop sends exactly the SDK's requests
(same URL, query, headers, page walk and termination) with the same number of workers,
decodes the JSON and builds no models; the server checks both sent the same number.

1. With the fake adding 20 ms per request, SDK throughput over raw: target >= 1.00.
2. With no latency, the SDK's client CPU minus the raw loop's, per photo (models
   included): target <= 0 us (the SDK, models and all, costs no more than the raw
   loop). CPU is ``time.process_time()`` of this process; the fake
   runs in another process on another CPU.

Both sides use ``--concurrency`` workers (default 8, ``iter_many``'s default); the SDK's
client is set so that neither its rate limit nor its connection cap is the bottleneck.
Each side runs ``--repeats`` times, alternating; the best of each is compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterator

import aiohttp
from _common import (
    PHOTOS_PATH,
    ServerInfo,
    count_photos,
    fake_server,
    timed,
    verdict,
    where,
)

RACES = 200
FULL_PAGES = 5
NUM = 100
LATENCY = 0.020
CONCURRENCY = 8  # iter_many's default
THROUGHPUT_TARGET = 1.00
CPU_TARGET_US = 0.0


async def raw_loop(
    info: ServerInfo, races: list[tuple[int, int]], concurrency: int, num: int
) -> int:
    """The same walk by hand: ``concurrency`` workers, a race day each, page after page."""
    url = info.base_url + PHOTOS_PATH
    headers = {
        "Accept": "application/json",
        "User-Agent": "raw-loop",
        "X-RSU-API-SECRET": info.credentials.rsu_api_secret,
    }
    todo: Iterator[tuple[int, int]] = iter(races)
    count = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal count
            for race_id, days_id in todo:
                page = 1
                while True:
                    params = {
                        "race_id": str(race_id),
                        "race_event_days_id": str(days_id),
                        "num": str(num),
                        "include_participant_uploads": "T",
                        "page": str(page),
                        "format": "json",
                        "rsu_api_key": info.credentials.rsu_api_key,
                    }
                    async with session.get(url, params=params, headers=headers) as response:
                        body = await response.read()
                    photos = json.loads(body)["photos"]
                    if response.status != 200 or not isinstance(photos, list):
                        raise RuntimeError(f"unexpected answer {response.status}: {body[:200]!r}")
                    if not photos:
                        break
                    count += len(photos)
                    page += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count


def compare(
    info: ServerInfo,
    races: list[tuple[int, int]],
    concurrency: int,
    repeats: int,
    requests_each: int,
    server_requests: Callable[[], int],
) -> tuple[float, float, float, float, int]:
    """Best (wall, cpu) of the SDK and of the raw loop; and the photo count."""
    best = {"sdk": (float("inf"), float("inf")), "raw": (float("inf"), float("inf"))}
    photos = -1
    walkers = {
        "raw": lambda: raw_loop(info, races, concurrency, NUM),
        "sdk": lambda: count_photos(info, races, concurrency, NUM),
    }
    for _ in range(repeats):
        for name, walk in walkers.items():
            before = server_requests()
            count, wall, cpu = timed(walk)
            sent = server_requests() - before
            if sent != requests_each:
                raise SystemExit(f"{name} sent {sent} requests, expected {requests_each}")
            if photos not in (-1, count):
                raise SystemExit(f"{name} listed {count} photos, the other {photos}")
            photos = count
            old_wall, old_cpu = best[name]
            best[name] = (min(old_wall, wall), min(old_cpu, cpu))
    return (*best["sdk"], *best["raw"], photos)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    requests_each = RACES * (FULL_PAGES + 1)
    with fake_server(
        seed=5, races=RACES, photos_per_race_day=FULL_PAGES * NUM, latency=LATENCY
    ) as server:
        info = server.info
        races = info.race_days
        assert len(races) == RACES

        def received() -> int:
            return server.stats().requests

        print(f"{where(info)}")
        print(
            f"{RACES} race days x ({FULL_PAGES} pages of {NUM} + the empty last page) ="
            f" {requests_each} requests each run, concurrency {args.concurrency},"
            f" best of {args.repeats}"
        )
        # Warm-up: imports, first connections, the server's rendered-photo cache.
        compare(info, races, args.concurrency, 1, requests_each, received)

        sdk_wall, _, raw_wall, _, photos = compare(
            info, races, args.concurrency, args.repeats, requests_each, received
        )
        ratio = raw_wall / sdk_wall
        print(f"latency {LATENCY * 1000:g} ms: {photos} photos")
        print(f"  raw loop: {raw_wall:6.3f} s  {requests_each / raw_wall:7.1f} req/s")
        print(f"  SDK:      {sdk_wall:6.3f} s  {requests_each / sdk_wall:7.1f} req/s")
        print(f"  SDK throughput / raw: {ratio:.3f} (target >= {THROUGHPUT_TARGET})")

        server.set_latency(0.0)
        sdk_wall, sdk_cpu, raw_wall, raw_cpu, photos = compare(
            info, races, args.concurrency, args.repeats, requests_each, received
        )
        per_photo = (sdk_cpu - raw_cpu) / photos * 1e6
        print(f"latency 0: {photos} photos")
        print(f"  raw loop: {raw_wall:6.3f} s wall  {raw_cpu:6.3f} s client CPU")
        print(f"  SDK:      {sdk_wall:6.3f} s wall  {sdk_cpu:6.3f} s client CPU")
        print(
            f"  SDK client CPU over raw per photo: {per_photo:.2f} us"
            f" (target <= {CPU_TARGET_US:g} us)"
        )
    return verdict(
        [
            (f"throughput ratio {ratio:.3f} >= {THROUGHPUT_TARGET}", ratio >= THROUGHPUT_TARGET),
            (
                f"CPU per photo {per_photo:.2f} us <= {CPU_TARGET_US:g} us",
                per_photo <= CPU_TARGET_US,
            ),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
