"""The queue of a distributed harvest: one SAQ queue per destination, on one Redis.

A destination's jobs live in their own queue (named from a hash of the destination), so a
worker started with ``--dest`` only ever dequeues jobs for that destination. The job key
is ``race:<race_id>:<race_event_days_id>``; SAQ's job id puts the queue's name before it,
so the id names the race day *and* the destination: enqueueing a race day that is queued
or running again is a no-op. A Redis set lists the destinations ever enqueued, for
``harvest-status`` and for a worker to say that its ``--dest`` matches none of them.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any, Final

from .._redact import redact_userinfo
from ..errors import QueueError
from ..harvester.sinks import is_s3

if TYPE_CHECKING:
    from ._sweep import HarvestQueue

__all__ = [
    "DESTS_KEY",
    "EXTRA_HINT",
    "JOB_FUNCTION",
    "connect",
    "job_key",
    "normalize_dest",
    "queue_name",
]

JOB_FUNCTION: Final = "harvest_race_day"
DESTS_KEY: Final = "runsignup:harvest:dests"
EXTRA_HINT: Final = "harvest workers need the workers extra: pip install 'runsignup-async[workers]'"
# Seconds a connection attempt to Redis may take before the queue is called unreachable.
CONNECT_TIMEOUT: Final = 5.0


def normalize_dest(dest: str | os.PathLike[str]) -> str:
    """One spelling per destination: a bucket URL without trailing slashes, a directory
    as an absolute path (workers sharing a directory mount it at the same path)."""
    text = os.fspath(dest)
    if is_s3(text):
        return text.rstrip("/")
    return os.path.abspath(text)


def queue_name(dest: str) -> str:
    digest = hashlib.sha256(normalize_dest(dest).encode()).hexdigest()[:16]
    return f"runsignup-harvest-{digest}"


def job_key(race_id: int, race_event_days_id: int) -> str:
    return f"race:{race_id}:{race_event_days_id}"


async def connect(url: str, dest: str) -> HarvestQueue:
    """The SAQ queue of ``dest`` on the Redis at ``url``, checked reachable (``QueueError``
    in one line if not)."""
    try:
        from redis import asyncio as aioredis
        from redis.exceptions import RedisError

        from ._sweep import HarvestQueue
    except ImportError:
        raise QueueError(EXTRA_HINT) from None
    redis: Any = aioredis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, health_check_interval=30
    )
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        reason = " ".join((str(exc) or type(exc).__name__).split())
        raise QueueError(
            f"cannot reach the job queue at {redact_userinfo(url)}: {reason}"
        ) from None
    return HarvestQueue(redis, name=queue_name(dest))
