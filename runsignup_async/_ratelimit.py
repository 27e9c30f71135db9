"""How fast, how many at once, and how to back off when the server throttles.

One ``RateLimiter`` per client, shared by every request it sends:

- a token bucket (``RateLimit.per_second``, ``RateLimit.burst``) paces the start of each
  attempt; waiters are served first come, first served;
- a semaphore caps the attempts in flight (``max_concurrency``); it is held for the
  attempt only, never across a retry's backoff, so a sleeping retry blocks nobody;
- adaptive mode (AIMD): a throttle answer (error 14, HTTP 429) cuts the rate to a fraction
  of the rate actually achieved (measured over the last ``RATE_WINDOW`` seconds, or over
  the time the client has been sending if that is shorter), once per round of requests
  sent at the old rate; the rate then climbs back linearly, never above the configured
  ceiling. A ``Retry-After`` pauses every request of the client, not just the one that
  was throttled.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import attrs

from . import _constants as C
from ._shared._interface import LimitsSnapshot
from ._validate import check_number, number, plain_bool

__all__ = ["RateLimit", "RateLimiter"]


@attrs.frozen
class RateLimit:
    """Client-side rate limit: ``per_second`` sustained, up to ``burst`` at once.

    With ``adaptive=True`` (the default) ``per_second`` is a ceiling: the limiter slows
    down when the server throttles and climbs back when it stops.
    """

    per_second: float = attrs.field(default=C.RATE_PER_SECOND, validator=number(0, inclusive=False))
    # A bucket that holds less than one token never lets a request start.
    burst: int = attrs.field(default=C.RATE_BURST, validator=number(1, whole=True))
    adaptive: bool = attrs.field(default=True, validator=plain_bool)


class RateLimiter:
    """The shared pacing state of one client. Not thread-safe: one event loop."""

    def __init__(
        self,
        limit: RateLimit,
        max_concurrency: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_number("max_concurrency", max_concurrency, minimum=1, whole=True)
        self.limit = limit
        self.max_concurrency = max_concurrency
        self._clock = clock
        self._slots = asyncio.Semaphore(max_concurrency)
        self._lock = asyncio.Lock()
        self._tokens = float(limit.burst)
        self._refilled_at = clock()
        self._paused_until = 0.0
        # AIMD state: the rate set at the last cut and when; the rate grows from there.
        self._cut_rate = limit.per_second
        self._cut_at = -float("inf")
        self._sent: deque[float] = deque()
        self._in_flight = 0
        self.throttles = 0

    @property
    def rate(self) -> float:
        """The current allowed rate in requests per second."""
        ceiling = self.limit.per_second
        if not self.limit.adaptive or self._cut_rate >= ceiling:
            return ceiling
        slope = max(self._cut_rate * C.INCREASE_FRACTION, C.INCREASE_FLOOR)
        return min(ceiling, self._cut_rate + slope * (self._clock() - self._cut_at))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold an in-flight slot and a token for one attempt; yields the send time
        (here also the token's grant time: no token is granted ahead)."""
        async with self._slots:
            self._in_flight += 1
            try:
                yield await self._take_token()
            finally:
                self._in_flight -= 1

    async def _take_token(self) -> float:
        async with self._lock:  # FIFO: waiters get tokens in arrival order
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                rate = self.rate
                self._tokens = self._tokens_at(now, rate)
                self._refilled_at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    self._record_send(now)
                    return now
                await asyncio.sleep((1 - self._tokens) / rate)

    def _tokens_at(self, now: float, rate: float) -> float:
        """The bucket's tokens at ``now``, refilled at ``rate`` since the last refill."""
        return min(float(self.limit.burst), self._tokens + (now - self._refilled_at) * rate)

    def _record_send(self, now: float) -> None:
        self._sent.append(now)
        horizon = now - C.RATE_WINDOW
        while self._sent and self._sent[0] < horizon:
            self._sent.popleft()

    def achieved_rate(self) -> float:
        """Requests started in the last ``RATE_WINDOW`` seconds, per second of sending.

        The count is divided by the time since the oldest of those sends (at least
        ``RATE_WINDOW_MIN``), not by the whole window: a client that began sending 50 ms
        ago has sent for 50 ms. Dividing by the window would understate its rate twenty
        times over, and a cut from that figure would leave it crawling for minutes.
        """
        now = self._clock()
        horizon = now - C.RATE_WINDOW
        sent = [t for t in self._sent if t >= horizon]
        if not sent:
            return 0.0
        return len(sent) / max(C.RATE_WINDOW_MIN, now - sent[0])

    def on_throttle(self, granted_at: float, retry_after: float | None = None) -> None:
        """A request whose token was granted (and sent) at ``granted_at`` was throttled."""
        self.throttles += 1
        now = self._clock()
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)
        # Every request already in flight at the old rate will be throttled too; cutting
        # for each of them would collapse the rate, so one cut per round is enough.
        if not self.limit.adaptive or granted_at <= self._cut_at:
            return
        basis = min(self.rate, max(self.achieved_rate(), C.MIN_RATE))
        self._cut_rate = max(C.MIN_RATE, basis * C.DECREASE_FACTOR)
        self._cut_at = now
        # Drop saved-up burst so the cut takes effect at once.
        self._tokens = min(self._tokens, 1.0)

    def snapshot(self) -> LimitsSnapshot:
        """This limiter's state now, as ``Client.limits_snapshot()`` reports it."""
        now = self._clock()
        rate = self.rate
        tokens = self._tokens_at(now, rate)
        return LimitsSnapshot(
            shared=False,
            degraded=False,
            rate=rate,
            tokens=tokens,
            in_flight=self._in_flight,
            max_concurrency=self.max_concurrency,
            clients=1,
            paused_for=max(0.0, self._paused_until - now),
        )
