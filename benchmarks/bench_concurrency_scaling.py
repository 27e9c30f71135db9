"""Concurrency scaling: wall time of 1, 10, 100 and 500 race days at fixed concurrency.

Run: ``python benchmarks/bench_concurrency_scaling.py``. Issue 5, benchmark 4.

``iter_many`` walks N race days (5 pages of 20 photos and the empty last page each) with
``--concurrency`` workers against the fake adding 20 ms per request. Ideal scaling is
linear in N / concurrency: N race days take ceil(N / concurrency) times as long as one.
Each N runs ``--repeats`` times on one warm client (connections open, as in a
long-lived application); the best is kept.

Target: T(N) / T(1) <= max(1, N / concurrency) for every N, within a 10% allowance for
timer and scheduling noise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from _common import ServerInfo, client, fake_server, unlimited, verdict, where

SIZES = (1, 10, 100, 500)
NUM = 20
PAGES = 5
LATENCY = 0.020
ALLOWANCE = 1.10


async def measure(
    info: ServerInfo, sizes: tuple[int, ...], conc: int, repeats: int
) -> dict[int, float]:
    """Best wall time of each size, on one warm client (its connections already open)."""
    async with client(info, rate_limit=unlimited(conc), max_concurrency=conc) as sdk:

        async def walk(races: list[tuple[int, int]]) -> float:
            started = time.perf_counter()
            count = 0
            async for _ in sdk.photos.iter_many(races, concurrency=conc, num=NUM):
                count += 1
            assert count == len(races) * PAGES * NUM, count
            return time.perf_counter() - started

        await walk(info.race_days[:conc])  # warm-up: opens the connections
        return {n: min([await walk(info.race_days[:n]) for _ in range(repeats)]) for n in sizes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    conc = args.concurrency
    with fake_server(
        seed=4, races=max(SIZES), photos_per_race_day=PAGES * NUM, latency=LATENCY
    ) as server:
        info = server.info
        print(where(info))
        print(
            f"{PAGES} pages of {NUM} photos + the empty last page per race day,"
            f" {LATENCY * 1000:g} ms latency, concurrency {conc}, best of {args.repeats}"
        )
        times = asyncio.run(measure(info, SIZES, conc, args.repeats))
    checks = []
    print(f"{'races':>6} {'wall s':>8} {'T(N)/T(1)':>10} {'linear bound':>13} {'ratio':>6}")
    for n, wall in times.items():
        growth = wall / times[1]
        bound = max(1.0, n / conc)
        ratio = growth / bound
        print(f"{n:>6} {wall:>8.3f} {growth:>10.2f} {bound:>13.1f} {ratio:>6.2f}")
        checks.append((f"{n} races: {ratio:.2f} of linear <= {ALLOWANCE}", ratio <= ALLOWANCE))
    return verdict(checks)


if __name__ == "__main__":
    sys.exit(main())
