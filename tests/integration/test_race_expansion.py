"""A bare race id stands for all its race days: iter_many, iter_albums_many and harvest.

Each race id costs one GET of the race, through the client's limiter and retries; a race
that cannot be read is reported like a failed race day and the others complete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runsignup_async import (
    Client,
    InvalidRequestError,
    RaceDay,
    RateLimit,
    RetryPolicy,
    ValidationError,
    harvest,
)
from runsignup_async.harvester import Failure
from runsignup_async.testing import FakeRunSignup, Fault

UNKNOWN = 999_999


def client_for(fake: FakeRunSignup) -> Client:
    return Client(
        fake.v2_auth(),
        base_url=fake.base_url,
        rate_limit=RateLimit(per_second=10_000, burst=1000),
        retry=RetryPolicy(max_attempts=3, backoff_initial=0.001, backoff_max=0.01),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunSignup]:
    """Race 7001 with three event days, race 7002 with one."""
    async with FakeRunSignup(seed=5, races=0) as server:
        for _ in range(3):
            server.add_race_day(7001, photos=6, events=2)
        server.add_race_day(7002, photos=4)
        yield server


def stored(dest: Path) -> dict[str, str]:
    """The harvested originals: file name -> its race day's directory name."""
    return {p.name: p.parent.parent.name for p in dest.rglob("*-original.jpg")}


def photo_ids(fake: FakeRunSignup, *race_ids: int) -> set[int]:
    return {
        p["photo_id"]
        for race_id, day in fake.race_days()
        if race_id in race_ids
        for p in fake.photos(race_id, day)
    }


async def test_a_bare_race_id_walks_all_its_race_days(fake: FakeRunSignup) -> None:
    days = [d for r, d in fake.race_days() if r == 7001]
    assert len(days) == 3
    async with client_for(fake) as client:
        walk = client.photos.iter_many([7001], concurrency=3)
        got = [p async for p in walk]
    assert sorted(p.photo_id for p in got) == sorted(photo_ids(fake, 7001))
    assert {p.race_event_days_id for p in got} == set(days)
    assert sorted(d.race_event_days_id for d in walk.report.completed) == sorted(days)
    assert fake.request_counts["get-race"] == 1


async def test_the_days_of_one_bare_race_are_walked_concurrently(fake: FakeRunSignup) -> None:
    """Workers that find nothing to do while the race is read wait for its days."""
    in_flight: list[int] = [0]
    most = 0

    async def started(event: Any) -> None:
        nonlocal most
        if "get-race-photos" in event.url:
            in_flight[0] += 1
            most = max(most, in_flight[0])

    async def ended(event: Any) -> None:
        if "get-race-photos" in event.url:
            in_flight[0] -= 1

    fake.latency = 0.05  # every answer takes a while: overlapping walks overlap requests
    async with Client(
        fake.v2_auth(),
        base_url=fake.base_url,
        rate_limit=RateLimit(per_second=10_000, burst=1000),
        on_request=started,
        on_response=ended,
    ) as client:
        got = [p async for p in client.photos.iter_many([7001], concurrency=3)]
    assert len(got) == len(photo_ids(fake, 7001))
    assert most == 3  # one listing per race day at once, not one after another


async def test_bare_ids_mix_with_race_days_and_each_day_is_walked_once(
    fake: FakeRunSignup,
) -> None:
    day_of_7001 = next(d for r, d in fake.race_days() if r == 7001)
    (other_day,) = (d for r, d in fake.race_days() if r == 7002)

    async def races() -> AsyncIterator[Any]:
        for race in (RaceDay(7002, other_day), 7001, (7001, day_of_7001)):
            yield race

    async with client_for(fake) as client:
        got = [p.photo_id async for p in client.photos.iter_many(races(), concurrency=2)]
    assert len(got) == len(set(got))  # the day named twice is not walked twice
    assert set(got) == photo_ids(fake, 7001, 7002)
    async with client_for(fake) as client:
        twice = [p.photo_id async for p in client.photos.iter_many([(7002, other_day)] * 2)]
    assert sorted(twice) == sorted(photo_ids(fake, 7002))


async def test_an_unknown_race_is_reported_and_the_others_complete(fake: FakeRunSignup) -> None:
    async with client_for(fake) as client:
        walk = client.photos.iter_many([UNKNOWN, 7001, 7002], concurrency=2, on_error="skip")
        got = {p.photo_id async for p in walk}
    assert got == photo_ids(fake, 7001, 7002)
    assert list(walk.report.failed_races) == [UNKNOWN]
    assert walk.report.failed_races[UNKNOWN].error_code == 15  # type: ignore[attr-defined]
    assert len(walk.report.completed) == 4 and walk.report.failures == {}
    assert fake.request_counts["get-race"] == 3  # one per race, never retried (error 15)


async def test_with_on_error_raise_an_unknown_race_raises(fake: FakeRunSignup) -> None:
    async with client_for(fake) as client:
        with pytest.raises(InvalidRequestError) as caught:
            async for _ in client.photos.iter_many([UNKNOWN], on_error="raise"):
                pass
    assert caught.value.error_code == 15


async def test_the_expansion_goes_through_the_retries(fake: FakeRunSignup) -> None:
    fake.faults.add(Fault.status(503), endpoint="get-race", times=1)
    async with client_for(fake) as client:
        got = {p.photo_id async for p in client.photos.iter_many([7002])}
    assert got == photo_ids(fake, 7002)
    assert fake.request_counts["get-race"] == 2


async def test_iter_albums_many_takes_a_bare_race_id(fake: FakeRunSignup) -> None:
    async with client_for(fake) as client:
        albums = [a async for a in client.photos.iter_albums_many([7001])]
    expected = {
        album.album_id for (race_id, _), day in fake.data.days.items() if race_id == 7001
        for album in day.albums.values()
    }  # fmt: skip
    assert {a.album_id for a in albums} == expected and len(albums) == len(expected)


BAD: list[Any] = [0, -3, "7001", True, 7.0, None, (7001,)]


@pytest.mark.parametrize("race", BAD)
async def test_bad_race_ids_are_refused_before_any_request(fake: FakeRunSignup, race) -> None:
    async with client_for(fake) as client:
        for many in (client.photos.iter_many, client.photos.iter_albums_many):
            with pytest.raises(ValidationError) as caught:
                many([7002, race])
            assert caught.value.field == "races"
        with pytest.raises(ValidationError):
            await harvest(client, [7002, race], "unused-dest")
    assert sum(fake.request_counts.values()) == 0


# --- harvest ------------------------------------------------------------------------------


async def test_harvest_of_a_bare_race_id_stores_all_three_days(
    fake: FakeRunSignup, tmp_path: Path
) -> None:
    async with client_for(fake) as client:
        summary = await harvest(client, [7001], tmp_path)
    assert summary.ok and summary.race_days == 3 and summary.race_days_listed == 3
    files = stored(tmp_path)
    assert set(files) == {f"{i}-original.jpg" for i in photo_ids(fake, 7001)}
    assert set(files.values()) == {str(d) for r, d in fake.race_days() if r == 7001}


async def test_harvest_reports_an_unknown_race_and_completes_the_others(
    fake: FakeRunSignup, tmp_path: Path
) -> None:
    events = []
    async with client_for(fake) as client:
        summary = await harvest(client, [7002, UNKNOWN, 7001], tmp_path, progress=events.append)
    assert not summary.ok
    assert summary.race_days == 5 and summary.race_days_listed == 4
    assert summary.race_days_failed == 1
    (failure,) = summary.failures
    assert failure == Failure(UNKNOWN, None, None, None, failure.reason)
    assert "race 999999" in failure.reason and str(failure).startswith(
        "race 999999: its race days could not be read"
    )
    failed = [e for e in events if e.kind == "race_day_failed"]
    assert [(e.race_id, e.race_event_days_id) for e in failed] == [(UNKNOWN, None)]
    assert set(stored(tmp_path)) == {f"{i}-original.jpg" for i in photo_ids(fake, 7001, 7002)}
