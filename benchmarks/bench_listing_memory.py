"""Memory: the peak RSS of listing 200 race days x 500 photos through ``iter_many``.

Run: ``python benchmarks/bench_listing_memory.py``. Issue 16: decoding pages straight
into the models must not raise the peak above what the json.loads + converter path
needed. The fake serves from its own process (``_common.fake_server``), so the figures
are the client's alone: its peak RSS after imports and a warm-up walk, and after the
measured walk. Run it on two checkouts to compare them (benchmarks/README.md says how);
it has no target of its own, so it exits 0.
"""

from __future__ import annotations

import gc
import resource
import sys

from _common import count_photos, fake_server, timed, where

RACES = 200
PHOTOS_PER_RACE_DAY = 500
NUM = 100
CONCURRENCY = 8


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


def main() -> int:
    with fake_server(seed=5, races=RACES, photos_per_race_day=PHOTOS_PER_RACE_DAY) as server:
        info = server.info
        print(where(info))
        warm, _, _ = timed(lambda: count_photos(info, info.race_days[:2], CONCURRENCY, NUM))
        gc.collect()
        before = peak_rss_mb()
        photos, wall, _ = timed(lambda: count_photos(info, info.race_days, CONCURRENCY, NUM))
        after = peak_rss_mb()
    print(f"{RACES} race days x {PHOTOS_PER_RACE_DAY} photos: {photos} photos in {wall:.2f} s")
    print(f"  peak RSS after imports and a {warm}-photo warm-up: {before:7.1f} MB")
    print(f"  peak RSS after the listing:                        {after:7.1f} MB")
    print(f"  growth over the listing:                           {after - before:7.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
