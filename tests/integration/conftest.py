"""Fixtures for the SDK-against-fake tests: clients of a started ``FakeRunSignup``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from runsignup_async import Client, RateLimit, RetryPolicy
from runsignup_async.testing import FakeRunSignup

# Short waits so retries do not slow the suite; the fake answers from memory.
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.01)


@pytest.fixture
async def fake(runsignup_fake: FakeRunSignup) -> FakeRunSignup:
    """The plugin's fake (options from ``@pytest.mark.runsignup_fake``)."""
    return runsignup_fake


@pytest.fixture
async def client_for(fake: FakeRunSignup) -> AsyncIterator[Callable[..., Client]]:
    """``client_for(auth, **client_options)``: a client of ``fake``, closed after the test.

    Signs protected calls with the fake's signer unless ``signer=`` says otherwise.
    """
    made: list[Client] = []

    def make(auth: Any, **options: Any) -> Client:
        options.setdefault("base_url", fake.base_url)
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("rate_limit", RateLimit(per_second=10_000, burst=100))
        options.setdefault("signer", fake.signer())
        client = Client(auth, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def day(fake: FakeRunSignup) -> tuple[int, int]:
    """The first (race_id, race_event_days_id) of the fake."""
    return fake.race_days()[0]
