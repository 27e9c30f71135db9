"""Throughput: the harvest vs a plain aiohttp loop, image host 20 ms away, to each sink.

Run: ``python benchmarks/bench_harvest_throughput.py [--repeats 5] [--image-latency MS]``.
Issue 20 (it replaces issue 6's zero-latency target, which measured this VM's ext4 more
than the harvest).

The fake runs in its own process on the first CPU, with every image answer delayed by
``--image-latency`` (20 ms: S3's first byte is of that order); moto's S3 server runs in
another process on the same CPU; the harvest and the loops run in this process on the
other CPU, against the same servers, the same URLs and the same download concurrency (8).

Both sides list every race day through the API the same way (``iter_many``, the same
requests to the same fake: its CPU is moto's too, so a side that skipped the listing
would leave moto more of it), feeding a bounded queue. The loop then downloads each URL
with plain aiohttp and writes the same bytes to the same sink: **directory**, the file of
the harvest's path (making each directory as it first meets it); **bucket**, one obstore
put of the object at the harvest's key. Nothing more. The harvest also plans each photo
(key, resume check), checks each image's length against Content-Length, hashes it, and
records it: on disk, a temp file, a flush to disk (one syncfs per batch on Linux, else
fsync), a rename, a directory fsync and a SQLite row; in the bucket, a manifest object
per race day.

Each run goes to a new directory or prefix; moto is emptied before each bucket run (it
lists a prefix by walking every key of the bucket, where S3 answers from an index, so
the objects of earlier runs would make a later run's listings dearer). A round runs the
loop and the harvest back to back (which goes first alternates round by round) and gives
one ratio; the verdict is the median of the rounds' ratios, so one or two disturbed
rounds do not decide it (this machine is shared: others' work that lands on the servers'
CPU slows whichever run it meets, so five rounds rather than three). The best run of
each side is printed too, with its client CPU per file.

Both sides are bound by the servers' shared CPU, not the client's, so each run also
prints the servers' CPU per file (the fake's and moto's, from their processes) and the
requests moto answered (from its log): what each side costs where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from _common import (
    Bucket,
    ServerInfo,
    fake_server,
    moto_server,
    photo_files,
    store_of,
    timed,
    unlimited,
    verdict,
    where,
)

from runsignup_async import Client, V2KeyAuth
from runsignup_async.harvester import HarvestSummary, harvest

RACE_DAYS = 20
PHOTOS = 250
SIZE = "thumbnail"
CONCURRENCY = 8
TARGET = 0.97
SETTLE_SECONDS = 0.5

Save = Callable[[str, bytes], Any]


async def list_into(info: ServerInfo, queue: asyncio.Queue[tuple[str, str] | None]) -> None:
    """The listing both sides make: every race day through ``iter_many``, as the harvest
    does; each image's (URL, key) into ``queue``, then one None per worker."""
    sdk = _sdk(info)
    async with sdk:
        walk = sdk.photos.iter_many(info.race_days, concurrency=CONCURRENCY)
        async for photo in walk:
            image = getattr(photo, SIZE)
            if image is not None:
                key = (f"{photo.race_id}/{photo.race_event_days_id}/{photo.album_id}/"
                       f"{photo.photo_id}-{SIZE}.jpg")  # fmt: skip
                await queue.put((image.image_url, key))
    for _ in range(CONCURRENCY):
        await queue.put(None)


async def plain_loop(info: ServerInfo, save: Callable[[str], Save]) -> int:
    """CONCURRENCY workers on one session: GET each URL listed, hand its bytes to ``save``."""
    queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize=CONCURRENCY * 4)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    done = 0
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while (item := await queue.get()) is not None:
                url, key = item
                async with session.get(url) as response:
                    response.raise_for_status()
                    await save(key)(key, await response.read())
                done += 1

        await asyncio.gather(list_into(info, queue), *(worker() for _ in range(CONCURRENCY)))
    return done


async def loop_to_directory(info: ServerInfo, dest: str) -> int:
    made: set[str] = set()

    async def write(key: str, data: bytes) -> None:
        path = os.path.join(dest, key)
        directory = os.path.dirname(path)
        if directory not in made:
            made.add(directory)
            os.makedirs(directory, exist_ok=True)
        with open(path, "wb") as f:  # noqa: ASYNC230 (the plain loop: no thread hand-off)
            f.write(data)

    return await plain_loop(info, lambda key: write)


async def loop_to_bucket(info: ServerInfo, bucket: Bucket) -> int:
    import obstore

    store = store_of(bucket)

    async def put(key: str, data: bytes) -> None:
        await obstore.put_async(store, key, data, use_multipart=False)

    return await plain_loop(info, lambda key: put)


def _sdk(info: ServerInfo) -> Client:
    creds = info.credentials
    return Client(
        V2KeyAuth(creds.rsu_api_key, creds.rsu_api_secret),
        base_url=info.base_url,
        rate_limit=unlimited(CONCURRENCY),
        max_concurrency=CONCURRENCY,
        download_concurrency=CONCURRENCY,
    )


async def harvest_all(info: ServerInfo, dest: str, endpoint: str | None) -> HarvestSummary:
    sdk = _sdk(info)
    async with sdk:
        return await harvest(sdk, info.race_days, dest, sizes=(SIZE,), concurrency=CONCURRENCY,
                             s3_endpoint=endpoint)  # fmt: skip


def measure(run: Callable[[], Any], local: bool) -> tuple[Any, float, float]:
    if local:
        os.sync()  # the previous run's writeback is not billed to this one
        time.sleep(SETTLE_SECONDS)
    return timed(run)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--image-latency", type=float, default=20.0, metavar="MS")
    args = parser.parse_args()
    with (
        fake_server(seed=2, races=RACE_DAYS, photos_per_race_day=PHOTOS) as server,
        moto_server(server.info.cpu) as moto,
        tempfile.TemporaryDirectory() as scratch,
    ):
        info = server.info
        (bucket,) = moto
        runs = itertools.count()
        files = asyncio.run(photo_files(info, info.race_days, SIZE, CONCURRENCY))
        n = len(files)
        server.set_image_latency(args.image_latency / 1000)
        print(where(info) + "; moto's S3 server in a third process on the server's CPU")
        print(f"{len(info.race_days)} race days, {n} {SIZE} images, concurrency {CONCURRENCY},"
              f" image latency {args.image_latency:g} ms, {args.repeats} rounds")  # fmt: skip

        def local(kind: str) -> Callable[[], Any]:
            dest = os.path.join(scratch, f"{kind}-{next(runs)}")
            if kind == "loop":
                return lambda: loop_to_directory(info, dest)
            return lambda: harvest_all(info, dest, None)

        def remote(kind: str) -> Callable[[], Any]:
            where = Bucket(f"{bucket.url}/{kind}-{next(runs)}", bucket.endpoint)
            if kind == "loop":
                return lambda: loop_to_bucket(info, where)
            return lambda: harvest_all(info, where.url, where.endpoint)

        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        ratios: dict[str, list[float]] = {"directory": [], "bucket": []}
        summaries: list[HarvestSummary] = []
        for round_ in range(args.repeats):
            for sink, make in (("directory", local), ("bucket", remote)):
                # The sides alternate which goes first, round by round.
                order = ("loop", "harvest") if round_ % 2 == 0 else ("harvest", "loop")
                for kind in order:
                    if sink == "bucket":
                        moto.empty()
                    run = make(kind)
                    fake_before, moto_before = server.stats().cpu_seconds, moto.work()
                    result, wall, cpu = measure(run, sink == "directory")
                    fake_cpu = server.stats().cpu_seconds - fake_before
                    store = moto.work() - moto_before
                    # The servers' work per file, each side's own: what bounds this
                    # benchmark is their shared CPU, not the client's.
                    print(f"    {sink:9s} {kind:7s}: {n / wall:4.0f} files/s; server CPU"
                          f" per file: fake {fake_cpu * 1e6 / n:4.0f} us, moto"
                          f" {store.cpu_seconds * 1e6 / n:4.0f} us; moto requests"
                          f" {dict(sorted(store.requests.items()))}")  # fmt: skip
                    if kind == "harvest":
                        summaries.append(result)
                    else:
                        assert result == n
                    results.setdefault((sink, kind), []).append((wall, cpu))
                loop_wall, harvest_wall = (
                    results[sink, "loop"][-1][0],
                    results[sink, "harvest"][-1][0],
                )
                ratios[sink].append(loop_wall / harvest_wall)
                print(f"  round {round_ + 1} {sink:9s}: loop {n / loop_wall:5.0f} files/s,"
                      f" harvest {n / harvest_wall:5.0f} files/s,"
                      f" ratio {loop_wall / harvest_wall:.3f}")  # fmt: skip
    checks = [("every harvest ok, every image stored",
               all(s.ok and s.files_downloaded == n for s in summaries))]  # fmt: skip
    for sink in ("directory", "bucket"):
        loop, harv = min(results[sink, "loop"]), min(results[sink, "harvest"])
        for label, (wall, cpu) in (("loop", loop), ("harvest", harv)):
            print(f"{sink:9s} {label:8s} best {wall:.2f} s ({n / wall:.0f} files/s),"
                  f" client CPU {cpu * 1e6 / n:.0f} us/file")  # fmt: skip
        ratio = statistics.median(ratios[sink])
        print(f"{sink:9s} harvest / loop throughput: median of rounds {ratio:.3f}"
              f" (rounds {', '.join(f'{r:.3f}' for r in ratios[sink])};"
              f" best vs best {loop[0] / harv[0]:.3f}; target >= {TARGET})")  # fmt: skip
        checks.append((f"{sink} throughput ratio {ratio:.3f} >= {TARGET}", ratio >= TARGET))
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
