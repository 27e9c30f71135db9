"""``--rate R`` (the CLI's rate): never more than R requests start in any one-second
window, for a process alone and for a group sharing one key through a real redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from runsignup_async import RateLimit
from runsignup_async._ratelimit import RateLimiter
from runsignup_async._shared._limiter import SharedLimiter
from runsignup_async.cli._rate import rate_limit_of

from .test_limits import limiters, redis  # noqa: F401  (fixtures)

R = 10
SECONDS = 2.5  # enough for R + 1 sends to fit in a second many times over, were they let


async def send_times(*group: Any, callers: int = 4) -> list[float]:
    """When each call started, with ``callers`` tasks per limiter calling flat out."""
    started: list[float] = []
    stop = time.monotonic() + SECONDS

    async def call(limiter: Any) -> None:
        while time.monotonic() < stop:
            async with limiter.slot():
                started.append(time.monotonic())

    await asyncio.gather(*(call(lim) for lim in group for _ in range(callers)))
    return sorted(started)


def shortest_span_of_r_plus_one(started: list[float]) -> float:
    assert len(started) > 2 * R, started  # the limiter was kept busy
    return min(b - a for a, b in zip(started, started[R:], strict=False))


async def test_alone_r_plus_one_calls_take_more_than_a_second() -> None:
    limiter = RateLimiter(rate_limit_of(R), max_concurrency=R)
    assert shortest_span_of_r_plus_one(await send_times(limiter)) >= 1.0


async def test_a_group_sharing_the_rate_never_starts_more_than_r_calls_in_a_second(
    limiters: Callable[..., SharedLimiter],  # noqa: F811  (the fixture)
) -> None:
    group = [limiters(rate_limit_of(R), cap=R) for _ in range(3)]
    assert shortest_span_of_r_plus_one(await send_times(*group)) >= 1.0


async def test_a_burst_of_r_starts_more_than_r_in_the_first_second() -> None:
    # What --rate used to build, and why it no longer does.
    limiter = RateLimiter(RateLimit(per_second=R, burst=R), max_concurrency=R)
    started = await send_times(limiter)
    assert sum(t < started[0] + 1.0 for t in started) > R
