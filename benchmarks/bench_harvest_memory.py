"""Memory: harvesting 60 MB photos keeps peak RSS growth under 64 MB, to each sink.

Run: ``python benchmarks/bench_harvest_memory.py``. Issue 20.

The fake runs in its own process (``_common.fake_server``), moto's S3 server in another;
each harvest runs in a fresh process of its own (``ru_maxrss`` is a high-water mark: a
second harvest in the same process would inherit the first one's peak). That process
imports everything, opens the client and touches the destination (an API call, a
listing of the bucket) before its baseline is taken, then harvests PHOTOS originals of
60 MB each at the default download concurrency (8) and reports its peak RSS growth.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection

from _common import Bucket, ServerInfo, fake_server, moto_server, verdict, where

IMAGE_SIZE = 60 * 1024 * 1024
PHOTOS = 8
LIMIT_MB = 64.0


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


async def _harvest(info: ServerInfo, dest: str, bucket: Bucket | None) -> tuple[float, float, int]:
    from runsignup_async import Client, RateLimit, V2KeyAuth
    from runsignup_async.harvester import harvest
    from runsignup_async.harvester.sinks.s3 import check_store, make_store

    creds = info.credentials
    client = Client(V2KeyAuth(creds.rsu_api_key, creds.rsu_api_secret), base_url=info.base_url,
                    rate_limit=RateLimit(per_second=100, burst=10))  # fmt: skip
    endpoint = bucket.endpoint if bucket else None
    async with client:
        # Warm up imports, the session, sqlite and obstore before the baseline is taken.
        race_id, day_id = info.race_days[0]
        await client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
        if bucket is not None:
            await check_store(make_store(bucket.url, endpoint=endpoint), bucket.url)
        gc.collect()
        before = peak_rss_mb()
        started = time.perf_counter()
        summary = await harvest(client, info.race_days, dest, s3_endpoint=endpoint)
        elapsed = time.perf_counter() - started
    ok = summary.ok and summary.files_downloaded == PHOTOS
    return before, peak_rss_mb() - before, elapsed if ok else -1.0


def _measure(conn: Connection, info: ServerInfo, bucket: Bucket | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        conn.send(asyncio.run(_harvest(info, bucket.url if bucket else scratch, bucket)))


def measure(info: ServerInfo, bucket: Bucket | None) -> tuple[float, float, float]:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_measure, args=(child, info, bucket))
    proc.start()
    result: tuple[float, float, float] = parent.recv()
    proc.join(60)
    return result


def main() -> int:
    with (
        fake_server(seed=1, races=1, photos_per_race_day=PHOTOS,
                    image_size={"original": IMAGE_SIZE}) as server,
        moto_server(server.info.cpu) as (bucket,),
    ):  # fmt: skip
        print(where(server.info) + "; moto's S3 server in a third process")
        print(f"{PHOTOS} originals of {IMAGE_SIZE // 2**20} MB, each harvest in a fresh process")
        checks = []
        for name, target in (("directory", None), ("bucket", bucket)):
            before, growth, elapsed = measure(server.info, target)
            mb = PHOTOS * IMAGE_SIZE / 1e6
            print(f"{name:9s}: {mb:.0f} MB in {elapsed:.1f} s; peak RSS before {before:.1f} MB,"
                  f" growth {growth:.1f} MB (limit {LIMIT_MB:.0f} MB)")  # fmt: skip
            checks.append((f"{name}: harvest ok", elapsed >= 0))
            checks.append(
                (f"{name}: growth {growth:.1f} MB < {LIMIT_MB:.0f} MB", growth < LIMIT_MB)
            )
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
