"""Shared limits in one process against a real redis-server: the scripts' arithmetic,
leases, pauses, the shared adaptive rate, snapshots, and Redis going away."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from runsignup_async import Client, RateLimit, RetryPolicy
from runsignup_async import _constants as C
from runsignup_async._shared._limiter import SharedLimiter
from runsignup_async._shared._store import CAP_FULL, GRANTED, PAUSED, RedisLimits
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import RedisServer, free_port

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.01)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def store(redis: Redis, group: str) -> Callable[..., RedisLimits]:
    def make(per_second: float = 20.0, burst: int = 3, cap: int = 10, lease: float = 5.0,
             adaptive: bool = False) -> RedisLimits:  # fmt: skip
        limit = RateLimit(per_second=per_second, burst=burst, adaptive=adaptive)
        return RedisLimits(redis, group, limit, cap, lease)

    return make


@pytest.fixture
async def limiters(redis: Redis, group: str) -> AsyncIterator[Callable[..., SharedLimiter]]:
    made: list[SharedLimiter] = []

    def make(limit: RateLimit, cap: int = 10, lease: float = 5.0) -> SharedLimiter:
        limiter = SharedLimiter(limit, cap, redis, group, shown="test", owns_redis=False,
                                lease=lease)  # fmt: skip
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def test_grants_follow_the_group_rate_after_its_burst(
    store: Callable[..., RedisLimits],
) -> None:
    # Two clients of one group: their grants interleave on one schedule.
    first, second = store(per_second=20.0, burst=3), store(per_second=20.0, burst=3)
    waits, sends = [], []
    for n in range(9):
        grant = await (first, second)[n % 2].acquire(f"lease-{n}", f"client-{n % 2}", [])
        assert grant.status == GRANTED
        waits.append(grant.wait)
        sends.append(grant.at + grant.wait)
    assert waits[:3] == [0, 0, 0]
    # Then one every 1/20 s, each reserved ahead: the caller sleeps once, never polls.
    assert min(waits[3:]) > 0
    gaps = [later - earlier for earlier, later in itertools.pairwise(sends[3:])]
    assert sends[3] - sends[0] == pytest.approx(0.05, abs=0.001)
    assert gaps == pytest.approx([0.05] * 5, abs=0.001)


async def test_the_cap_holds_until_a_lease_is_released_or_expires(
    store: Callable[..., RedisLimits],
) -> None:
    limits = store(per_second=1000.0, burst=100, cap=2, lease=0.3)
    assert (await limits.acquire("a", "c1", [])).status == GRANTED
    assert (await limits.acquire("b", "c2", [])).status == GRANTED
    full = await limits.acquire("c", "c1", [])
    assert full.status == CAP_FULL
    assert 0 < full.wait <= 0.3  # until the first lease would lapse
    # A release carried by the next acquire frees the slot in the same round trip.
    assert (await limits.acquire("c", "c1", ["a"])).status == GRANTED
    assert (await limits.acquire("d", "c2", [])).status == CAP_FULL
    await asyncio.sleep(0.35)  # b and c lapse: nobody released them
    assert (await limits.acquire("d", "c2", [])).status == GRANTED


async def test_renewed_leases_outlive_their_lease_time(store: Callable[..., RedisLimits]) -> None:
    limits = store(per_second=1000.0, burst=100, cap=1, lease=0.3)
    assert (await limits.acquire("a", "c1", [])).status == GRANTED
    await asyncio.sleep(0.2)
    assert await limits.renew(["a", "never-held"]) == 1
    await asyncio.sleep(0.2)
    assert (await limits.acquire("b", "c2", [])).status == CAP_FULL
    await asyncio.sleep(0.2)
    assert (await limits.acquire("b", "c2", [])).status == GRANTED


async def test_a_retry_after_pauses_the_whole_group(
    store: Callable[..., RedisLimits], redis: Redis
) -> None:
    limits = store(per_second=1000.0, burst=100)
    grant = await limits.acquire("a", "c1", [])
    await limits.throttle(grant.at, retry_after=0.3)
    paused = await store(per_second=1000.0, burst=100).acquire("b", "c2", [])
    assert paused.status == PAUSED
    assert 0.25 < paused.wait <= 0.3
    other_group = RedisLimits(redis, "another-group", limits.limit, 10, 5.0)
    assert (await other_group.acquire("x", "c3", [])).status == GRANTED
    await asyncio.sleep(paused.wait)
    assert (await limits.acquire("b", "c2", [])).status == GRANTED


async def _throttled_call(client: SharedLimiter, retry_after: float | None = None) -> None:
    """One call through ``client``, throttled; back once the report has reached Redis."""
    async with client.slot() as granted:
        pass
    client.on_throttle(granted, retry_after)
    await asyncio.sleep(0.05)  # the report reaches Redis in the background


async def test_a_throttle_seen_by_one_client_holds_back_another(
    limiters: Callable[..., SharedLimiter],
) -> None:
    limit = RateLimit(per_second=1000.0, burst=100, adaptive=False)
    first, second = limiters(limit), limiters(limit)
    await _throttled_call(first, retry_after=0.4)
    started = time.monotonic()
    async with second.slot():
        waited = time.monotonic() - started
    assert 0.3 <= waited < 1.0


async def test_one_cut_per_round_however_many_clients_saw_the_throttle(
    limiters: Callable[..., SharedLimiter], store: Callable[..., RedisLimits]
) -> None:
    limit = RateLimit(per_second=100.0, burst=10, adaptive=True)
    clients = [limiters(limit) for _ in range(4)]
    view = store(per_second=100.0, burst=10, adaptive=True)
    granted = []
    for client in clients:
        async with client.slot() as at:
            granted.append(at)
    # All four were granted at the old rate and all four were throttled.
    for client, at in zip(clients, granted, strict=True):
        client.on_throttle(at)
    await asyncio.sleep(0.05)  # the reports reach Redis in the background
    assert sum(client.cuts for client in clients) == 1
    after_one = (await view.snapshot()).rate
    assert after_one < 100.0 * C.DECREASE_FACTOR + 1
    # Granted after the cut and throttled again: news, a second cut.
    await _throttled_call(clients[2])
    assert sum(client.cuts for client in clients) == 2
    assert (await view.snapshot()).rate < after_one


async def test_a_token_granted_before_a_cut_and_sent_after_it_brings_old_news(
    limiters: Callable[..., SharedLimiter],
) -> None:
    # 20/s with no burst: the second client's token is granted now and sent 50 ms later.
    limit = RateLimit(per_second=20.0, burst=1, adaptive=True)
    first, second = limiters(limit), limiters(limit)
    async with first.slot() as first_at:
        pass

    async def reserved() -> tuple[float, float]:
        async with second.slot() as at:
            return at, time.monotonic()

    waiting = asyncio.ensure_future(reserved())
    await asyncio.sleep(0.01)  # its token is granted, and it sleeps until the send
    first.on_throttle(first_at)
    await asyncio.sleep(0.01)
    assert first.cuts == 1
    cut_seen = time.monotonic()
    second_at, sent = await waiting
    assert sent > cut_seen
    # Sent after the cut, but spaced at the old rate: the same news, no second cut.
    second.on_throttle(second_at)
    await asyncio.sleep(0.05)
    assert first.cuts + second.cuts == 1


async def test_a_cut_takes_effect_after_the_sends_granted_already_without_a_burst(
    store: Callable[..., RedisLimits],
) -> None:
    limits = store(per_second=100.0, burst=10, adaptive=True)
    # The burst of 10 at once, then 5 more reserved 10 ms apart: a queue 50 ms deep.
    grants = [await limits.acquire(None, "c1", []) for _ in range(15)]
    sends = [grant.at + grant.waits[0] for grant in grants]
    assert sends[-1] - sends[0] >= 0.04
    assert await limits.throttle(grants[0].at, None)  # the cut
    cut = (await limits.snapshot()).rate
    assert cut < 100.0
    after = [await limits.acquire(None, "c2", []) for _ in range(3)]
    new_sends = [grant.at + grant.waits[0] for grant in after]
    # The first grant after the cut goes out when the old rate's next would have gone,
    # not among the old sends (the cut rate's wider burst window would slip it in), and
    # the ones after it at the cut rate.
    assert new_sends[0] >= sends[-1] + 1 / 100.0 - 0.001
    for earlier, later in itertools.pairwise(new_sends):
        assert later - earlier >= 1 / cut - 0.001


async def test_the_shared_rate_climbs_back_after_a_cut(
    limiters: Callable[..., SharedLimiter], store: Callable[..., RedisLimits]
) -> None:
    limit = RateLimit(per_second=10.0, burst=2, adaptive=True)
    client = limiters(limit)
    await _throttled_call(client)
    view = store(per_second=10.0, burst=2, adaptive=True)
    low = (await view.snapshot()).rate
    assert low < 10.0
    await asyncio.sleep(0.5)
    higher = (await view.snapshot()).rate
    assert low < higher <= 10.0


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20)
async def test_a_429_with_retry_after_pauses_the_other_clients(
    runsignup_fake: FakeRunSignup, redis_server: RedisServer, group: str
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.status(429, retry_after=0.5), endpoint="get-race-albums", times=1)
    fake.faults.add(Fault.status(429, retry_after=0.5), endpoint="get-race-photo-albums", times=1)
    race_id, day_id = fake.race_days()[0]
    options = {"base_url": fake.base_url, "retry": FAST_RETRY, "shared_limits": redis_server.url,
               "shared_limits_key": group}  # fmt: skip
    async with (
        Client(fake.v2_auth(), **options) as first,
        Client(fake.v2_auth(), **options) as second,
    ):
        started = time.monotonic()
        throttled = asyncio.ensure_future(
            first.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
        )
        await asyncio.sleep(0.15)
        await second.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
        waited = time.monotonic() - started
        await throttled
    assert waited >= 0.45  # the second client waited out the first one's Retry-After
    assert fake.request_counts["get-race-photo-albums"] == 3


async def test_a_snapshot_shows_the_group(
    limiters: Callable[..., SharedLimiter],
) -> None:
    limit = RateLimit(per_second=50.0, burst=5, adaptive=False)
    first, second = limiters(limit, cap=4), limiters(limit, cap=4)
    async with first.slot(), second.slot():
        # With the bucket this full each client also refills its reserve in the
        # background: let those round trips land, then count what they hold as taken.
        for _ in range(100):
            if first._refill is None and second._refill is None:
                break
            await asyncio.sleep(0.001)
        seen = await first.snapshot()
        held = first._reserve.tokens + second._reserve.tokens
    assert seen.shared and not seen.degraded
    assert seen.in_flight == 2 and seen.max_concurrency == 4 and seen.clients == 2
    # Two of the burst of 5 sent, those held taken too, and a few ms of refill at most.
    assert seen.rate == 50.0 and 3 - held <= seen.tokens < 4 - held
    # Releases go out after the calls, not on their way: wait for them.
    for _ in range(100):
        if (await second.snapshot()).in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert (await second.snapshot()).in_flight == 0


async def test_a_local_snapshot_shows_the_client_alone() -> None:
    async with Client(rate_limit=RateLimit(per_second=7.0, burst=3), max_concurrency=2) as client:
        seen = await client.limits_snapshot()
    assert not seen.shared and seen.clients == 1
    assert (seen.rate, seen.tokens, seen.in_flight, seen.max_concurrency) == (7.0, 3.0, 0, 2)


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20)
async def test_unreachable_redis_at_start_fails_no_call(
    runsignup_fake: FakeRunSignup, group: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = runsignup_fake
    nowhere = f"redis://:pw-never-logged@127.0.0.1:{free_port()}/0"
    race_id, day_id = fake.race_days()[0]
    with caplog.at_level(logging.INFO, logger="runsignup_async"):
        async with Client(fake.v2_auth(), base_url=fake.base_url, shared_limits=nowhere,
                          shared_limits_key=group) as client:  # fmt: skip
            for _ in range(5):
                await client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
            seen = await client.limits_snapshot()
    assert seen.degraded and seen.shared
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "redis://:***@127.0.0.1" in warnings[0].getMessage()
    assert "pw-never-logged" not in caplog.text


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20)
async def test_without_redis_a_client_takes_its_share_then_shares_again(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, group: str,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(C, "REDIS_RETRY_EVERY", 0.1)
    fake = runsignup_fake
    race_id, day_id = fake.race_days()[0]
    limit = RateLimit(per_second=40.0, burst=8, adaptive=False)
    clients = [
        Client(fake.v2_auth(), base_url=fake.base_url, rate_limit=limit, max_concurrency=8,
               shared_limits=own_redis.url, shared_limits_key=group)
        for _ in range(4)
    ]  # fmt: skip
    try:
        for client in [*clients, clients[0]]:  # the first to call last sees all four
            await client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
        own_redis.stop()
        client = clients[0]
        with caplog.at_level(logging.INFO, logger="runsignup_async"):
            for _ in range(3):
                await client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
            alone = await client.limits_snapshot()
            own_redis.start()
            await asyncio.sleep(0.15)
            await client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
            shared = await client.limits_snapshot()
    finally:
        for client in clients:
            await client.aclose()
    # A quarter of the group's limits: four clients were seen.
    assert alone.degraded and (alone.rate, alone.max_concurrency) == (10.0, 2)
    assert not shared.degraded and shared.rate == 40.0
    levels = [r.levelname for r in caplog.records if "shared limits" in r.getMessage()]
    assert levels == ["WARNING", "INFO"]


@pytest.mark.runsignup_fake(seed=17, races=1, photos_per_race_day=20, latency=0.002)
async def test_a_cancelled_call_ends_cancelled_and_gives_its_lease_back(
    runsignup_fake: FakeRunSignup, redis_server: RedisServer, group: str
) -> None:
    # redis-py finishes a command whose task is cancelled and returns its answer as if
    # nothing happened; the limiter must not let that swallow the cancellation.
    fake = runsignup_fake
    race_id, day_id = fake.race_days()[0]
    rng = random.Random(17)
    options = {"base_url": fake.base_url, "rate_limit": RateLimit(per_second=10_000, burst=100),
               "shared_limits": redis_server.url, "shared_limits_key": group}  # fmt: skip
    async with Client(fake.v2_auth(), max_concurrency=4, **options) as client:
        for _ in range(60):
            call = asyncio.ensure_future(
                client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
            )
            await asyncio.sleep(rng.uniform(0, 0.004))
            if call.cancel():  # still running: it must end cancelled, and soon
                done, _ = await asyncio.wait({call}, timeout=5)
                assert done and call.cancelled()
            else:
                await call
        for _ in range(100):
            if (await client.limits_snapshot()).in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert (await client.limits_snapshot()).in_flight == 0
