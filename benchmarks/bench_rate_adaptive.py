"""Adaptive rate: the server throttles at S requests/s and the client is not told.

Run: ``python benchmarks/bench_rate_adaptive.py``. Issue 5, benchmark 3.

The fake throttles each key at S = ``--server-rate`` requests/s (its token bucket holds
``--server-burst``), answering error 14, and adds 20 ms per request. The client's only
setting is a ceiling far above S (``RateLimit(per_second=1000, burst=10)``, adaptive) with
16 requests in flight at most; it must find S by itself. It walks race days of 40 pages of
10 photos for ``--seconds`` seconds, start-up included. Achieved is the answers the server
served (not throttled) per second; throttled answers are retried by the SDK.

Target: achieved >= 0.80 S with under 5% of the answers throttled.
"""

from __future__ import annotations

import argparse
import sys

from _common import fake_server, rate_run, verdict, where

from runsignup_async import RateLimit

RATE_TARGET = 0.80
THROTTLED_TARGET = 0.05
CEILING = 1000.0
RACES = 100
NUM = 10
PAGES = 40
LATENCY = 0.020
CONCURRENCY = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-rate", type=float, default=100.0, help="S")
    parser.add_argument("--server-burst", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    limit = args.server_rate
    with fake_server(
        seed=3, races=RACES, photos_per_race_day=PAGES * NUM, latency=LATENCY,
        throttle=(limit, args.server_burst),
    ) as server:  # fmt: skip
        print(where(server.info))
        run = rate_run(
            server,
            rate_limit=RateLimit(per_second=CEILING, burst=10),
            concurrency=CONCURRENCY,
            num=NUM,
            seconds=args.seconds,
        )
    ratio = run.served_per_second / limit
    share = run.throttled_share
    print(
        f"server throttles at S = {limit:g}/s (burst {args.server_burst}),"
        f" {LATENCY * 1000:g} ms latency; client ceiling {CEILING:g}/s, concurrency"
        f" {CONCURRENCY}, not told S"
    )
    print(
        f"  {run.seconds:.1f} s: {run.requests} answers, {run.served} served"
        f" ({run.served_per_second:.1f}/s), {run.throttled} throttled ({share:.2%});"
        f" {run.failed_race_days} race days failed"
    )
    print(
        f"  achieved / S: {ratio:.3f} (target >= {RATE_TARGET});"
        f" throttled share {share:.3%} (target < {THROTTLED_TARGET:.0%})"
    )
    return verdict(
        [
            (f"achieved {ratio:.3f} S >= {RATE_TARGET} S", ratio >= RATE_TARGET),
            (f"throttled {share:.2%} < {THROTTLED_TARGET:.0%}", share < THROTTLED_TARGET),
            (f"{run.failed_race_days} failed race days == 0", run.failed_race_days == 0),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
