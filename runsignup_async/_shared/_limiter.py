"""``SharedLimiter``: the local limiter's interface, with the limits kept in Redis.

A slot is taken in three steps: the process-local limiter (this client alone may never
exceed the group's rate or cap, so when its own share is clearly spent Redis is not
asked), then a token and a lease, then the send. The token and the lease come from this
client's reserve (``_reserve.py``: tokens granted ahead, the lease of a call that just
ended) or else from one round trip to Redis that takes both together, and more tokens
when the client is busy (a grant may name a send time a moment ahead: the caller sleeps
until then). A lease left idle is given back to the group shortly after, without
waiting for anyone. Leases are renewed while held, so a killed process frees its slots
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from .. import _constants as C
from .._ratelimit import RateLimit, RateLimiter
from ..errors import ValidationError
from ._background import Background
from ._interface import LimitsSnapshot
from ._reserve import Reserve, Token
from ._store import CAP_FULL, GRANTED, Grant, RedisLimits

__all__ = ["SharedLimiter"]

logger = logging.getLogger("runsignup_async")


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
        self._held: set[str] = set()  # leases granted and not given back: renewed
        self._reserve = Reserve()
        self._refill: asyncio.Event | None = None  # set when a round trip for tokens ends
        self._waiting = 0  # callers waiting for that round trip
        self._to_release: list[str] = []
        self._sweep: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()  # one acquire at a time: a full cap is polled once
        self._paused_until = 0.0  # local clock
        self._clients = 1
        self._degraded = False
        self._next_try = 0.0
        self._started = False
        self._background = Background()
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
            await self._background.call(self._store.redis.ping())
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
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        tasks = self._background.pending()
        self._give_back(self._reserve.clear())
        if self._to_release and not self._degraded:
            tasks.append(asyncio.ensure_future(self._send_releases()))
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
            async with self._alone().slot() as granted_at:
                yield granted_at
            return
        async with self._front.slot():
            grant = await self._grant()
            if grant is None:  # Redis failed just now
                async with self._alone().slot() as granted_at:
                    yield granted_at
                return
            lease_id, granted_at = grant
            try:
                yield granted_at
            finally:
                self._release(lease_id)

    def on_throttle(self, granted_at: float, retry_after: float | None = None) -> None:
        """A request was throttled: pause here at once, and tell the group."""
        self.throttles += 1
        self._reserve.drop_tokens()
        if retry_after:
            self._paused_until = max(self._paused_until, time.monotonic() + retry_after)
        if self._degraded:
            self._alone().on_throttle(granted_at, retry_after)
            return
        self._background.spawn(self._report_throttle(granted_at, retry_after))

    async def snapshot(self) -> LimitsSnapshot:
        if not (self._degraded and time.monotonic() < self._next_try):
            try:
                return await self._background.call(self._store.snapshot())
            except RedisError as exc:
                self._degrade(exc)
        alone = self._alone().snapshot()
        return attrs.evolve(alone, shared=True, degraded=True, clients=self._clients)

    # --- Redis -------------------------------------------------------------------------------

    async def _grant(self) -> tuple[str, float] | None:
        """A lease and the group's time of the token's grant, after sleeping until its
        send time; None when Redis failed (the caller then goes on alone)."""
        reserve = self._reserve
        wanted = reserve.demand(time.monotonic())
        kept = reserve.take_lease()
        lease_id = kept or f"{self.client_id}:{next(self._lease_ids)}"
        try:
            await self._sleep_out_pause()
            token = await self._reserved_token()
            if self._degraded and time.monotonic() < self._next_try:
                return None  # found gone by the round trip waited for
            if kept is None or token is None:
                # Where the group's rate binds, one token a call, as each call needs it: a
                # batch reserved ahead would still go out after a cut or a pause.
                wanted = max(wanted, 1 + self._waiting) if reserve.spare else 1
                token = await self._ask(None if kept else lease_id, 0 if token else wanted, token)
                if token is None:
                    return None
            self._top_up(wanted)
            wait = token.send_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._sleep_out_pause()
        except BaseException:
            # Cancelled (or worse) with the script perhaps run: give the lease back.
            self._release(lease_id)
            raise
        return lease_id, token.granted

    async def _reserved_token(self) -> Token | None:
        """A token of the reserve, after the round trip for tokens that another caller of
        this client has under way, if any: the callers of one burst share its batch."""
        while True:
            token = self._reserve.take_token(time.monotonic())
            if token is not None or self._refill is None:
                return token
            self._waiting += 1
            try:
                await self._refill.wait()
            finally:
                self._waiting -= 1

    def _top_up(self, wanted: int) -> None:
        """While the group's rate has room to spare, refill the reserve in the background
        before it runs dry, so that a busy client's calls do not wait for Redis at all.
        (Where the rate binds, tokens are reserved ahead and asked for as needed.)"""
        reserve = self._reserve
        if self._refill is None and reserve.spare and reserve.tokens < wanted:
            self._refill = asyncio.Event()
            self._background.spawn(self._refill_tokens(self._refill, wanted))

    async def _refill_tokens(self, refill: asyncio.Event, wanted: int) -> None:
        epoch = self._reserve.epoch
        try:
            grant = await self._acquire(None, wanted)
            if grant is not None and grant.status == GRANTED:
                now = time.monotonic()
                self._reserve.add_tokens(epoch, now, grant.at, grant.waits, grant.spare)
        finally:
            self._refill = None
            refill.set()

    async def _ask(self, new_lease: str | None, tokens: int, token: Token | None) -> Token | None:
        """One round trip (more while the cap is full or the group paused) for what the
        reserve lacked: a new lease, tokens, or both. None when Redis failed."""
        refill = None
        if tokens:
            refill = self._refill = asyncio.Event()
        epoch = self._reserve.epoch
        try:
            grant = await self._acquire(new_lease, tokens)
            if grant is not None and grant.status == GRANTED:
                token = self._own_token(epoch, grant, token)
        finally:
            if refill is not None:  # whatever came of it: waiters ask for themselves
                self._refill = None
                refill.set()
        if grant is not None and grant.status != GRANTED:
            # Only the waiting is done one caller at a time: a full cap or a pause is
            # polled by one caller of this client, not by all of them.
            async with self._lock:
                grant = await self._wait_for_grant(new_lease, tokens, grant)
            if grant is not None:
                token = self._own_token(self._reserve.epoch, grant, token)
        if grant is None:
            return None
        if new_lease is not None:
            self._held.add(new_lease)
            self._ensure_renewer()
        return token

    def _own_token(self, epoch: int, grant: Grant, token: Token | None) -> Token | None:
        """The asking caller's token (the grant's first, when it asked for tokens); the
        rest go to the reserve."""
        if token is not None or not grant.waits:
            return token
        now = time.monotonic()
        self._reserve.add_tokens(epoch, now, grant.at, grant.waits[1:], grant.spare)
        return Token(now + grant.waits[0], grant.at)

    async def _wait_for_grant(
        self, lease_id: str | None, tokens: int, grant: Grant | None
    ) -> Grant | None:
        poll = C.POLL_MIN
        while grant is not None and grant.status != GRANTED:
            if grant.status == CAP_FULL:
                await asyncio.sleep(min(poll, grant.wait) * random.uniform(0.8, 1.2))
                poll = min(poll * 1.5, C.POLL_MAX)
            else:  # the group is paused
                until = time.monotonic() + grant.wait
                self._paused_until = max(self._paused_until, until)
                await self._sleep_out_pause()
            grant = await self._acquire(lease_id, tokens)
        return grant

    async def _acquire(self, lease_id: str | None, tokens: int) -> Grant | None:
        """One round trip: a grant, a wait, or None when Redis failed."""
        release, self._to_release = self._to_release, []
        try:
            grant = await self._background.call(
                self._store.acquire(lease_id, self.client_id, release, tokens),
                # Granted after all: give the new lease back.
                abandoned=lambda _: self._release(lease_id) if lease_id else None,
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
        if self._degraded:
            self._held.discard(lease_id)
            return  # the lease expires by itself
        if lease_id in self._held:
            self._reserve.keep_lease(lease_id, time.monotonic())  # for the next call
        else:
            self._to_release.append(lease_id)  # never granted, or granted to no one
        if self._sweep is None:
            self._arm_sweep()

    def _arm_sweep(self) -> None:
        self._sweep = asyncio.get_running_loop().call_later(C.RELEASE_DELAY, self._sweep_idle)

    def _sweep_idle(self) -> None:
        # Leases idle for RELEASE_DELAY go back to the group, with the next acquire when
        # one is sent meanwhile, else on their own. (A lease is held that much longer for
        # the other clients, never for this one.) A timer, not a task: a busy client
        # releases and takes leases back hundreds of times a second.
        self._sweep = None
        if self._degraded:
            return
        self._give_back(self._reserve.idle_since(time.monotonic(), C.RELEASE_DELAY))
        if self._to_release:
            self._background.spawn(self._send_releases())
        if self._reserve.idle:
            self._arm_sweep()

    def _give_back(self, leases: list[str]) -> None:
        self._held.difference_update(leases)
        self._to_release += leases

    async def _send_releases(self) -> None:
        batch, self._to_release = self._to_release, []
        if batch:
            with contextlib.suppress(RedisError):  # else the leases expire by themselves
                await self._background.call(self._store.release(batch))

    async def _report_throttle(self, granted_at: float, retry_after: float | None) -> None:
        try:
            if await self._background.call(self._store.throttle(granted_at, retry_after)):
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
                    await self._background.call(self._store.renew(list(self._held)))

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
        self._reserve.clear()  # tokens and leases of a group out of reach
        self._held.clear()  # the leases expire by themselves
        self._to_release.clear()
        # The pool's other connections died with the server: drop them, or each would
        # fail once after Redis is back and end the sharing again.
        self._background.spawn(self._store.redis.connection_pool.disconnect())
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
