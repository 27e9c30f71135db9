"""Settings objects refuse bad values when built, all the same way: a ``ValidationError``
(also a ``ValueError``) naming the field and the range it accepts; and a client's settings
cannot be changed after the fact, where a change would silently do nothing."""

from __future__ import annotations

from typing import Any

import pytest

from runsignup_async import Client, RateLimit, RetryPolicy, V2KeyAuth, ValidationError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "RetryPolicy.max_attempts: must be a whole number >= 1, got 0"),
        ({"max_attempts": 1.5}, "RetryPolicy.max_attempts: must be a whole number >= 1, got 1.5"),
        ({"backoff_initial": -1}, "RetryPolicy.backoff_initial: must be a number >= 0, got -1"),
        ({"backoff_max": "2"}, "RetryPolicy.backoff_max: must be a number >= 0, got '2'"),
        ({"max_retry_after": -0.5}, "RetryPolicy.max_retry_after: must be a number >= 0"),
        ({"budget": -1}, "RetryPolicy.budget: must be a whole number >= 0, got -1"),
    ],
)
def test_retry_policy_refuses_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match="^" + message.replace(".", r"\.")) as info:
        RetryPolicy(**kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.field == message.split(":")[0]


@pytest.mark.parametrize(
    ("kwargs", "field", "problem"),
    [
        ({"max_concurrency": 0}, "max_concurrency", "must be a whole number >= 1, got 0"),
        ({"max_concurrency": 2.5}, "max_concurrency", "must be a whole number >= 1, got 2.5"),
        ({"download_concurrency": True}, "download_concurrency", "must be a whole number >= 1"),
        ({"retry": {"max_attempts": 2}}, "retry", "expected a RetryPolicy or None, got dict"),
        ({"rate_limit": 5}, "rate_limit", "expected a RateLimit or None, got int"),
        ({"timeout": 0}, "timeout", "must be a positive number of seconds"),
    ],
)
def test_client_refuses_bad_settings(kwargs: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        Client(V2KeyAuth("k", "s"), **kwargs)
    assert info.value.field == field and problem in str(info.value)


def test_max_attempts_of_one_is_allowed() -> None:
    assert RetryPolicy(max_attempts=1).max_attempts == 1


@pytest.mark.parametrize("name", ["retry", "rate_limit", "max_concurrency", "download_concurrency"])
def test_client_settings_are_read_only(name: str) -> None:
    client = Client(
        V2KeyAuth("k", "s"),
        retry=RetryPolicy(max_attempts=2),
        rate_limit=RateLimit(per_second=3),
        max_concurrency=3,
        download_concurrency=4,
    )
    before = getattr(client, name)
    with pytest.raises(AttributeError):
        setattr(client, name, before)
    assert getattr(client, name) == before
    assert (client.retry.max_attempts, client.rate_limit.per_second) == (2, 3)
    assert (client.max_concurrency, client.download_concurrency) == (3, 4)
