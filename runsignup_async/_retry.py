"""What is retried, how long we wait, and when we stop: the retry decision table.

==========================================  =========  =======================================
outcome of an attempt                       GET        POST
==========================================  =========  =======================================
connection failed before sending            retry      retry (provably not processed)
timeout, reset or truncated answer          retry      raise (the server may have processed it)
error 14 / HTTP 429 (throttled)             retry      retry (a throttled call is not processed)
HTTP 503 with Retry-After                   retry      retry (the server said it did not run it)
HTTP 5xx, 408, error 5                      retry      raise (the server may have processed it)
answer not JSON (an HTML page, cut short)   retry      raise (the server may have processed it)
JSON of another shape than the endpoint's   raise      raise (the same answer would come back)
any other API error                         raise      raise
==========================================  =========  =======================================

POST is not idempotent here: an activity posted twice is counted twice, a race created
twice exists twice. A POST is therefore sent again only when the answer proves it was not
processed. Waits grow exponentially with jitter up to a cap; a ``Retry-After`` the server
sends is honoured when it is within ``RetryPolicy.max_retry_after``, and a longer one is
raised to the caller instead of slept through. An answer that is not JSON (a proxy's
maintenance page, a document cut short) is a transient fault like a 502: a GET is sent
again, and ``ResponseDecodeError`` is raised only after the last attempt. Every retry
spends from a per-client budget so that a dead server is not hammered.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from . import _constants as C
from ._validate import number
from .errors import (
    APITimeoutError,
    RateLimitError,
    ResponseDecodeError,
    RunSignupError,
    ServerError,
    TransportError,
)

__all__ = [
    "RetryBudget",
    "RetryPolicy",
    "backoff_delay",
    "is_retryable",
    "retry_after_of",
    "with_retries",
]

logger = logging.getLogger("runsignup_async")
T = TypeVar("T")

_RNG = random.Random()


@attrs.frozen
class RetryPolicy:
    """How a client retries. ``RetryPolicy(max_attempts=1)`` turns retries off."""

    max_attempts: int = attrs.field(default=C.MAX_ATTEMPTS, validator=number(1, whole=True))
    backoff_initial: float = attrs.field(default=C.BACKOFF_INITIAL, validator=number(0))
    backoff_max: float = attrs.field(default=C.BACKOFF_MAX, validator=number(0))
    max_retry_after: float = attrs.field(default=C.RETRY_AFTER_MAX, validator=number(0))
    budget: int = attrs.field(default=C.RETRY_BUDGET, validator=number(0, whole=True))


def retry_after_of(exc: BaseException) -> float | None:
    if isinstance(exc, RateLimitError | ServerError):
        return exc.retry_after
    return None


def is_retryable(exc: BaseException, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """Whether an attempt that ended in ``exc`` may be sent again (the table above)."""
    retry_after = retry_after_of(exc)
    if retry_after is not None and retry_after > policy.max_retry_after:
        return False
    if isinstance(exc, RateLimitError):
        return True
    if isinstance(exc, ServerError):
        return idempotent or (exc.status == 503 and retry_after is not None)
    if isinstance(exc, TransportError):
        return idempotent or not exc.request_sent
    if isinstance(exc, ResponseDecodeError):
        return idempotent and exc.path is None  # a misfit is deterministic, not transient
    return False  # other API errors, CancelledError, bugs


def backoff_delay(
    attempt: int, exc: BaseException, policy: RetryPolicy, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential with "equal jitter" (half fixed, half random) so that concurrent callers
    spread out but none retries instantly; a server's ``Retry-After`` is a floor.
    """
    uniform = (rng or _RNG).uniform
    ceiling = min(policy.backoff_max, policy.backoff_initial * 2.0 ** (attempt - 1))
    delay = ceiling / 2 + uniform(0, ceiling / 2)
    retry_after = retry_after_of(exc)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class RetryBudget:
    """Tokens shared by all requests of one client; a retry spends, a success refunds."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.tokens = capacity

    @staticmethod
    def cost(exc: BaseException) -> int:
        return C.TIMEOUT_RETRY_COST if isinstance(exc, APITimeoutError) else C.RETRY_COST

    def can_spend(self, exc: BaseException) -> bool:
        return self.tokens >= self.cost(exc)

    def spend(self, exc: BaseException) -> None:
        self.tokens = max(0, self.tokens - self.cost(exc))

    def refund(self) -> None:
        self.tokens = min(self.capacity, self.tokens + C.SUCCESS_REFUND)


async def with_retries(
    attempt: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    idempotent: bool,
    what: str,
    budget: RetryBudget | None = None,
) -> T:
    """The one retry loop: ``await attempt(n)`` for n = 1, 2, ... until one succeeds.

    Every attempt, the first included, runs in this loop, so ``max_attempts=N`` means at
    most N requests. A failure is retried when the table above allows it and ``budget``
    (if any) can pay for it; otherwise it is raised as it is. Anything that is not a
    ``RunSignupError`` (a cancellation, a bug) passes straight through. ``what`` names
    the call in the log line of each retry.
    """
    n = 1
    while True:
        try:
            return await attempt(n)
        except RunSignupError as exc:
            if (
                n >= policy.max_attempts
                or not is_retryable(exc, idempotent=idempotent, policy=policy)
                or (budget is not None and not budget.can_spend(exc))
            ):
                raise
            delay = backoff_delay(n, exc, policy)
            if budget is not None:
                budget.spend(exc)
            logger.info(
                "retrying %s after attempt %d failed (%s); waiting %.2fs", what, n, exc, delay
            )
        await asyncio.sleep(delay)
        n += 1
