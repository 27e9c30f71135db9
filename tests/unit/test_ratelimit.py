"""The rate limiter: pace, concurrency cap, adaptive cuts and recovery, shared pauses."""

from __future__ import annotations

import asyncio
import time

import pytest

from runsignup_async import RateLimit, ValidationError
from runsignup_async import _constants as C
from runsignup_async._ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_holds_its_rate_under_50_concurrent_callers() -> None:
    rate, burst = 200.0, 5
    limiter = RateLimiter(RateLimit(per_second=rate, burst=burst, adaptive=False), 50)
    starts: list[float] = []

    async def caller() -> None:
        for _ in range(4):
            async with limiter.slot() as sent_at:
                starts.append(sent_at)

    began = time.monotonic()
    await asyncio.gather(*(caller() for _ in range(50)))
    starts.sort()
    assert len(starts) == 200
    # No window may hold more than burst + rate * width starts (small clock tolerance).
    for i in range(len(starts)):
        for j in range(i + burst, len(starts), 17):
            width = starts[j] - starts[i]
            assert j - i + 1 <= burst + rate * width + 1.5, (i, j, width)
    # 200 starts at 200/s after a burst of 5 take at least (200 - 5) / 200 seconds.
    assert time.monotonic() - began >= (200 - burst) / rate - 0.02


async def test_caps_attempts_in_flight() -> None:
    limiter = RateLimiter(RateLimit(per_second=10_000, burst=100), max_concurrency=3)
    in_flight = peak = 0

    async def caller() -> None:
        nonlocal in_flight, peak
        async with limiter.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

    await asyncio.gather(*(caller() for _ in range(30)))
    assert peak == 3


def test_throttle_cuts_to_a_fraction_of_the_achieved_rate_and_recovers_linearly() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=100, burst=10), 10, clock=clock)
    began = clock.now
    clock.now -= 10.0
    limiter._record_send(clock.now)  # long before the window: not counted
    for n in range(50):  # 50 sends, the oldest 0.98 s ago: 50 / 0.98 per second
        clock.now = began - 0.98 + n * 0.02
        limiter._record_send(clock.now)
    clock.now = began
    assert limiter.achieved_rate() == pytest.approx(50 / 0.98)
    assert limiter.rate == 100
    limiter.on_throttle(granted_at=clock.now)
    cut = 50 / 0.98 * C.DECREASE_FACTOR
    assert limiter.rate == pytest.approx(cut)
    clock.now += 1.0
    assert limiter.rate == pytest.approx(cut + cut * C.INCREASE_FRACTION)
    clock.now += 1000
    assert limiter.rate == 100  # never above the ceiling


def test_a_client_that_just_began_is_measured_over_the_time_it_has_been_sending() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=1000, burst=10), 10, clock=clock)
    for _ in range(20):  # 20 sends over the last 0.1 s: 200/s, not 20/s
        limiter._record_send(clock.now)
        clock.now += 0.005
    assert limiter.achieved_rate() == pytest.approx(20 / 0.1)
    limiter.on_throttle(granted_at=clock.now)
    assert limiter.rate == pytest.approx(200 * C.DECREASE_FACTOR)


def test_sends_an_instant_apart_are_measured_over_the_minimum_span() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=1000, burst=10), 10, clock=clock)
    assert limiter.achieved_rate() == 0
    for _ in range(5):
        limiter._record_send(clock.now)
    assert limiter.achieved_rate() == pytest.approx(5 / C.RATE_WINDOW_MIN)
    limiter.on_throttle(granted_at=clock.now)
    assert limiter.rate == pytest.approx(5 / C.RATE_WINDOW_MIN * C.DECREASE_FACTOR)


def test_one_cut_per_round_of_requests_sent_at_the_old_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=100, burst=10), 10, clock=clock)
    for _ in range(80):
        limiter._record_send(clock.now)
    sent_before_cut = clock.now
    clock.now += 0.01
    limiter.on_throttle(granted_at=sent_before_cut)
    after_first = limiter.rate
    limiter.on_throttle(granted_at=sent_before_cut)  # in flight before the cut: ignored
    assert limiter.rate == pytest.approx(after_first)
    clock.now += 0.5
    limiter.on_throttle(granted_at=clock.now)  # sent after the cut: cuts again
    assert limiter.rate < after_first
    assert limiter.throttles == 3


def test_rate_never_drops_below_the_floor() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=10, burst=1), 1, clock=clock)
    for _ in range(20):
        clock.now += 0.001
        limiter.on_throttle(granted_at=clock.now)
    assert limiter.rate >= C.MIN_RATE


def test_non_adaptive_mode_keeps_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(per_second=40, burst=4, adaptive=False), 4, clock=clock)
    limiter.on_throttle(granted_at=clock.now)
    assert limiter.rate == 40


async def test_retry_after_pauses_every_request_of_the_client() -> None:
    limiter = RateLimiter(RateLimit(per_second=1000, burst=10, adaptive=False), 10)
    async with limiter.slot() as sent_at:
        pass
    limiter.on_throttle(sent_at, retry_after=0.2)
    began = time.monotonic()
    async with limiter.slot():
        pass
    assert time.monotonic() - began >= 0.19


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"per_second": 0}, "RateLimit.per_second: must be a number > 0, got 0"),
        ({"per_second": -1}, "RateLimit.per_second: must be a number > 0, got -1"),
        ({"per_second": float("nan")}, "RateLimit.per_second: must be a number > 0, got nan"),
        ({"per_second": "5"}, "RateLimit.per_second: must be a number > 0, got '5'"),
        ({"burst": 0}, "RateLimit.burst: must be a whole number >= 1, got 0"),
        # A bucket that never holds a whole token would make every request wait forever.
        ({"burst": 0.5}, "RateLimit.burst: must be a whole number >= 1, got 0.5"),
        ({"burst": 2.0}, "RateLimit.burst: must be a whole number >= 1, got 2.0"),
        ({"burst": True}, "RateLimit.burst: must be a whole number >= 1, got True"),
        ({"adaptive": "no"}, "RateLimit.adaptive: must be True or False, got 'no'"),
    ],
)
def test_bad_limits_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        RateLimit(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_bad_concurrency_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_concurrency: must be a whole number >= 1"):
        RateLimiter(RateLimit(), 0)
