"""Throughput: harvest of 100 race days x 100 photos (thumbnails) vs a hand-written loop.

Both run against the same embedded fake on 127.0.0.1, at the same download concurrency:
the baseline downloads the same URLs with plain aiohttp and writes each to a file (no
listing, no manifest, no fsync); the harvest lists every race day through the API,
streams each image to a temp file, verifies, fsyncs, renames and records it. Prints both
rates and their ratio (target >= 0.85). ``python benchmarks/bench_harvest_throughput.py``
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

import aiohttp

from runsignup_async import Client, RateLimit
from runsignup_async.harvester import harvest
from runsignup_async.testing import FakeRunSignup

RACE_DAYS = 100
PHOTOS = 100
CONCURRENCY = 8
TARGET = 0.85


async def baseline(urls: list[str], dest: str) -> float:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for n, url in enumerate(urls):
        queue.put_nowait((n, url))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                n, url = queue.get_nowait()
                async with session.get(url) as response:
                    response.raise_for_status()
                    with open(os.path.join(dest, f"{n}.jpg"), "wb") as f:  # noqa: ASYNC230
                        async for chunk in response.content.iter_chunked(256 * 1024):
                            f.write(chunk)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


async def main() -> int:
    async with FakeRunSignup(seed=2, races=RACE_DAYS, photos_per_race_day=PHOTOS) as fake:
        urls = [
            p["thumbnail"]["image_url"] for day in fake.race_days() for p in fake.photos(*day)
        ]
        with tempfile.TemporaryDirectory() as dest:
            base = await baseline(urls, dest)
        client = Client(
            fake.v2_auth(),
            base_url=fake.base_url,
            rate_limit=RateLimit(per_second=5000, burst=500),
            max_concurrency=CONCURRENCY,
            download_concurrency=CONCURRENCY,
        )
        async with client:
            with tempfile.TemporaryDirectory() as dest:
                started = time.perf_counter()
                summary = await harvest(
                    client, fake.race_days(), dest, sizes=("thumbnail",), concurrency=CONCURRENCY
                )
                took = time.perf_counter() - started
    n = len(urls)
    ratio = base / took
    print(f"baseline aiohttp loop: {n} files in {base:.2f} s ({n / base:.0f} files/s)")
    print(f"harvest:               {summary.files_downloaded} files in {took:.2f} s"
          f" ({summary.files_downloaded / took:.0f} files/s)")  # fmt: skip
    print(f"ratio {ratio:.2f} (target >= {TARGET})")
    ok = summary.ok and summary.files_downloaded == n and ratio >= TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
