"""Memory: harvesting 50 MB photos keeps peak RSS growth under 64 MB.

Runs the embedded fake on 127.0.0.1 in this process, harvests PHOTOS originals of 50 MB
each, and prints the peak RSS growth (ru_maxrss) over the harvest. Bounded: stops after
one harvest. ``python benchmarks/bench_harvest_memory.py``
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sys
import tempfile
import time

from runsignup_async import Client, RateLimit
from runsignup_async.harvester import harvest
from runsignup_async.testing import FakeRunSignup

IMAGE_SIZE = 50 * 1024 * 1024
PHOTOS = 12
LIMIT_MB = 64.0


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


async def main() -> int:
    async with FakeRunSignup(
        seed=1, races=1, photos_per_race_day=PHOTOS, image_size={"original": IMAGE_SIZE}
    ) as fake:
        client = Client(
            fake.v2_auth(), base_url=fake.base_url, rate_limit=RateLimit(per_second=100, burst=10)
        )
        async with client:
            with tempfile.TemporaryDirectory() as dest:
                # Warm up imports, the session and sqlite before the baseline is taken.
                await client.photos.get_albums(
                    race_id=fake.race_days()[0][0], race_event_days_id=fake.race_days()[0][1]
                )
                gc.collect()
                before = peak_rss_mb()
                started = time.perf_counter()
                summary = await harvest(client, fake.race_days(), dest)
                elapsed = time.perf_counter() - started
                growth = peak_rss_mb() - before
    total_mb = summary.bytes_downloaded / 1e6
    print(f"harvested {summary.files_downloaded} files, {total_mb:.0f} MB in {elapsed:.1f} s")
    print(f"peak RSS before {before:.1f} MB, growth {growth:.1f} MB (limit {LIMIT_MB:.0f} MB)")
    ok = summary.ok and growth < LIMIT_MB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
