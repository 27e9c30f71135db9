"""Every client-side validation rule: a ``ValidationError`` naming the field, nothing sent.

Each case runs against a started ``FakeRunSignup`` with credentials it would accept, so a
request that slipped through would be counted (``fake.request_counts``) and, for a POST,
applied (``fake.processed_posts``). Models validate on construction; those cases build the
model inside the call, so the rule is shown to stop the endpoint call as a whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from runsignup_async import Client, ValidationError
from runsignup_async.models import NOT_GIVEN, Activity, Address, Event, Race, TeamType
from runsignup_async.testing import FakeRunSignup

Ids = dict[str, int]
Call = Callable[[Client, Ids], Awaitable[Any]]


def event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "name": "5K",
        "start_time": "2030-06-07 08:30:00",
        "event_type": "running_race",
        **changes,
    }
    return Event(**fields)


def event_json(**changes: Any) -> dict[str, Any]:
    """An event in the API's JSON shape: a Race builds it, so errors carry the path."""
    return {"name": "5K", "start_time": "2030-06-07 08:30:00", "event_type": "running_race",
            **changes}  # fmt: skip


def address(**changes: Any) -> Address:
    return Address(**{"city": "Moorestown", "state": "NJ", **changes})


def race(**changes: Any) -> Race:
    fields: dict[str, Any] = {
        "name": "Race Name",
        "url_string": "ValidRace",
        "address": address(),
        "events": [event()],
        **changes,
    }
    return Race(**fields)


def activity(**changes: Any) -> Activity:
    return Activity(**{"tally_split_date": "2020-07-25", "result_split_tally_value": 1, **changes})


def albums(**changes: Any) -> Call:
    return lambda c, i: c.photos.get_albums(
        **{"race_id": i["race"], "race_event_days_id": i["day"], **changes}
    )


def photos(**changes: Any) -> Call:
    return lambda c, i: c.photos.get_photos(
        **{"race_id": i["race"], "race_event_days_id": i["day"], **changes}
    )


def submit(**changes: Any) -> Call:
    return lambda c, i: c.activities.submit(
        **{"race_id": i["race"], "event_id": i["event"], "activities": [activity()], **changes}
    )


def submit_built(build: Callable[[], Activity]) -> Call:
    return lambda c, i: c.activities.submit(
        race_id=i["race"], event_id=i["event"], activities=[build()]
    )


def team_types(**changes: Any) -> Call:
    return lambda c, i: c.teams.set_team_types(
        **{
            "race_id": i["race"],
            "race_event_days_id": i["day"],
            "team_types": [TeamType(team_type="A")],
            **changes,
        }
    )


def team_types_built(build: Callable[[], TeamType]) -> Call:
    return lambda c, i: c.teams.set_team_types(
        race_id=i["race"], race_event_days_id=i["day"], team_types=[build()]
    )


def create(build: Callable[[], Race]) -> Call:
    return lambda c, i: c.races.create(build())


def edit(build: Callable[[], Race], race_id: int | None = None) -> Call:
    return lambda c, i: c.races.edit(
        race_id=i["race"] if race_id is None else race_id, race=build()
    )


NAIVE = datetime(2020, 7, 1)
AWARE = datetime(2030, 6, 7, 8, 30, tzinfo=timezone.utc)

# (id, auth mode, call, the field the ValidationError names)
CASES: list[tuple[str, str, Call, str]] = [
    # ids are positive whole numbers
    *[
        (f"albums-{field}={value!r}", "v2", albums(**{field: value}), field)
        for field in ("race_id", "race_event_days_id")
        for value in (0, -1, True, "5", 1.0)
    ],
    ("photos-race_id=0", "v2", photos(race_id=0), "race_id"),
    ("photos-race_event_days_id=-3", "v2", photos(race_event_days_id=-3), "race_event_days_id"),
    ("photos-album_id=0", "v2", photos(album_id=0), "album_id"),
    ("photos-album_id=participant-uploads", "v2", photos(album_id="reg-6827"), "album_id"),
    *[
        (f"submit-{field}=0", "v2", submit(**{field: 0}), field)
        for field in ("race_id", "event_id", "registration_id", "bib_num")
    ],
    ("submit-event_id=None", "v2", submit(event_id=None), "event_id"),
    ("team-types-race_id=0", "v2", team_types(race_id=0), "race_id"),
    ("team-types-race_event_days_id=False", "v2", team_types(race_event_days_id=False),
     "race_event_days_id"),
    ("edit-race_id=0", "tmp", edit(lambda: race(url_string=NOT_GIVEN), race_id=0), "race_id"),
    ("activity-virtual_race_activity_type_id=0", "v2",
     submit_built(lambda: activity(virtual_race_activity_type_id=0)),
     "virtual_race_activity_type_id"),
    ("team-type-valid_event_ids", "v2",
     team_types_built(lambda: TeamType(team_type="A", valid_event_ids=[1, 0])),
     "valid_event_ids[1]"),
    ("event-event_id=-1", "tmp",
     edit(lambda: race(url_string=NOT_GIVEN, events=[event_json(event_id=-1)])),
     "events[0].event_id"),
    # page size and page
    ("photos-num=0", "v2", photos(num=0), "num"),
    ("photos-num=1001", "v2", photos(num=1001), "num"),
    ("photos-num=str", "v2", photos(num="100"), "num"),
    ("photos-page=0", "v2", photos(page=0), "page"),
    ("photos-page=float", "v2", photos(page=1.5), "page"),
    ("iter_photos-num=0", "v2",
     lambda c, i: c.photos.iter_photos(race_id=i["race"], race_event_days_id=i["day"], num=0),
     "num"),
    ("iter_photos-prefetch=17", "v2",
     lambda c, i: c.photos.iter_photos(
         race_id=i["race"], race_event_days_id=i["day"], prefetch=17),
     "prefetch"),
    ("iter_many-num=0", "v2",
     lambda c, i: c.photos.iter_many([(i["race"], i["day"])], num=0).__anext__(),
     "num"),
    ("photos-include_participant_uploads=T", "v2", photos(include_participant_uploads="T"),
     "include_participant_uploads"),
    # timestamps, dates and datetimes
    ("photos-uploaded_since-naive", "v2", photos(uploaded_since=NAIVE), "uploaded_since"),
    ("photos-uploaded_since-negative", "v2", photos(uploaded_since=-1), "uploaded_since"),
    ("photos-uploaded_since-text", "v2", photos(uploaded_since="2020-07-01"), "uploaded_since"),
    ("activity-date-format", "v2", submit_built(lambda: activity(tally_split_date="25/07/2020")),
     "tally_split_date"),
    ("activity-date-no-such-day", "v2",
     submit_built(lambda: activity(tally_split_date="2020-02-30")), "tally_split_date"),
    ("activity-date-is-datetime", "v2", submit_built(lambda: activity(tally_split_date=NAIVE)),
     "tally_split_date"),
    ("event-start_time-format", "tmp",
     create(lambda: race(events=[event_json(start_time="2030-06-07T08:30:00")])),
     "events[0].start_time"),
    ("event-start_time-12h", "tmp",
     create(lambda: race(events=[event_json(start_time="2030-06-07 8:30 PM")])),
     "events[0].start_time"),
    ("event-start_time-aware", "tmp", create(lambda: race(events=[event_json(start_time=AWARE)])),
     "events[0].start_time"),
    ("event-end_time-no-such-time", "tmp",
     create(lambda: race(events=[event_json(), event_json(end_time="2030-06-07 25:00:00")])),
     "events[1].end_time"),
    ("event-age_calc_base_date", "tmp",
     create(lambda: race(events=[event_json(age_calc_base_date="12/31/2030")])),
     "events[0].age_calc_base_date"),
    # the race itself
    ("race-name-empty", "tmp", create(lambda: race(name=" ")), "name"),
    ("race-url_string-missing-on-create", "tmp", create(lambda: race(url_string=NOT_GIVEN)),
     "race.url_string"),
    ("race-url_string-empty-on-create", "tmp", create(lambda: race(url_string="")),
     "race.url_string"),
    ("race-url_string-sent-on-edit", "tmp", edit(lambda: race(url_string="ValidRace")),
     "race.url_string"),
    ("race-city-missing", "tmp",
     create(lambda: race(address={"state": "NJ"})), "address.city"),
    ("race-city-empty", "tmp",
     create(lambda: race(address={"city": "", "state": "NJ"})), "address.city"),
    ("race-state-or-country", "tmp",
     create(lambda: race(address=Address(city="Moorestown"))), "state"),
    ("race-state-or-country-nested", "tmp",
     create(lambda: race(address={"city": "Moorestown", "state": ""})), "address.state"),
    ("race-no-events", "tmp", create(lambda: race(events=[])), "events"),
    ("race-event_type-unknown", "tmp",
     create(lambda: race(events=[event_json(event_type="running")])), "events[0].event_type"),
    ("race-distance_units-unknown", "tmp",
     create(lambda: race(events=[event_json(distance=5, distance_units="km")])),
     "events[0].distance_units"),
    ("race-distance-negative", "tmp",
     create(lambda: race(events=[event_json(distance=-5)])), "events[0].distance"),
    ("race-timezone-unknown", "tmp", create(lambda: race(timezone="America/Moorestown")),
     "timezone"),
    ("race-timezone-abbreviation", "tmp", create(lambda: race(timezone="EST5EDTX")),
     "timezone"),
    ("race-draft_race-flag", "tmp", create(lambda: race(draft_race="yes")), "draft_race"),
    ("race-not-a-race", "tmp", lambda c, i: c.races.create({"name": "x"}), "race"),  # type: ignore[arg-type]
    # team types
    *[
        (f"team-type-{low}>{high}", "v2",
         team_types_built(lambda low=low, high=high: TeamType(team_type="A", **{low: 3, high: 2})),
         high)
        for low, high in (
            ("min_members", "max_members"),
            ("min_male_members", "max_male_members"),
            ("min_female_members", "max_female_members"),
        )
    ],
    ("team-type-negative", "v2",
     team_types_built(lambda: TeamType(team_type="A", min_members=-1)), "min_members"),
    ("team-type-name-empty", "v2", team_types_built(lambda: TeamType(team_type="")), "team_type"),
    ("team-types-empty", "v2", team_types(team_types=[]), "team_types"),
    ("team-types-not-a-list", "v2", team_types(team_types=TeamType(team_type="A")), "team_types"),
    ("team-types-item", "v2", team_types(team_types=[{"team_type": "A"}]), "team_types[0]"),
    # activities
    ("activity-value-negative", "v2",
     submit_built(lambda: activity(result_split_tally_value=-1)), "result_split_tally_value"),
    ("activity-value-nan", "v2",
     submit_built(lambda: activity(result_split_tally_value=float("nan"))),
     "result_split_tally_value"),
    ("activity-time-negative", "v2",
     submit_built(lambda: activity(submitted_time_in_ms=-5)), "submitted_time_in_ms"),
    ("activity-time-negative-timedelta", "v2",
     submit_built(lambda: activity(submitted_time_in_ms=timedelta(seconds=-1))),
     "submitted_time_in_ms"),
    ("activity-elevation-negative", "v2",
     submit_built(lambda: activity(split_elevation_gain_in_mm=-1)),
     "split_elevation_gain_in_mm"),
    ("activity-validated_pace", "v2", submit_built(lambda: activity(validated_pace="N")),
     "validated_pace"),
    ("activities-empty", "v2", submit(activities=[]), "activities"),
    ("activities-not-a-list", "v2", submit(activities=activity()), "activities"),
    ("activities-item", "v2", submit(activities=[activity(), {"tally_split_date": "x"}]),
     "activities[1]"),
    # auth modes an endpoint's page does not list
    ("albums-BearerAuth", "bearer", albums(), "auth"),
    ("albums-TempKeyAuth", "tmp", albums(), "auth"),
    ("albums-no-credentials", "none", albums(), "auth"),
    ("photos-ApiKeyAuth", "api", photos(), "auth"),
    ("photos-SuperPartnerAuth", "sp", photos(), "auth"),
    ("iter_photos-ApiKeyAuth", "api",
     lambda c, i: c.photos.iter_photos(race_id=i["race"], race_event_days_id=i["day"]), "auth"),
    ("submit-BearerAuth", "bearer", submit(), "auth"),
    ("team-types-TempKeyAuth", "tmp", team_types(), "auth"),
    ("team-types-no-credentials", "none", team_types(), "auth"),
    # protected calls need a signer
    ("create-no-signer", "tmp-unsigned", create(race), "signer"),
    ("edit-no-signer", "tmp-unsigned", edit(lambda: race(url_string=NOT_GIVEN)), "signer"),
    ("create-signer-wrong-type", "tmp",
     lambda c, i: c.races.create(race(), signer="4242.secret"),  # type: ignore[arg-type]
     "signer"),
]  # fmt: skip


def _client(fake: FakeRunSignup, client_for: Callable[..., Client], mode: str) -> Client:
    auths = {
        "api": fake.api_key_auth,
        "tmp": fake.temp_auth,
        "tmp-unsigned": fake.temp_auth,
        "v2": fake.v2_auth,
        "sp": fake.super_partner_auth,
        "bearer": fake.bearer_auth,
        "none": lambda: None,
    }
    if mode == "tmp-unsigned":
        return client_for(auths[mode](), signer=None)
    return client_for(auths[mode]())


@pytest.mark.parametrize(("mode", "call", "field"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
async def test_rule_names_the_field_and_sends_nothing(
    fake: FakeRunSignup, client_for: Callable[..., Client], mode: str, call: Call, field: str
) -> None:
    race_id, days_id = fake.race_days()[0]
    ids = {"race": race_id, "day": days_id, "event": fake.event_ids(race_id)[0]}
    client = _client(fake, client_for, mode)
    with pytest.raises(ValidationError) as caught:
        await call(client, ids)
    assert caught.value.field == field, caught.value
    assert field in str(caught.value)
    assert sum(fake.request_counts.values()) == 0
    assert fake.processed_posts == []


async def test_the_valid_baselines_do_send(
    fake: FakeRunSignup, client_for: Callable[..., Client]
) -> None:
    """The builders above are valid as given: each case fails for its own change only."""
    race_id, days_id = fake.race_days()[0]
    ids = {"race": race_id, "day": days_id, "event": fake.event_ids(race_id)[0]}
    v2, tmp = client_for(fake.v2_auth()), client_for(fake.temp_auth())
    assert await albums()(v2, ids)
    assert await photos(uploaded_since=AWARE - timedelta(days=10_000))(v2, ids) is not None
    assert await submit(registration_id=1)(v2, ids) == [1]
    assert await team_types()(v2, ids)
    created = await create(race)(tmp, ids)
    assert fake.races[created.race_id]["url_string"] == "ValidRace"
    edited = await edit(lambda: race(url_string=NOT_GIVEN, name="Edited"))(
        tmp, {**ids, "race": created.race_id}
    )
    assert fake.races[edited.race_id]["name"] == "Edited"
    zero = attrs.evolve(activity(), result_split_tally_value=0, submitted_time_in_ms=0)
    assert await submit(activities=[zero])(v2, ids) == [1]
    assert await team_types(team_types=[TeamType(team_type="A", min_members=2, max_members=2)])(
        v2, ids
    )
    assert await submit_built(lambda: activity(tally_split_date=date(2020, 2, 29)))(v2, ids)
    assert len(fake.processed_posts) == 7
