"""A client's reserve: tokens taken in batches and leases kept between calls, so that a
busy client asks Redis less than once a call while the group's limits stay exact."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from runsignup_async import RateLimit
from runsignup_async import _constants as C
from runsignup_async._shared._limiter import SharedLimiter
from runsignup_async._shared._reserve import Reserve
from runsignup_async._shared._store import GRANTED, RedisLimits

from .conftest import RedisServer


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


async def acquires(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    names = ("cmdstat_evalsha", "cmdstat_eval")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in names)


async def calls(limiter: SharedLimiter, callers: int, each: int, in_flight: list[int]) -> None:
    async def caller() -> None:
        for _ in range(each):
            async with limiter.slot():
                in_flight.append(in_flight[-1] + 1)
                await asyncio.sleep(0.001)
                in_flight.append(in_flight[-1] - 1)

    await asyncio.gather(*(caller() for _ in range(callers)))


async def test_a_busy_client_asks_redis_far_less_than_once_a_call(redis: Redis, group: str) -> None:
    limit = RateLimit(per_second=100_000, burst=1000, adaptive=False)
    limiter = SharedLimiter(limit, 8, redis, group, shown="test", owns_redis=False)
    in_flight = [0]
    try:
        before = await acquires(redis)
        await calls(limiter, callers=8, each=100, in_flight=in_flight)
        asked = await acquires(redis) - before
    finally:
        await limiter.aclose()
    assert max(in_flight) <= 8
    assert asked < 800 / 4, f"{asked} round trips for 800 calls"
    # Every kept lease went back to the group on close.
    assert await redis.zcard(f"runsignup-async:limits:{{{group}}}:leases") == 0


async def test_where_the_rate_binds_each_call_takes_one_token_at_its_time(
    redis: Redis, group: str
) -> None:
    # 20/s with no burst: a batch reserved ahead would spend the group's rate on
    # calls that may never come; one token a call, spaced 1/R apart.
    limit = RateLimit(per_second=20.0, burst=1, adaptive=False)
    limiter = SharedLimiter(limit, 4, redis, group, shown="test", owns_redis=False)
    sent: list[float] = []
    try:

        async def caller() -> None:
            for _ in range(3):
                async with limiter.slot() as at:
                    sent.append(at)

        await asyncio.gather(*(caller() for _ in range(4)))
    finally:
        await limiter.aclose()
    sent.sort()
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1 / 20 - 0.002, gaps


async def test_tokens_asked_for_before_a_throttle_are_not_spent_after_it(
    redis: Redis, group: str
) -> None:
    limit = RateLimit(per_second=1000.0, burst=100, adaptive=True)
    store = RedisLimits(redis, group, limit, 10, 5.0)
    reserve = Reserve()
    epoch = reserve.epoch
    grant = await store.acquire(None, "c1", [], tokens=5)
    assert grant.status == GRANTED and len(grant.waits) == 5 and grant.spare
    reserve.drop_tokens()  # a throttle while that round trip was under way
    reserve.add_tokens(epoch, 0.0, grant.at, grant.waits, grant.spare)
    assert reserve.tokens == 0 and reserve.take_token(0.0) is None
    reserve.add_tokens(reserve.epoch, 0.0, grant.at, grant.waits, grant.spare)
    assert reserve.tokens == 5


async def test_a_batch_never_reserves_beyond_the_horizon(redis: Redis, group: str) -> None:
    limit = RateLimit(per_second=100.0, burst=1, adaptive=False)
    store = RedisLimits(redis, group, limit, 10, 5.0)
    grant = await store.acquire(None, "c1", [], tokens=C.BATCH_MAX)
    # 10 ms apart from now: the first, then those due within the horizon.
    assert len(grant.waits) == 1 + int(C.BATCH_HORIZON * 100 + 1e-9)
    assert max(grant.waits) <= C.BATCH_HORIZON + 1e-9
    assert not grant.spare  # the rate binds: nothing left in the bucket


def test_a_token_past_its_keep_time_is_dropped_not_spent() -> None:
    reserve = Reserve()
    reserve.add_tokens(reserve.epoch, 10.0, 0.0, (0.0, 0.0), True)
    assert reserve.take_token(10.0 + C.TOKEN_KEEP / 2) is not None
    assert reserve.take_token(10.0 + C.TOKEN_KEEP + 0.001) is None
    assert reserve.tokens == 0


def test_the_batch_follows_the_clients_own_pace() -> None:
    reserve = Reserve()
    assert reserve.demand(0.0) == 1  # sparse calls: one token each, as before
    for n in range(200):
        wanted = reserve.demand(1.0 + n * 0.001)  # a call a millisecond
    # The calls of the next horizon at that pace (a call either way for the window's edges).
    assert abs(wanted - round(C.BATCH_HORIZON / 0.001)) <= 1
