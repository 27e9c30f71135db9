"""``RetryPolicy.max_attempts=N`` means at most N requests, counted by the server, for GET
and for POST, through the public endpoint methods; and an answer that is not JSON is
retried for a GET only."""

from __future__ import annotations

from typing import Any

import pytest

from runsignup_async import Activity, ResponseDecodeError, RetryPolicy, ServerError
from runsignup_async.testing import Fault

QUICK = {"backoff_initial": 0.001, "backoff_max": 0.002}


def calls(fake: Any, day: tuple[int, int]) -> dict[str, Any]:
    race_id, days_id = day
    event_id = fake.event_ids(race_id)[0]
    activity = Activity(tally_split_date="2024-05-01", result_split_tally_value=3)
    return {
        "get-race-photos": lambda c: c.photos.get_photos(
            race_id=race_id, race_event_days_id=days_id
        ),
        "vr-activities": lambda c: c.activities.submit(
            race_id=race_id, event_id=event_id, activities=[activity]
        ),
    }


@pytest.mark.parametrize("endpoint", ["get-race-photos", "vr-activities"])
@pytest.mark.parametrize("max_attempts", [1, 2, 5])
async def test_max_attempts_bounds_the_requests_the_server_receives(
    fake, client_for, day, endpoint, max_attempts
) -> None:
    # A 503 with Retry-After: the server says it did not run the call, so a POST may be
    # sent again too; every attempt fails, so the count is the policy's bound.
    fake.faults.add(Fault.status(503, retry_after=0), endpoint=endpoint)
    client = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=max_attempts, **QUICK))
    with pytest.raises(ServerError):
        await calls(fake, day)[endpoint](client)
    assert fake.request_counts[endpoint] == max_attempts
    assert fake.processed_posts == []


@pytest.mark.parametrize("endpoint", ["get-race-photos", "vr-activities"])
async def test_max_attempts_1_spends_no_retry_budget(fake, client_for, day, endpoint) -> None:
    fake.faults.add(Fault.status(503, retry_after=0), endpoint=endpoint)
    client = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=1, budget=5))
    with pytest.raises(ServerError):
        await calls(fake, day)[endpoint](client)
    # The same client can still retry afterwards: nothing was spent on a retry it never made.
    fake.faults.clear()
    fake.faults.add(Fault.status(503, retry_after=0), endpoint=endpoint, times=1)
    client2 = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=2, budget=5, **QUICK))
    assert await calls(fake, day)[endpoint](client2) is not None
    assert fake.request_counts[endpoint] == 1 + 2


async def test_a_get_answered_with_an_html_page_is_retried(fake, client_for, day) -> None:
    fake.faults.add(Fault.html(200), endpoint="get-race-photos", times=2)
    client = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=3, **QUICK))
    photos = await calls(fake, day)["get-race-photos"](client)
    stored = {p["photo_id"] for p in fake.photos(*day)}
    assert len(photos) == min(100, len(stored)) and {p.photo_id for p in photos} <= stored
    assert fake.request_counts["get-race-photos"] == 3


async def test_a_get_that_stays_html_raises_after_the_last_attempt(fake, client_for, day) -> None:
    fake.faults.add(Fault.html(200), endpoint="get-race-photos")
    client = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=3, **QUICK))
    with pytest.raises(ResponseDecodeError) as info:
        await calls(fake, day)["get-race-photos"](client)
    assert fake.request_counts["get-race-photos"] == 3
    assert "<html" in info.value.snippet.lower()
    assert fake.credentials.rsu_api_secret not in str(info.value)


async def test_a_post_answered_with_an_html_page_is_never_sent_again(fake, client_for, day) -> None:
    fake.faults.add(Fault.html(200), endpoint="vr-activities")
    client = client_for(fake.v2_auth(), retry=RetryPolicy(max_attempts=5, **QUICK))
    with pytest.raises(ResponseDecodeError):
        await calls(fake, day)["vr-activities"](client)
    assert fake.request_counts["vr-activities"] == 1
