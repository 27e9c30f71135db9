"""The sweep of jobs whose worker died, without the race that would run a job twice.

A worker takes a job by moving its id to the queue's active list, then marks the job
active. SAQ's own sweep hands back every job of the active list not marked active, so a
sweep that runs between the two steps (a new worker sweeps as it starts taking jobs)
aborts and retries a job that is running: it then runs twice. Here a job found unmarked
is only handed back when a later sweep finds it still unmarked: its worker died between
the two steps. Jobs marked active are handed back once their heartbeat lapsed, as SAQ does.
Each job is read just before it is judged (a sweep waits up to ``abort`` seconds on each
job it hands back): one that ended meanwhile is left alone, never run again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from saq.job import TERMINAL_STATUSES, Status
from saq.queue.redis import RedisQueue

__all__ = ["HarvestQueue"]


class HarvestQueue(RedisQueue):
    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        redis: Any = self.redis
        if not await redis.set(self.namespace("sweep"), 1, ex=lock, nx=True):
            return []  # another worker swept within the period
        swept = []
        for job_id in await redis.lrange(self.namespace("active"), 0, -1):
            job = await self._get_job_by_id(job_id)
            if job is None:  # expired or deleted under the list: just drop the entry
                async with redis.pipeline(transaction=True) as pipe:
                    pipe.lrem(self.namespace("active"), 0, job_id)
                    pipe.zrem(self.namespace("incomplete"), job_id)
                    await pipe.execute()
                continue
            if job.status in TERMINAL_STATUSES:
                continue  # ended while this sweep waited on another: nothing to hand back
            if job.status == Status.ACTIVE and not job.stuck:
                continue
            if job.status == Status.QUEUED:
                first_sighting = await redis.set(
                    self.namespace(f"unmarked:{job.key}"), 1, ex=3 * lock, nx=True
                )
                if first_sighting:
                    continue  # its worker may be marking it right now
            swept.append(job_id.decode() if isinstance(job_id, bytes) else job_id)
            await self.abort(job, error=self.swept_error_message)
            # A worker that is gone never answers the abort: wait for it no longer than this.
            with contextlib.suppress(asyncio.TimeoutError):
                await job.refresh(abort)
            if job.retryable:
                await self.retry(job, error=self.swept_error_message)
            else:
                await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        return swept
