"""Throughput: harvest of 100 race days x 100 photos (thumbnails) vs a hand-written loop.

Run: ``python benchmarks/bench_harvest_throughput.py [--repeats 2]``. Issue 6.

The fake runs in its own process on its own CPU (``_common.fake_server``), as S3 would
be elsewhere in production; both sides run in this process on the other CPU, against the
same server, the same URLs and the same download concurrency. The baseline downloads the
URLs with plain aiohttp and writes each to its file, nothing more. The harvest also lists
every race day through the API, and for each image writes a temp file in the final
directory, checks its length against Content-Length, hashes it, fsyncs it, renames it into
place, fsyncs the directory and records it in the SQLite manifest. Each side runs
``--repeats`` times, alternating, each into a fresh directory after the disk has settled
(``os.sync()`` and a pause, so one run's writeback is not billed to the next); the best of
each is compared (target >= 0.85).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

import aiohttp
from _common import ServerInfo, fake_server, photo_urls, timed, unlimited, verdict, where

from runsignup_async import Client, V2KeyAuth
from runsignup_async.harvester import HarvestSummary, harvest

RACE_DAYS = 100
PHOTOS = 100
SIZE = "thumbnail"
CONCURRENCY = 8
TARGET = 0.85
SETTLE_SECONDS = 2.0
EXTRA = (
    "the harvest also lists the race days, and per image: temp file, Content-Length check,"
    " sha256, fsync, rename, directory fsync, manifest row"
)


async def baseline(urls: list[str], dest: str) -> int:
    """CONCURRENCY workers on one session: GET each URL, stream it into its own file."""
    todo = iter(enumerate(urls))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for n, url in todo:
                async with session.get(url) as response:
                    response.raise_for_status()
                    with open(os.path.join(dest, f"{n}.jpg"), "wb") as f:  # noqa: ASYNC230
                        async for chunk in response.content.iter_chunked(256 * 1024):
                            f.write(chunk)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(urls)


async def harvest_all(info: ServerInfo, dest: str) -> HarvestSummary:
    creds = info.credentials
    sdk = Client(
        V2KeyAuth(creds.rsu_api_key, creds.rsu_api_secret),
        base_url=info.base_url,
        rate_limit=unlimited(CONCURRENCY),
        max_concurrency=CONCURRENCY,
        download_concurrency=CONCURRENCY,
    )
    async with sdk:
        return await harvest(sdk, info.race_days, dest, sizes=(SIZE,), concurrency=CONCURRENCY)


def settle() -> None:
    """Let the previous run's writeback and deletions finish before timing the next one."""
    os.sync()
    time.sleep(SETTLE_SECONDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with fake_server(seed=2, races=RACE_DAYS, photos_per_race_day=PHOTOS) as server:
        info = server.info
        urls = asyncio.run(photo_urls(info, info.race_days, SIZE, CONCURRENCY))
        n = len(urls)
        print(where(info))
        print(f"{len(info.race_days)} race days, {n} {SIZE} images, concurrency {CONCURRENCY}")
        print(f"baseline: plain aiohttp loop writing each file; {EXTRA}")
        base: list[tuple[float, float]] = []
        runs: list[tuple[float, float]] = []
        summaries: list[HarvestSummary] = []
        for _ in range(args.repeats):
            settle()
            with tempfile.TemporaryDirectory() as dest:
                written, wall, cpu = timed(lambda: baseline(urls, dest))
                assert written == n
                base.append((wall, cpu))
            settle()
            with tempfile.TemporaryDirectory() as dest:
                summary, wall, cpu = timed(lambda: harvest_all(info, dest))
                summaries.append(summary)
                runs.append((wall, cpu))
            print(
                f"  baseline {n / base[-1][0]:6.0f} files/s (cpu {base[-1][1]:.2f} s);"
                f" harvest {summary.files_downloaded / wall:6.0f} files/s (cpu {cpu:.2f} s)"
            )
    b_wall, b_cpu = min(base)
    h_wall, h_cpu = min(runs)
    ratio = b_wall / h_wall
    print(f"baseline aiohttp loop: {n} files in {b_wall:.2f} s ({n / b_wall:.0f} files/s),"
          f" client CPU {b_cpu * 1e6 / n:.0f} us/file")  # fmt: skip
    print(f"harvest:               {n} files in {h_wall:.2f} s ({n / h_wall:.0f} files/s),"
          f" client CPU {h_cpu * 1e6 / n:.0f} us/file")  # fmt: skip
    print(f"ratio {ratio:.2f} (target >= {TARGET})")
    return verdict(
        [
            ("every harvest ok, every image downloaded",
             all(s.ok and s.files_downloaded == n for s in summaries)),
            (f"throughput ratio {ratio:.2f} >= {TARGET}", ratio >= TARGET),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
