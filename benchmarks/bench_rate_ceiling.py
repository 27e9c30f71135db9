"""Rate ceiling: a client limited to R requests/s below what the server allows.

Run: ``python benchmarks/bench_rate_ceiling.py``. Issue 5, benchmark 2.

The fake throttles each key at ``--server-rate`` requests/s (bursts of 20) and adds 20 ms
per request; the client is set to ``RateLimit(per_second=R, burst=10)`` (adaptive, the
default), 16 requests in flight at most. It walks 300 race days of 4 pages of 10 photos
and the empty last page: 1,500 requests, about 7.5 s at 200/s. Achieved rate is every
request the server answered over the wall time of the walk.

Target: achieved >= 0.95 R with no throttled answer.
"""

from __future__ import annotations

import argparse
import sys

from _common import fake_server, rate_run, verdict, where

from runsignup_async import RateLimit

TARGET = 0.95
RACES = 300
NUM = 10
PAGES = 4
LATENCY = 0.020
CONCURRENCY = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="the client's R")
    parser.add_argument("--server-rate", type=float, default=250.0)
    args = parser.parse_args()
    rate = args.rate
    with fake_server(
        seed=2, races=RACES, photos_per_race_day=PAGES * NUM, latency=LATENCY,
        throttle=(args.server_rate, 20),
    ) as server:  # fmt: skip
        print(where(server.info))
        run = rate_run(
            server,
            rate_limit=RateLimit(per_second=rate, burst=10),
            concurrency=CONCURRENCY,
            num=NUM,
        )
    achieved = run.requests / run.seconds
    ratio = achieved / rate
    print(
        f"server allows {args.server_rate:g}/s (burst 20), {LATENCY * 1000:g} ms latency;"
        f" client R = {rate:g}/s (burst 10), concurrency {CONCURRENCY}"
    )
    print(
        f"  {run.requests} requests in {run.seconds:.2f} s: {achieved:.1f} req/s;"
        f" {run.throttled} throttled; {run.failed_race_days} race days failed"
    )
    print(f"  achieved / R: {ratio:.3f} (target >= {TARGET})")
    return verdict(
        [
            (f"achieved {ratio:.3f} R >= {TARGET} R", ratio >= TARGET),
            (f"{run.throttled} throttled answers == 0", run.throttled == 0),
            (f"{run.failed_race_days} failed race days == 0", run.failed_race_days == 0),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
