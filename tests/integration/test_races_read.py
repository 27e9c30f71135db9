"""``client.races.get``, ``race_days`` and ``update`` against the fake server.

``update`` is checked the way a user would judge it: the fake's stored race before and
after, field by field and event by event.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import attrs
import pytest
from aiohttp import web

from runsignup_async import (
    NOT_GIVEN,
    Address,
    Client,
    Event,
    InvalidRequestError,
    Race,
    ResponseDecodeError,
    RetryPolicy,
    V2KeyAuth,
    ValidationError,
)
from runsignup_async.auth import ProtectedApiSigner
from runsignup_async.testing import Fault

FULL_RACE = Race(
    name="Read Me",
    url_string="ReadMe",
    draft_race=True,
    address=Address(
        street="300 Mill St.", city="Moorestown", state="NJ", country_code="US", zipcode="08057"
    ),
    contact_email="race@example.com",
    timezone="America/Chicago",
    events=[
        Event(
            name="8K",
            start_time=datetime(2030, 6, 7, 8, 30),
            end_time=datetime(2030, 6, 7, 11, 0),
            event_type="running_race",
            distance=8,
            distance_units="K",
            age_calc_base_date=date(2030, 12, 31),
        ),
        Event(
            name="Half Marathon",
            start_time=datetime(2030, 6, 7, 7, 0),
            event_type="running_race",
            distance=13.1,
            distance_units="M",
        ),
    ],
)


async def _created(client: Client) -> int:
    return (await client.races.create(FULL_RACE)).race_id


async def test_get_round_trips_the_page_documented_fields(fake, client_for) -> None:
    client = client_for(fake.temp_auth())
    race_id = await _created(client)
    race = await client.races.get(race_id)
    stored = fake.races[race_id]
    # Everything create sent comes back, but url_string (an edit must leave it out).
    assert race == attrs.evolve(
        FULL_RACE,
        url_string=NOT_GIVEN,
        events=[
            attrs.evolve(sent, event_id=kept["event_id"], race_event_days_id=day)
            for sent, kept, day in zip(
                FULL_RACE.events,
                stored["events"],
                [e["race_event_days_id"] for e in stored["events"]],
                strict=True,
            )
        ],
    )
    assert fake.request_counts["get-race"] == 1


async def test_race_days_are_distinct_and_newest_first(fake, client_for) -> None:
    race_id, first_day = fake.race_days()[0]
    second = fake.add_race_day(race_id, events=2).race_event_days_id
    third = fake.add_race_day(race_id, events=1).race_event_days_id
    # The second day starts last: newest by start time, not by id.
    for event in fake.races[race_id]["events"]:
        if event["race_event_days_id"] == second:
            event["start_time"] = "2031-05-01 09:00:00"
    days = await client_for(fake.v2_auth()).races.race_days(race_id)
    assert days == [second, third, first_day]  # third > first_day: same start, higher id
    assert fake.request_counts["get-race"] == 1


async def test_get_is_retried_like_every_get(fake, client_for, day) -> None:
    fake.faults.add(Fault.status(503), endpoint="get-race", times=1)
    race = await client_for(fake.v2_auth()).races.get(day[0])
    assert {e.event_id for e in race.events} == set(fake.event_ids(day[0]))
    assert fake.request_counts["get-race"] == 2


async def test_unknown_race_is_error_15_sent_once(fake, client_for) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await client_for(fake.v2_auth()).races.race_days(999_999)
    assert caught.value.error_code == 15
    assert fake.request_counts["get-race"] == 1


BAD_IDS: list[Any] = [0, -1, "12", 1.5, True, None]


@pytest.mark.parametrize("race_id", BAD_IDS)
async def test_bad_race_id_is_refused_before_sending(fake, client_for, race_id) -> None:
    client = client_for(fake.temp_auth())
    calls = [
        client.races.get(race_id),
        client.races.race_days(race_id),
        client.races.update(race_id, {"name": "X"}),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as caught:
            await call
        assert caught.value.field == "race_id"
    assert fake.request_counts["get-race"] == 0 and fake.request_counts["race"] == 0


# --- update --------------------------------------------------------------------------------


async def test_update_changes_one_field_and_keeps_everything_else(fake, client_for) -> None:
    client = client_for(fake.temp_auth())
    race_id = await _created(client)
    before = copy.deepcopy(fake.races[race_id])
    result = await client.races.update(race_id, {"name": "Renamed"})
    after = fake.races[race_id]
    assert after["name"] == "Renamed"
    assert {**after, "name": before["name"]} == before  # every other field, every event
    assert result.event_ids == tuple(e["event_id"] for e in before["events"])
    assert fake.request_counts["get-race"] == 1 and fake.request_counts["race"] == 2


async def test_update_of_a_generated_race_with_three_days(fake, client_for) -> None:
    race_id = fake.race_days()[0][0]
    fake.add_race_day(race_id, events=2)
    fake.add_race_day(race_id, events=1)
    before = copy.deepcopy(fake.races[race_id])
    await client_for(fake.v2_auth()).races.update(race_id, {"timezone": "America/Denver"})
    after = fake.races[race_id]
    assert after["timezone"] == "America/Denver"
    assert after["events"] == before["events"]  # all three days' events, untouched
    # The answer's null contact_email is sent back as null (it was unset before).
    assert {**after, "timezone": before["timezone"], "contact_email": None} == {
        **before,
        "contact_email": None,
    }


async def test_update_with_a_function_can_remove_an_event(fake, client_for) -> None:
    client = client_for(fake.temp_auth())
    race_id = await _created(client)
    first, second = fake.races[race_id]["events"]
    await client.races.update(race_id, lambda race: attrs.evolve(race, events=race.events[:1]))
    assert fake.races[race_id]["events"] == [first]
    assert second["event_id"] not in fake.event_ids(race_id)


async def test_update_keeps_an_event_added_between_read_and_write(fake, client_for) -> None:
    """Nothing removed: the edit asks the API to keep events it did not list."""
    client = client_for(fake.temp_auth())
    race_id = await _created(client)
    added: list[int] = []

    def rename_while_someone_adds_an_event(race: Race) -> Race:
        added.extend(fake.add_race_day(race_id, events=1).event_ids)  # another writer
        return attrs.evolve(race, name="Renamed")

    await client.races.update(race_id, rename_while_someone_adds_an_event)
    assert fake.races[race_id]["name"] == "Renamed"
    assert set(added) <= set(fake.event_ids(race_id)) and len(fake.event_ids(race_id)) == 3


async def test_update_adding_an_event_to_a_race_with_past_events(fake, client_for) -> None:
    """Re-sending past events needs allow_past_event_creation, which update sets only
    when the change adds no event (an added one could be a past one: the caller's call)."""
    race_id = fake.race_days()[0][0]  # generated: its events started in 2020
    client = client_for(fake.temp_auth())
    new = Event(name="10K", start_time=datetime(2031, 5, 1, 9, 0), event_type="running_race")

    def add(race: Race) -> Race:
        return attrs.evolve(race, events=[*race.events, new])

    before = copy.deepcopy(fake.races[race_id])
    with pytest.raises(InvalidRequestError) as caught:
        await client.races.update(race_id, add)
    assert caught.value.error_code == 227 and fake.races[race_id] == before
    await client.races.update(
        race_id, lambda race: attrs.evolve(add(race), allow_past_event_creation=True)
    )
    events = fake.races[race_id]["events"]
    assert events[: len(before["events"])] == before["events"]
    assert [e["name"] for e in events[len(before["events"]) :]] == ["10K"]


UNKNOWN_CHANGES: list[Any] = [{"nmae": "X"}, {"name": "X", "race_id": 5}, {"description": "X"}]


@pytest.mark.parametrize("changes", UNKNOWN_CHANGES)
async def test_update_with_an_unknown_field_sends_nothing(fake, client_for, changes) -> None:
    race_id = fake.race_days()[0][0]
    before = copy.deepcopy(fake.races[race_id])
    with pytest.raises(ValidationError) as caught:
        await client_for(fake.temp_auth()).races.update(race_id, changes)
    assert caught.value.field.startswith("changes.")
    assert "unknown field of Race" in caught.value.problem
    assert fake.request_counts["get-race"] == 0 and fake.request_counts["race"] == 0
    assert fake.races[race_id] == before


async def test_update_refusals_after_the_read_send_no_edit(fake, client_for) -> None:
    race_id = fake.race_days()[0][0]
    before = copy.deepcopy(fake.races[race_id])
    client = client_for(fake.temp_auth())
    refusals: list[tuple[Any, str]] = [
        ({"draft_race": "maybe"}, "draft_race"),  # the model's own check
        ({"url_string": "NewUrl"}, "race.url_string"),  # an edit cannot change it
        (lambda race: {"name": "not a Race"}, "changes"),
        ("name=X", "changes"),
    ]
    for changes, field in refusals:
        with pytest.raises(ValidationError) as caught:
            await client.races.update(race_id, changes)
        assert caught.value.field == field, changes
    assert fake.request_counts["race"] == 0 and fake.races[race_id] == before


async def test_update_needs_a_signer_before_reading(fake, client_for, day) -> None:
    client = client_for(fake.temp_auth(), signer=None)
    with pytest.raises(ValidationError) as caught:
        await client.races.update(day[0], {"name": "X"})
    assert caught.value.field == "signer"
    assert fake.request_counts["get-race"] == 0


ANSWER_WITHOUT: dict[str, Any] = {
    "race": {
        "race_id": 7,
        "name": "R",
        "address": {"city": "Moorestown", "state": "NJ"},
        "events": [{"event_id": 1, "name": "5K", "start_time": "6/7/2030 08:30",
                    "event_type": "running_race"}],
    }
}  # fmt: skip


@pytest.fixture
async def bare_answer_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A server whose race answer has neither contact_email (a key not allowed to read
    it) nor race_event_days_id; it records the methods it was sent."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.method)
        return web.json_response(ANSWER_WITHOUT)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/rest", seen
    await runner.cleanup()


def _client(base_url: str) -> Client:
    return Client(
        V2KeyAuth("k", "s"),
        base_url=base_url,
        signer=ProtectedApiSigner("1", "s"),
        retry=RetryPolicy(max_attempts=1),
    )


async def test_update_refuses_to_erase_a_contact_email_it_could_not_read(
    bare_answer_server,
) -> None:
    base_url, seen = bare_answer_server
    async with _client(base_url) as client:
        with pytest.raises(ValidationError) as caught:
            await client.races.update(7, {"name": "New"})
        assert caught.value.field == "contact_email"
        assert seen == ["GET"]  # read, never written
        await client.races.update(7, {"contact_email": "new@example.com"})
        assert seen == ["GET", "GET", "POST"]


async def test_race_days_of_an_answer_without_day_ids_is_a_decode_error(
    bare_answer_server,
) -> None:
    base_url, _ = bare_answer_server
    async with _client(base_url) as client:
        assert (await client.races.get(7)).events[0].race_event_days_id is NOT_GIVEN
        with pytest.raises(ResponseDecodeError) as caught:
            await client.races.race_days(7)
        assert "no event carries a race_event_days_id" in caught.value.reason
        assert caught.value.path == "$.race.events"
        # Expanding such a race is reported like a failed race day, not silently empty.
        walk = client.photos.iter_many([7], on_error="skip")
        assert [p async for p in walk] == []
        assert isinstance(walk.report.failed_races[7], ResponseDecodeError)
