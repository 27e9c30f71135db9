"""``SharedLimiter``: the local limiter's interface, with the limits kept in Redis.

A slot is taken in three steps: the process-local limiter (this client alone may never
exceed the group's rate or cap, so when its own share is clearly spent Redis is not
asked), then one round trip to Redis that takes a token and a lease together (the grant
may name a send time a moment ahead: the caller sleeps until then), then the send.
A finished call's lease is released by the next acquire of this client (the same round
trip) or, when none follows at once, by a release of its own; neither waits for the
call's caller. Leases are renewed while calls run, so a killed process frees its slots
when its leases expire.

Redis unreachable, at start or mid-run, fails no API call: the client goes on alone under
a local limiter at its share of the group's limits (divided by the clients last seen in
the group), logs one WARNING, tries Redis again every ``REDIS_RETRY_EVERY`` seconds and
logs one INFO when sharing resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import attrs
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from .. import _constants as C
from .._ratelimit import RateLimit, RateLimiter
from ..errors import ValidationError
from ._interface import LimitsSnapshot
from ._store import CAP_FULL, GRANTED, Grant, RedisLimits

__all__ = ["SharedLimiter"]

logger = logging.getLogger("runsignup_async")

T = TypeVar("T")


def _collect(task: asyncio.Task[Any]) -> None:
    # An abandoned command's error is of no use to anyone: retrieve it so asyncio does
    # not report it as never retrieved.
    if not task.cancelled():
        task.exception()


class SharedLimiter:
    """The limits of one group of clients, kept in Redis. One event loop."""

    def __init__(
        self,
        limit: RateLimit,
        max_concurrency: int,
        redis: Redis,
        group: str,
        *,
        shown: str,
        owns_redis: bool,
        lease: float = C.LEASE_SECONDS,
    ) -> None:
        self.limit = limit
        self.max_concurrency = max_concurrency
        self.group = group
        self.lease = lease
        self._store = RedisLimits(redis, group, limit, max_concurrency, lease)
        self._shown = shown
        self._owns_redis = owns_redis
        # In front: this client alone never needs more than the whole group's limits.
        front = RateLimit(per_second=limit.per_second, burst=limit.burst, adaptive=False)
        self._front = RateLimiter(front, max_concurrency)
        self._fallback: RateLimiter | None = None
        self.client_id = uuid.uuid4().hex
        self._lease_ids = itertools.count()
        self._held: set[str] = set()
        self._to_release: list[str] = []
        self._flushing = False
        self._lock = asyncio.Lock()  # one acquire at a time: a full cap is polled once
        self._paused_until = 0.0  # local clock
        self._clients = 1
        self._degraded = False
        self._next_try = 0.0
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._renewer: asyncio.Task[None] | None = None
        self.throttles = 0
        self.cuts = 0

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and this client goes on alone."""
        return self._degraded

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Check Redis once: a refused login or a wrong database is the caller's mistake
        (``ValidationError``); an unreachable Redis only means going on alone for now."""
        if self._started:
            return
        try:
            await self._call(self._store.redis.ping())
        except (AuthenticationError, ResponseError) as exc:
            if self._owns_redis:
                await self._store.redis.connection_pool.disconnect()
            raise ValidationError(
                "shared_limits", f"Redis at {self._shown} refused the connection: {exc}"
            ) from None
        except RedisError as exc:
            self._degrade(exc)
        self._started = True

    async def aclose(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        tasks = list(self._tasks)
        if self._to_release and not self._degraded:
            tasks.append(asyncio.ensure_future(self._flush()))
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._owns_redis:
            await self._store.redis.aclose()

    # --- the limiter interface ---------------------------------------------------------------

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold a token and a slot of the group for one attempt; yields the grant time."""
        if not self._started:
            await self.start()
        if self._degraded and time.monotonic() < self._next_try:
            async with self._alone().slot() as sent_at:
                yield sent_at
            return
        async with self._front.slot():
            grant = await self._grant()
            if grant is None:  # Redis failed just now
                async with self._alone().slot() as sent_at:
                    yield sent_at
                return
            lease_id, granted_at = grant
            try:
                yield granted_at
            finally:
                self._release(lease_id)

    def on_throttle(self, sent_at: float, retry_after: float | None = None) -> None:
        """A request was throttled: pause here at once, and tell the group."""
        self.throttles += 1
        if retry_after:
            self._paused_until = max(self._paused_until, time.monotonic() + retry_after)
        if self._degraded:
            self._alone().on_throttle(sent_at, retry_after)
            return
        self._spawn(self._report_throttle(sent_at, retry_after))

    async def snapshot(self) -> LimitsSnapshot:
        if not (self._degraded and time.monotonic() < self._next_try):
            try:
                return await self._call(self._store.snapshot())
            except RedisError as exc:
                self._degrade(exc)
        alone = self._alone().snapshot()
        return attrs.evolve(alone, shared=True, degraded=True, clients=self._clients)

    # --- Redis -------------------------------------------------------------------------------

    async def _grant(self) -> tuple[str, float] | None:
        """A lease and the group's grant time, after sleeping until the send time; None
        when Redis failed (the caller then goes on alone)."""
        lease_id = f"{self.client_id}:{next(self._lease_ids)}"
        try:
            await self._sleep_out_pause()
            grant = await self._acquire(lease_id)
            if grant is not None and grant.status != GRANTED:
                # Only the waiting is done one caller at a time: a full cap or a pause is
                # polled by one caller of this client, not by all of them.
                async with self._lock:
                    grant = await self._wait_for_grant(lease_id, grant)
            if grant is None:
                return None
            self._held.add(lease_id)
            self._ensure_renewer()
            if grant.wait > 0:
                await asyncio.sleep(grant.wait)
            await self._sleep_out_pause()
        except BaseException:
            # Cancelled (or worse) with the script perhaps run: give the lease back.
            self._release(lease_id)
            raise
        return lease_id, grant.at

    async def _wait_for_grant(self, lease_id: str, grant: Grant | None) -> Grant | None:
        poll = C.POLL_MIN
        while grant is not None and grant.status != GRANTED:
            if grant.status == CAP_FULL:
                await asyncio.sleep(min(poll, grant.wait) * random.uniform(0.8, 1.2))
                poll = min(poll * 1.5, C.POLL_MAX)
            else:  # the group is paused
                until = time.monotonic() + grant.wait
                self._paused_until = max(self._paused_until, until)
                await self._sleep_out_pause()
            grant = await self._acquire(lease_id)
        return grant

    async def _acquire(self, lease_id: str) -> Grant | None:
        """One round trip: a grant, a wait, or None when Redis failed."""
        release, self._to_release = self._to_release, []
        try:
            grant = await self._call(
                self._store.acquire(lease_id, self.client_id, release),
                # Granted after all: give the lease back.
                abandoned=lambda _: self._release(lease_id),
            )
        except RedisError as exc:
            self._degrade(exc)
            return None
        self._recovered(grant.clients)
        return grant

    async def _sleep_out_pause(self) -> None:
        # A pause may be extended while we sleep (another throttle): sleep again then.
        left = self._paused_until - time.monotonic()
        while left > 0:
            await asyncio.sleep(left)
            left = self._paused_until - time.monotonic()

    def _release(self, lease_id: str) -> None:
        self._held.discard(lease_id)
        if self._degraded:
            return  # the lease expires by itself
        self._to_release.append(lease_id)
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())

    async def _flush(self) -> None:
        # The next acquire of this client carries the releases in its own round trip;
        # only when none comes within RELEASE_DELAY are they sent on their own. (The
        # slot is held that much longer for the other clients, never for this one.)
        await asyncio.sleep(C.RELEASE_DELAY)
        try:
            while self._to_release and not self._degraded:
                batch, self._to_release = self._to_release, []
                try:
                    await self._call(self._store.release(batch))
                except RedisError:
                    return  # the leases expire by themselves
        finally:
            self._flushing = False

    async def _report_throttle(self, granted_at: float, retry_after: float | None) -> None:
        try:
            if await self._call(self._store.throttle(granted_at, retry_after)):
                self.cuts += 1
        except RedisError:
            pass  # the next acquire finds Redis gone and says so

    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._renew_forever())

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            if self._held and not self._degraded:
                # Not renewed: a lease may lapse, and the cap is briefly loose.
                with contextlib.suppress(RedisError):
                    await self._call(self._store.renew(list(self._held)))

    async def _call(self, work: Awaitable[T], abandoned: Callable[[T], None] | None = None) -> T:
        """Await a Redis command so that a cancellation reaches the caller at once.

        redis-py finishes a command it has begun even when its task is cancelled, and
        then returns the answer as if nothing had happened: the ``CancelledError`` is
        lost, and whoever cancelled (``iter_many`` closing its workers) waits forever.
        Here the command runs in a task of its own, shielded: the caller is cancelled at
        once, and the command's answer, when it comes, goes to ``abandoned``.
        """
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(_collect)
            if abandoned is not None:
                task.add_done_callback(
                    lambda done: (
                        abandoned(done.result())
                        if not done.cancelled() and done.exception() is None
                        else None
                    )
                )
            raise

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- going on alone ----------------------------------------------------------------------

    def _alone(self) -> RateLimiter:
        if self._fallback is None:
            share = max(1, self._clients)
            limit = self.limit
            self._fallback = RateLimiter(
                RateLimit(
                    per_second=limit.per_second / share,
                    burst=max(1, limit.burst // share),
                    adaptive=limit.adaptive,
                ),
                max(1, self.max_concurrency // share),
            )
        return self._fallback

    def _degrade(self, exc: BaseException) -> None:
        self._next_try = time.monotonic() + C.REDIS_RETRY_EVERY
        if self._degraded:
            return
        self._degraded = True
        self._fallback = None  # sized afresh from the clients seen last
        self._to_release.clear()  # those leases expire by themselves
        # The pool's other connections died with the server: drop them, or each would
        # fail once after Redis is back and end the sharing again.
        self._spawn(self._store.redis.connection_pool.disconnect())
        share = self._alone()
        logger.warning(
            "shared limits: Redis at %s is unreachable (%s: %s); going on alone at"
            " %.3g requests/s and %d in flight (1/%d of the group's) until it answers",
            self._shown,
            type(exc).__name__,
            exc,
            share.limit.per_second,
            share.max_concurrency,
            max(1, self._clients),
        )

    def _recovered(self, clients: int) -> None:
        self._clients = clients
        if self._degraded:
            self._degraded = False
            logger.info("shared limits: Redis at %s answers again; sharing resumes", self._shown)
