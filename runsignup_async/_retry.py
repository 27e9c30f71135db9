"""What is retried, how long we wait, and when we stop: the retry decision table.

==========================================  =========  =======================================
outcome of an attempt                       GET        POST
==========================================  =========  =======================================
connection failed before sending            retry      retry (provably not processed)
timeout, reset or truncated answer          retry      raise (the server may have processed it)
error 14 / HTTP 429 (throttled)             retry      retry (a throttled call is not processed)
HTTP 503 with Retry-After                   retry      retry (the server said it did not run it)
HTTP 5xx, 408, error 5                      retry      raise (the server may have processed it)
any other API error, decode error           raise      raise
==========================================  =========  =======================================

POST is not idempotent here: an activity posted twice is counted twice, a race created
twice exists twice. A POST is therefore sent again only when the answer proves it was not
processed. Waits grow exponentially with jitter up to a cap; a ``Retry-After`` the server
sends is honoured when it is within ``RetryPolicy.max_retry_after``, and a longer one is
raised to the caller instead of slept through. Every retry spends from a per-client budget
so that a dead server is not hammered.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import attrs

from . import _constants as C
from .errors import RateLimitError, ServerError, TimeoutError, TransportError

__all__ = ["RetryBudget", "RetryPolicy", "backoff_delay", "is_retryable", "retry_after_of"]

_RNG = random.Random()


def _at_least(minimum: float) -> Callable[[object, attrs.Attribute[Any], float], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
        if value < minimum:
            raise ValueError(f"RetryPolicy.{attribute.name} must be >= {minimum}, got {value!r}")

    return check


@attrs.frozen
class RetryPolicy:
    """How a client retries. ``RetryPolicy(max_attempts=1)`` turns retries off."""

    max_attempts: int = attrs.field(default=C.MAX_ATTEMPTS, validator=_at_least(1))
    backoff_initial: float = attrs.field(default=C.BACKOFF_INITIAL, validator=_at_least(0))
    backoff_max: float = attrs.field(default=C.BACKOFF_MAX, validator=_at_least(0))
    max_retry_after: float = attrs.field(default=C.RETRY_AFTER_MAX, validator=_at_least(0))
    budget: int = attrs.field(default=C.RETRY_BUDGET, validator=_at_least(0))


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
    return False  # other API errors, decode errors, CancelledError, bugs


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
        return C.TIMEOUT_RETRY_COST if isinstance(exc, TimeoutError) else C.RETRY_COST

    def can_spend(self, exc: BaseException) -> bool:
        return self.tokens >= self.cost(exc)

    def spend(self, exc: BaseException) -> None:
        self.tokens = max(0, self.tokens - self.cost(exc))

    def refund(self) -> None:
        self.tokens = min(self.capacity, self.tokens + C.SUCCESS_REFUND)
