"""Throughput: the harvest vs a plain aiohttp loop, image host 20 ms away, to each sink.

Run: ``python benchmarks/bench_harvest_throughput.py [--rounds 6] [--image-latency MS]
[--loop-vs-loop]`` (the last: both sides run the loop, which shows the method's own spread).
Issue 20 (it replaces issue 6's zero-latency target, which measured this VM's ext4 more
than the harvest).

**Side by side.** The loop and the harvest run at the same time, each in a process of its
own on the client CPU, each against servers of its own on the other CPU: a fake RunSignup
(every image answer delayed by ``--image-latency``, 20 ms: S3's first byte is of that
order) and, for the bucket, a moto S3 server. The four servers share that CPU, and it is
what bounds both sides (per file, moto spends 4-5 ms of it, the fake about 1 ms), so a
side whose servers have more to do per file gets fewer files through. A round's ratio is
the harvest's files over the loop's, both counted in the window where both ran (from
their common start until the first of them ended).

Why side by side: this machine's speed moves by 10-15% from one minute to the next. Run
one after the other, the two sides met different machines: single rounds' ratios went
from 0.89 to 1.18, the harvest's true cost lost in them. Side by side they share every
moment of it. Two sets of servers are never quite alike, though (a loop against a loop
once ran 1.016-1.018 one way round and 0.979-0.980 the other), so rounds go in pairs, the
sides swapping server sets between the two, and a pair's ratio is the geometric mean of
its two rounds'; which side starts first alternates pair by pair. The verdict is the
median of the pairs' ratios.

Both sides list every race day through the API the same way (``iter_many``, the same
requests: a side that skipped the listing would leave its servers less work), feeding a
bounded queue. The loop then downloads each URL with plain aiohttp and writes the same
bytes to the same sink: **directory**, the file of the harvest's path (making each
directory as it first meets it); **bucket**, one obstore put of the object at the
harvest's key. Nothing more. The harvest also plans each photo (key, resume check),
checks each image's length against Content-Length, hashes it, and records it: on disk, a
temp file, a flush to disk (one syncfs per batch on Linux, else fsync), a rename, a
directory fsync and a SQLite row; in the bucket, the image's own record in its metadata,
a listing of each race day's keys and a manifest object per race day.

Each run goes to a new directory or prefix; both motos are emptied before each bucket
round (moto lists a prefix by walking every key of its bucket, where S3 answers from an
index). Each side prints its client CPU per file (its own process's) and what its
servers spent per file, with the requests its moto answered (from its log).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any

import aiohttp
import attrs
from _common import (
    Bucket,
    FakeServer,
    ServerInfo,
    StoreServer,
    fake_server,
    moto_server,
    photo_files,
    store_of,
    unlimited,
    verdict,
)

from runsignup_async import Client, V2KeyAuth
from runsignup_async.harvester import HarvestEvent, harvest

RACE_DAYS = 20
PHOTOS = 250
SIZE = "thumbnail"
CONCURRENCY = 8
TARGET = 0.97
SETTLE_SECONDS = 0.5
SIDES = ("loop", "harvest")

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


async def plain_loop(info: ServerInfo, save: Save, ends: list[float]) -> int:
    """CONCURRENCY workers on one session: GET each URL listed, hand its bytes to ``save``;
    the time each file was done into ``ends``."""
    queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize=CONCURRENCY * 4)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while (item := await queue.get()) is not None:
                url, key = item
                async with session.get(url) as response:
                    response.raise_for_status()
                    await save(key, await response.read())
                ends.append(time.monotonic())

        await asyncio.gather(list_into(info, queue), *(worker() for _ in range(CONCURRENCY)))
    return len(ends)


async def loop_to_directory(info: ServerInfo, dest: str, ends: list[float]) -> int:
    made: set[str] = set()

    async def write(key: str, data: bytes) -> None:
        path = os.path.join(dest, key)
        directory = os.path.dirname(path)
        if directory not in made:
            made.add(directory)
            os.makedirs(directory, exist_ok=True)
        with open(path, "wb") as f:  # noqa: ASYNC230 (the plain loop: no thread hand-off)
            f.write(data)

    return await plain_loop(info, write, ends)


async def loop_to_bucket(info: ServerInfo, bucket: Bucket, ends: list[float]) -> int:
    import obstore

    store = store_of(bucket)

    async def put(key: str, data: bytes) -> None:
        await obstore.put_async(store, key, data, use_multipart=False)

    return await plain_loop(info, put, ends)


def _sdk(info: ServerInfo) -> Client:
    creds = info.credentials
    return Client(
        V2KeyAuth(creds.rsu_api_key, creds.rsu_api_secret),
        base_url=info.base_url,
        rate_limit=unlimited(CONCURRENCY),
        max_concurrency=CONCURRENCY,
        download_concurrency=CONCURRENCY,
    )


async def harvest_all(info: ServerInfo, dest: str, endpoint: str | None,
                      ends: list[float]) -> int:  # fmt: skip
    """The harvest; the number of files it stored (0 if any failed)."""

    def progress(event: HarvestEvent) -> None:
        if event.kind == "photo_downloaded":  # one size a photo: a photo is a file
            ends.append(time.monotonic())

    async with _sdk(info) as sdk:
        summary = await harvest(sdk, info.race_days, dest, sizes=(SIZE,), concurrency=CONCURRENCY,
                                progress=progress, s3_endpoint=endpoint)  # fmt: skip
    return summary.files_downloaded if summary.ok else 0


@attrs.frozen
class Run:
    """One side's run, as its process saw it."""

    start: float  # time.monotonic() when it started (the same clock in every process)
    ends: list[float]  # when each file was done
    stored: int  # files stored (the harvest: 0 if anything failed)
    cpu_seconds: float  # its process's CPU time

    @property
    def end(self) -> float:
        """When its last file was done (its start if none was)."""
        return self.ends[-1] if self.ends else self.start

    def files_by(self, t: float) -> int:
        return sum(1 for end in self.ends if end <= t)


def run_side(kind: str, sink: str, info: ServerInfo, dest: str, endpoint: str | None,
             start: Barrier, report: Connection) -> None:  # fmt: skip
    """One side of a round, in its own process: wait for the other side, run, report."""
    ends: list[float] = []
    if kind == "harvest":
        work = harvest_all(info, dest, endpoint, ends)
    elif sink == "directory":
        work = loop_to_directory(info, dest, ends)
    else:
        work = loop_to_bucket(info, Bucket(dest, endpoint or ""), ends)
    start.wait()
    began, cpu = time.monotonic(), time.process_time()
    stored = asyncio.run(work)
    report.send(Run(began, ends, stored, time.process_time() - cpu))


Servers = tuple[FakeServer, StoreServer]


def run_round(
    sink: str, sets: dict[str, Servers], first: str, name: str, loops: bool
) -> dict[str, Run]:
    """Both sides at once, ``first`` started first, each against its own servers, each
    into its own new directory (under ``name``) or prefix; ``loops``: both run the loop."""
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(len(SIDES))
    procs, reports = [], {}
    for kind in sorted(SIDES, key=lambda kind: kind != first):
        fake, moto = sets[kind]
        if sink == "bucket":
            dest, endpoint = f"{moto[0].url}/{kind}-{name}", moto.endpoint
        else:
            dest, endpoint = os.path.join(name, kind), None
        reports[kind], child = ctx.Pipe(duplex=False)
        args = ("loop" if loops else kind, sink, fake.info, dest, endpoint, start, child)
        procs.append(ctx.Process(target=run_side, args=args))
        procs[-1].start()
    runs = {kind: report.recv() for kind, report in reports.items()}
    for proc in procs:
        proc.join()
    return runs


def one_round(round_: int, sink: str, servers: list[Servers], name: str, loops: bool
              ) -> tuple[float, dict[str, Run]]:  # fmt: skip
    """A round's ratio (harvest / loop, files done in the window both ran) and its runs;
    prints each side's figures."""
    # The two rounds of a pair swap server sets; pair by pair, which side starts first.
    sets = dict(zip(SIDES, servers if round_ % 2 == 0 else servers[::-1], strict=True))
    first = SIDES[(round_ // 2) % 2]
    if sink == "bucket":
        for _, moto in servers:
            moto.empty()
    else:
        os.sync()  # the previous round's writeback is not billed to this one
        time.sleep(SETTLE_SECONDS)
    before = {kind: (fake.stats().cpu_seconds, moto.work()) for kind, (fake, moto) in sets.items()}
    result = run_round(sink, sets, first, name, loops)
    began = max(run.start for run in result.values())
    window = max(began, min(run.end for run in result.values()))
    counts = {kind: run.files_by(window) for kind, run in result.items()}
    for kind, run in result.items():
        fake, moto = sets[kind]
        fake_cpu = fake.stats().cpu_seconds - before[kind][0]
        store = moto.work() - before[kind][1]
        n = max(run.stored, 1)
        rate = run.stored / (run.end - run.start) if run.stored else 0.0
        requests = dict(sorted(store.requests.items()))
        bucket = (
            f", moto {store.cpu_seconds * 1e6 / n:4.0f} us {requests}" if sink == "bucket" else ""
        )
        print(f"    {sink:9s} {kind:7s}: {counts[kind]} files in the common {window - began:.1f} s"
              f" ({rate:3.0f} files/s over its whole run); client CPU"
              f" {run.cpu_seconds * 1e6 / n:4.0f} us/file; its servers' CPU per file: fake"
              f" {fake_cpu * 1e6 / n:4.0f} us{bucket}")  # fmt: skip
    ratio = counts["harvest"] / max(counts["loop"], 1)
    print(f"  round {round_ + 1} {sink:9s}: harvest / loop {ratio:.3f} ({first} started first)")
    return ratio, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="an even number (pairs)")
    parser.add_argument("--image-latency", type=float, default=20.0, metavar="MS")
    parser.add_argument(
        "--loop-vs-loop", action="store_true", help="both sides run the loop: the method's spread"
    )
    args = parser.parse_args()
    if args.rounds < 2 or args.rounds % 2:
        parser.error("--rounds must be even: the rounds of a pair swap server sets")
    options: dict[str, Any] = {"seed": 2, "races": RACE_DAYS, "photos_per_race_day": PHOTOS}
    with ExitStack() as stack:
        first = stack.enter_context(fake_server(**options))
        fakes = [first, stack.enter_context(fake_server(cpu=first.info.cpu, **options))]
        servers = [(fake, stack.enter_context(moto_server(first.info.cpu))) for fake in fakes]
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        info = first.info
        n = len(asyncio.run(photo_files(info, info.race_days, SIZE, CONCURRENCY)))
        for fake in fakes:
            fake.set_image_latency(args.image_latency / 1000)
        print(f"loop and harvest side by side, each in its own process on the client CPU,"
              f" against its own fake and moto on CPU {info.cpu}; {len(info.race_days)} race"
              f" days, {n} {SIZE} images, concurrency {CONCURRENCY}, image latency"
              f" {args.image_latency:g} ms, {args.rounds} rounds")  # fmt: skip
        if args.loop_vs_loop:
            print("--loop-vs-loop: the side named harvest runs the loop too")
        ratios: dict[str, list[float]] = {"directory": [], "bucket": []}
        runs: dict[str, list[Run]] = {}
        for round_ in range(args.rounds):
            for sink in ratios:
                name = os.path.join(scratch, f"{round_}") if sink == "directory" else f"{round_}"
                ratio, result = one_round(round_, sink, servers, name, args.loop_vs_loop)
                ratios[sink].append(ratio)
                for kind, run in result.items():
                    runs.setdefault(f"{sink} {kind}", []).append(run)
    checks = [
        ("every run stored every image", all(r.stored == n for rs in runs.values() for r in rs))
    ]
    for sink, found in ratios.items():
        cpu = {
            kind: statistics.median(r.cpu_seconds for r in runs[f"{sink} {kind}"]) for kind in SIDES
        }
        pairs = [math.sqrt(a * b) for a, b in zip(found[::2], found[1::2], strict=True)]
        ratio = statistics.median(pairs)
        us = {kind: f"{cpu[kind] * 1e6 / n:.0f} us" for kind in SIDES}
        print(f"{sink:9s} client CPU per file (median of rounds): loop {us['loop']},"
              f" harvest {us['harvest']}")  # fmt: skip
        print(f"{sink:9s} harvest / loop throughput, median of pairs: {ratio:.3f} (pairs"
              f" {', '.join(f'{r:.3f}' for r in pairs)}; rounds"
              f" {', '.join(f'{r:.3f}' for r in found)}; target >= {TARGET})")  # fmt: skip
        checks.append((f"{sink} throughput ratio {ratio:.3f} >= {TARGET}", ratio >= TARGET))
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
