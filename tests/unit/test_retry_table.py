"""The retry decision table and the backoff schedule, as pure functions."""

from __future__ import annotations

import random

import pytest

from runsignup_async import (
    APITimeoutError,
    AuthenticationError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from runsignup_async._retry import RetryBudget, backoff_delay, is_retryable

POLICY = RetryPolicy()


@pytest.mark.parametrize(
    ("exc", "get", "post"),
    [
        (TransportError("refused", request_sent=False), True, True),
        (APITimeoutError("connect", request_sent=False), True, True),
        (TransportError("reset"), True, False),
        (APITimeoutError("read"), True, False),
        (RateLimitError("throttled"), True, True),
        (RateLimitError("throttled", retry_after=3), True, True),
        (RateLimitError("throttled", retry_after=3600), False, False),
        (ServerError("down", status=500), True, False),
        (ServerError("busy", status=503), True, False),
        (ServerError("busy", status=503, retry_after=1), True, True),
        (ServerError("gateway", status=502, retry_after=1), True, False),
        (ServerError("database", error_code=5), True, False),
        (AuthenticationError("no", error_code=6), False, False),
        (
            ResponseDecodeError("xml", status=200, content_type="", snippet="", method="", url=""),
            True,
            False,
        ),
        (
            ResponseDecodeError(
                "misfit", status=200, content_type="", snippet="", method="", url="", path="$.a"
            ),
            False,
            False,
        ),
        (KeyError("bug"), False, False),
    ],
)
def test_decision_table(exc: BaseException, get: bool, post: bool) -> None:
    assert is_retryable(exc, idempotent=True, policy=POLICY) is get
    assert is_retryable(exc, idempotent=False, policy=POLICY) is post


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=8.0)
    rng = random.Random(1)
    exc = ServerError("x", status=500)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)]:
        delays = [backoff_delay(attempt, exc, policy, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not constant


def test_retry_after_is_a_floor_for_the_wait() -> None:
    policy = RetryPolicy(backoff_initial=0.1)
    assert backoff_delay(1, RateLimitError("t", retry_after=7), policy) == 7
    assert backoff_delay(1, ServerError("t", status=503, retry_after=2.5), policy) == 2.5


def test_budget_spends_more_for_timeouts_and_refunds_on_success() -> None:
    budget = RetryBudget(12)
    assert budget.can_spend(APITimeoutError("t"))
    budget.spend(APITimeoutError("t"))
    assert budget.tokens == 2
    assert not budget.can_spend(ServerError("x", status=500))
    budget.refund()
    budget.refund()
    budget.refund()
    assert budget.can_spend(ServerError("x", status=500))
    for _ in range(100):
        budget.refund()
    assert budget.tokens == 12


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"backoff_initial": -1}, {"budget": -1}])
def test_bad_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
