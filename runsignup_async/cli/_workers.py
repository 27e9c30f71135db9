"""The distributed harvest's commands: ``worker``, ``harvest --queue`` and
``harvest-status`` (the ``workers`` extra)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from .. import Client
from .._endpoint_table import ENDPOINTS
from .._pagination import RaceDay
from ..workers import enqueue_harvest, follow_harvest, harvest_status, run_worker
from ..workers._queue import connect
from ._credentials import resolve_auth
from ._output import CliError
from ._progress import make_progress, render_summary
from ._rate import RATE_HELP, rate_limit_of
from ._redis import REDIS_ENV, redis_options

__all__ = ["add_queue_flags", "add_worker_commands", "run_queued"]


async def run_queued(args: argparse.Namespace, races: list[RaceDay | int]) -> int:
    """``harvest --queue URL``: enqueue one job per race day, then follow them (or not)."""
    client = None
    if any(isinstance(race, int) for race in races):  # bare race ids: read their race days
        auth = resolve_auth(args, ENDPOINTS["get-race"])
        limit = None if args.rate is None else rate_limit_of(args.rate)
        client = Client(auth, base_url=args.base_url, rate_limit=limit)
    if client is not None:
        async with client:
            queued = await enqueue_harvest(
                args.queue,
                races,
                args.dest,
                sizes=args.sizes,
                since_last=args.since_last,
                client=client,
            )
    else:
        queued = await enqueue_harvest(
            args.queue, races, args.dest, sizes=args.sizes, since_last=args.since_last
        )
    print(
        f"queued {queued.enqueued} race days for {queued.dest}"
        f" ({queued.already_queued} already queued or running)",
        file=sys.stderr,
        flush=True,
    )
    if args.detach:
        return 0 if not queued.failed_races else 1
    with make_progress(not args.quiet) as progress:
        summary = await follow_harvest(queued, progress=progress)
    print(render_summary(summary, queued.dest), flush=True)
    return 0 if summary.ok else 1


def _redis_url(args: argparse.Namespace) -> str:
    url: str | None = redis_options(args).get("shared_limits")
    if not url:
        raise CliError(f"the worker needs the queue's Redis: give --redis URL or set {REDIS_ENV}")
    return url


class _OneLine(logging.Formatter):
    """SAQ's log records as one line each: a job's traceback stays in its record in Redis
    (``harvest-status``, the follower's summary), not on the worker's stderr."""

    def format(self, record: logging.LogRecord) -> str:
        return f"queue: {' '.join(record.getMessage().split())}"


def _quiet_saq() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    saq_log = logging.getLogger("saq")
    saq_log.addHandler(handler)
    saq_log.setLevel(logging.WARNING)
    saq_log.propagate = False


async def _worker(args: argparse.Namespace) -> int:
    _quiet_saq()
    url = _redis_url(args)
    options: dict[str, Any] = {
        "download_concurrency": args.download_concurrency,
        "shared_limits": url,
    }
    if args.rate is not None:
        options["rate_limit"] = rate_limit_of(args.rate)
    if args.max_concurrency is not None:
        options["max_concurrency"] = args.max_concurrency
    auth = resolve_auth(args, ENDPOINTS["get-race-photos"])
    # The queue first: an unreachable Redis is this command's one error, not a client's
    # warning that it goes on alone.
    await (await connect(url, args.dest)).disconnect()
    async with Client(auth, base_url=args.base_url, **options) as client:
        await run_worker(
            client,
            url,
            args.dest,
            concurrency=args.concurrency,
            s3_endpoint=args.s3_endpoint,
            grace=args.grace,
        )
    return 0


async def _status(args: argparse.Namespace) -> int:
    found = await harvest_status(args.queue)
    if not found:
        print("no harvest has been queued here", file=sys.stderr)
    for status in found:
        print(
            f"{status.dest}: {status.queued} queued, {status.active} running,"
            f" {status.complete} done, {status.failed} failed; {status.workers} workers"
        )
    return 0


def add_worker_commands(commands: Any, add_common: Any, add_s3_endpoint: Any) -> None:
    p = commands.add_parser("worker", help="take race day jobs of a queued harvest until stopped")
    p.add_argument(
        "--dest",
        required=True,
        metavar="DIR|s3://BUCKET/PREFIX",
        help="the destination this worker writes to; it takes only its jobs",
    )
    p.add_argument("--concurrency", type=int, default=2, help="race days harvested at once")
    p.add_argument("--download-concurrency", type=int, default=8, help="images fetched at once")
    p.add_argument("--rate", type=float, help=f"{RATE_HELP}, for the whole fleet")
    p.add_argument(
        "--max-concurrency",
        type=int,
        help="API calls in flight at once, for the whole fleet (default: the SDK's)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=30.0,
        help="seconds a stopping worker lets its jobs finish before handing them back",
    )
    p.add_argument(
        "--sweep-every",
        type=int,
        default=10,
        help="seconds between looks for jobs whose worker died (their heartbeat lapsed)",
    )
    add_s3_endpoint(p)
    add_common(p)  # --base-url, credentials, --redis (the queue's and the shared limits')
    p.set_defaults(run=_worker)

    p = commands.add_parser("harvest-status", help="where the harvests queued on a Redis stand")
    p.add_argument("--queue", required=True, metavar="redis://HOST:PORT/DB")
    p.set_defaults(run=_status)


def add_queue_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--queue",
        metavar="redis://HOST:PORT/DB",
        help="enqueue one job per race day for workers instead of harvesting here",
    )
    p.add_argument(
        "--detach",
        action="store_true",
        help="with --queue: enqueue and exit (harvest-status shows progress)",
    )
