"""``enqueue_harvest``: one job per race day on a destination's queue; ``follow_harvest``
watches them end; ``harvest_status`` tells where every queued harvest stands.

The job carries the harvest's own settings (destination, sizes, since-last), so workers
need only their API options and the destination they write to.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from .._pagination import RaceDay, RaceItem
from ..errors import ValidationError
from ..harvester import Failure, HarvestEvent, HarvestStats, HarvestSummary
from ..harvester._races import race_days
from ..harvester.layout import check_sizes
from ._queue import DESTS_KEY, JOB_FUNCTION, connect, job_key, normalize_dest
from ._results import add_result, summary_of

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["DestStatus", "QueuedHarvest", "enqueue_harvest", "follow_harvest", "harvest_status"]

# A job whose worker stopped beating for this many seconds is handed to another worker.
HEARTBEAT: Final = 60
# Attempts of a race day (the first included) before it ends as failed.
ATTEMPTS: Final = 3
RETRY_DELAY: Final = 5.0  # seconds before the first retry, doubled (with jitter) after
RETRY_DELAY_MAX: Final = 120.0
# Seconds a finished job stays readable by followers and harvest-status.
JOB_TTL: Final = 7 * 24 * 3600
FOLLOW_EVERY: Final = 0.5  # seconds between two looks at the jobs


@attrs.frozen
class QueuedHarvest:
    """What ``enqueue_harvest`` queued: the jobs to follow, and the races it could not
    expand into race days (with why)."""

    redis_url: str = attrs.field(repr=False)
    dest: str
    keys: tuple[str, ...]
    enqueued: int
    already_queued: int
    failed_races: tuple[Failure, ...] = ()


async def enqueue_harvest(
    redis_url: str,
    races: Iterable[RaceItem],
    dest: str | os.PathLike[str],
    *,
    sizes: Sequence[str] = ("original",),
    since_last: bool = False,
    client: Client | None = None,
    heartbeat: int = HEARTBEAT,
    attempts: int = ATTEMPTS,
    retry_delay: float = RETRY_DELAY,
) -> QueuedHarvest:
    """Queue one job per race day of ``races`` for ``dest`` on the Redis at ``redis_url``.

    A race day's job key is ``race:<race_id>:<race_event_days_id>`` on the destination's
    queue: a race day already queued or running there is not queued again. Bare race ids
    are expanded to their race days with ``client`` (required for them).
    """
    chosen = check_sizes(sizes)
    if heartbeat < 1:
        raise ValidationError("heartbeat", f"must be at least 1 second, got {heartbeat}")
    if attempts < 1:
        raise ValidationError("attempts", f"must be at least 1, got {attempts}")
    items = [RaceDay.or_race(race) for race in races]
    failed_races: tuple[Failure, ...] = ()
    if client is not None:
        days, failed = await race_days(client, items)
        failed_races = tuple(Failure(r, None, None, None, str(e)) for r, e in failed.items())
    elif any(isinstance(item, int) for item in items):
        raise ValidationError("client", "bare race ids need a client to read their race days")
    else:
        days = list(dict.fromkeys(item for item in items if isinstance(item, RaceDay)))
    mine = normalize_dest(dest)
    queue = await connect(redis_url, mine)
    try:
        await queue.redis.sadd(DESTS_KEY, mine)
        enqueued = 0
        for day in days:
            job = await queue.enqueue(
                JOB_FUNCTION,
                key=job_key(day.race_id, day.race_event_days_id),
                timeout=0,  # a race day takes as long as it takes; the heartbeat watches
                heartbeat=heartbeat,
                retries=attempts,
                retry_delay=retry_delay,
                retry_backoff=RETRY_DELAY_MAX,
                ttl=JOB_TTL,
                race_id=day.race_id,
                race_event_days_id=day.race_event_days_id,
                dest=mine,
                sizes=list(chosen),
                since_last=since_last,
            )
            enqueued += job is not None
    finally:
        await queue.disconnect()
    keys = tuple(job_key(d.race_id, d.race_event_days_id) for d in days)
    return QueuedHarvest(redis_url, mine, keys, enqueued, len(keys) - enqueued, failed_races)


def _failure_of(job: Any) -> Failure:
    race_id, day_id = (int(part) for part in job.key.split(":")[1:3])
    lines = [line for line in (job.error or "").strip().splitlines() if line.strip()]
    return Failure(race_id, day_id, None, None, lines[-1].strip() if lines else str(job.status))


async def follow_harvest(
    queued: QueuedHarvest,
    *,
    progress: Callable[[HarvestEvent], None] | None = None,
    every: float = FOLLOW_EVERY,
) -> HarvestSummary:
    """Wait for every job of ``queued`` to end; the harvest's summary, as a local
    harvest's. ``progress`` is called once per race day as its job ends."""
    from saq.job import Status

    stats = HarvestStats(race_days=len(queued.keys) + len(queued.failed_races))
    for failure in queued.failed_races:
        stats.race_days_failed += 1
        stats.fail(failure)
        if progress is not None:
            progress(HarvestEvent("race_day_failed", stats, failure.race_id, None, None,
                                  failure.reason))  # fmt: skip
    waiting = set(queued.keys)
    queue = await connect(queued.redis_url, queued.dest)
    try:
        while waiting:
            order = sorted(waiting)
            for key, job in zip(order, await queue.jobs(order), strict=True):
                if job is None or job.status in (Status.NEW, Status.QUEUED, Status.ACTIVE,
                                                 Status.ABORTING):  # fmt: skip
                    continue  # not stored yet (expired), waiting, running or being handed back
                waiting.discard(key)
                race_id, day_id = (int(part) for part in key.split(":")[1:3])
                if job.status == Status.COMPLETE and isinstance(job.result, dict):
                    add_result(stats, job.result)
                    ok = not job.result.get("race_days_failed")
                    kind, detail = ("race_day_listed", None) if ok else ("race_day_failed", "")
                else:
                    failure = _failure_of(job)
                    stats.race_days_failed += 1
                    stats.fail(failure)
                    kind, detail = "race_day_failed", failure.reason
                if progress is not None:
                    progress(HarvestEvent(kind, stats, race_id, day_id, None, detail))  # type: ignore[arg-type]
            if waiting:
                await asyncio.sleep(every)
    finally:
        await queue.disconnect()
    return summary_of(stats)


@attrs.frozen
class DestStatus:
    """Where the harvests queued for one destination stand."""

    dest: str
    queued: int
    active: int
    complete: int
    failed: int
    workers: int


async def harvest_status(redis_url: str) -> list[DestStatus]:
    """One ``DestStatus`` per destination ever queued on the Redis at ``redis_url``."""
    from saq.job import Status

    probe = await connect(redis_url, "")
    try:
        dests = sorted(d.decode() for d in await probe.redis.smembers(DESTS_KEY))  # type: ignore[union-attr]
    finally:
        await probe.disconnect()
    found = []
    for dest in dests:
        queue = await connect(redis_url, dest)
        try:
            counts = dict.fromkeys(Status, 0)
            async for job in queue.iter_jobs():
                counts[job.status] += 1
            info = await queue.info()
        finally:
            await queue.disconnect()
        found.append(
            DestStatus(
                dest,
                queued=counts[Status.QUEUED] + counts[Status.NEW],
                active=counts[Status.ACTIVE] + counts[Status.ABORTING],
                complete=counts[Status.COMPLETE],
                failed=counts[Status.FAILED] + counts[Status.ABORTED],
                workers=len(info["workers"]),
            )
        )
    return found
