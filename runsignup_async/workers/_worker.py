"""``run_worker``: take race day jobs from the queue of one destination until stopped.

A worker holds one ``Client`` (its limits shared through the same Redis) and one open
sink for its whole life; each job harvests one race day through them, and ends once
what it saved is durable and recorded. Workers on one machine may share a local
directory (the queue gives each race day to one of them at a time). While a job runs
its heartbeat is written every third of the job's heartbeat period; a worker that dies
(SIGKILL, a lost host) stops it, and another worker's sweep hands the job back to the
queue once the heartbeat has lapsed. Images stored whole are skipped, so the retry only
lists the race day again and fetches what was missing.

Stopping (SIGTERM, SIGINT, or cancelling ``run_worker``) lets running jobs finish for
``grace`` seconds, then cancels them; SAQ puts a cancelled job back on the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .._pagination import RaceDay
from ..errors import QueueError, ValidationError
from ..harvester.run import harvest_into
from ..harvester.sinks import Sink, sink_for
from ._queue import DESTS_KEY, EXTRA_HINT, JOB_FUNCTION, connect, normalize_dest
from ._results import result_of

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["GRACE", "SWEEP_EVERY", "run_worker"]

# Seconds between two sweeps for jobs whose worker stopped beating (one sweep per queue
# at a time, whichever worker takes the lock).
SWEEP_EVERY: Final = 10
# Seconds a stopping worker lets its running jobs finish before handing them back.
GRACE: Final = 30


class _RaceDayIncomplete(Exception):
    """A race day job ended with failures while it has attempts left: SAQ retries it."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _heartbeat(job: Any) -> None:
    from redis.exceptions import RedisError

    period = max(job.heartbeat / 3, 0.2)
    while True:
        await asyncio.sleep(period)
        # Redis away for a moment: the next beat tries again.
        with contextlib.suppress(RedisError, OSError):
            await job.update()


class _Jobs:
    def __init__(self, client: Client, sink: Sink, dest: str, log: Callable[[str], None]):
        self.client = client
        self.sink = sink
        self.dest = dest
        self.log = log

    async def harvest_race_day(
        self,
        ctx: Any,
        *,
        race_id: int,
        race_event_days_id: int,
        dest: str,
        sizes: list[str],
        since_last: bool,
    ) -> dict[str, Any]:
        job = ctx["job"]
        where = f"race {race_id} day {race_event_days_id}"
        if normalize_dest(dest) != self.dest:  # the queue is the destination's: a bug
            raise QueueError(f"{where} is for {dest}, this worker writes to {self.dest}")
        beat = asyncio.ensure_future(_heartbeat(job)) if job.heartbeat else None
        try:
            summary = await harvest_into(
                self.client,
                self.sink,
                [RaceDay(race_id, race_event_days_id)],
                {},
                sizes=tuple(sizes),
                concurrency=1,
                progress=None,
                since_last=since_last,
            )
            # Done means on disk and recorded: a worker killed after this loses nothing.
            await self.sink.checkpoint()
        finally:
            if beat is not None:
                beat.cancel()
                await asyncio.gather(beat, return_exceptions=True)
            self.sink.forget(race_id, race_event_days_id)
        if not summary.ok and job.attempts < job.retries:
            first = summary.failures[0] if summary.failures else "failed"
            self.log(f"{where}: attempt {job.attempts} of {job.retries} failed: {first}")
            raise _RaceDayIncomplete(str(first))
        self.log(
            f"{where}: {summary.photos_found} photos, {summary.photos_downloaded} downloaded,"
            f" {summary.photos_skipped} already stored, {summary.failures_total} failures"
            f" (attempt {job.attempts})"
        )
        return result_of(summary)


async def run_worker(
    client: Client,
    redis_url: str,
    dest: str | os.PathLike[str],
    *,
    concurrency: int = 1,
    s3_endpoint: str | None = None,
    grace: float = GRACE,
    sweep_every: int = SWEEP_EVERY,
    handle_signals: bool = True,
    log: Callable[[str], None] = _stderr,
) -> None:
    """Harvest race day jobs queued for ``dest`` on the Redis at ``redis_url`` until stopped.

    ``client`` should share its limits through the same Redis (``shared_limits``) so a
    fleet of workers holds one key's rate; it is used, not closed. ``concurrency``: race
    days harvested at once by this worker. Raises ``QueueError`` (one line) when Redis
    cannot be reached or when harvests are queued there for other destinations only,
    ``StoreError`` / ``DestinationBusyError`` when ``dest`` cannot be opened.
    ``handle_signals``: SIGTERM and SIGINT stop the worker (off when a service embeds
    it and stops it by cancelling).
    """
    try:
        from saq import Worker
    except ImportError:
        raise QueueError(EXTRA_HINT) from None
    if concurrency < 1:
        raise ValidationError("concurrency", f"must be at least 1, got {concurrency}")
    mine = normalize_dest(dest)
    queue = await connect(redis_url, mine)
    try:
        await _check_dest(queue.redis, mine, log)
        async with sink_for(dest, s3_endpoint=s3_endpoint, shared=True) as sink:
            jobs = _Jobs(client, sink, mine, log)
            worker: Any = Worker(
                queue,
                [(JOB_FUNCTION, jobs.harvest_race_day)],
                concurrency=concurrency,
                timers={"sweep": sweep_every},  # type: ignore[arg-type]
                shutdown_grace_period_s=int(grace) if grace > 0 else None,
            )
            if not handle_signals:
                worker.SIGNALS = []
            log(f"worker taking jobs for {mine} ({concurrency} at a time)")
            await _run(worker)
    finally:
        await queue.disconnect()


async def _run(worker: Any) -> None:
    """``worker.start()``, with a cancellation of ours stopping it and then raised again
    (SAQ's start swallows the cancellation it receives)."""
    task = asyncio.ensure_future(worker.start())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        worker.event.set()
        await asyncio.gather(task, return_exceptions=True)
        raise


async def _check_dest(redis: Any, mine: str, log: Callable[[str], None]) -> None:
    queued = sorted(d.decode() for d in await redis.smembers(DESTS_KEY))
    if queued and mine not in queued:
        raise QueueError(
            f"no harvest is queued for {mine}; harvests on this queue write to"
            f" {', '.join(queued)}: start the worker with one of those as --dest"
        )
    if not queued:
        log(f"no harvest queued yet; waiting for jobs for {mine}")
