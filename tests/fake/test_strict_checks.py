"""The fake refuses what the pages' types refuse, raw (plain aiohttp, not the SDK).

Each bad request answers the API's envelope with HTTP 200, names the field, and stores
nothing; the good request beside it succeeds.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from runsignup_async.auth import protected_api_signature
from runsignup_async.testing import FakeRunSignup

ACTIVITIES = "/v2/vr-activities.json"
GOOD_ACTIVITY: dict[str, Any] = {
    "tally_split_date": "2020-07-25",
    "result_split_tally_value": 3,
    "split_elevation_gain_in_mm": 1002000,
    "tally_split_comment": "Running at the park",
    "submitted_time_in_ms": 1_800_000,  # 10 minutes a unit
    "virtual_race_activity_type_id": 6,
    "validated_pace": "F",
}


async def _refused(api: Any, path: str, params: dict[str, Any], payload: Any, **kw: Any) -> Any:
    status, body, _ = await api.call("POST", path, params, payload=payload, **kw)
    assert status == 200
    assert set(body) == {"error"}, body
    return body["error"]


# --- team types ------------------------------------------------------------------------


def _team(**fields: Any) -> dict[str, Any]:
    return {"race_team_types": [{"team_type": "Corporate", **fields}]}


@pytest.mark.parametrize(
    ("fields", "code", "named"),
    [
        ({"allow_coed_team": "yes"}, 3, "allow_coed_team"),
        ({"allow_coed_team": "t"}, 3, "allow_coed_team"),
        ({"require_gender_selection": True}, 3, "require_gender_selection"),
        ({"allow_all_male_team": False}, 3, "allow_all_male_team"),
        ({"allow_nonbinary_in_male_or_female": None}, 3, "allow_nonbinary_in_male_or_female"),
        ({"valid_event_ids": ["a", "b"]}, 3, "valid_event_ids"),
        ({"valid_event_ids": "1,2"}, 3, "valid_event_ids"),
        ({"min_members": -1}, 3, "min_members"),
        ({"min_members": "2"}, 3, "min_members"),
        ({"max_members": 1.5}, 3, "max_members"),
        ({"max_num_teams": True}, 3, "max_num_teams"),
        ({"team_type_id": "12"}, 3, "team_type_id"),
        ({"team_type_desc": 5}, 3, "team_type_desc"),
        ({"team_type": 5}, 3, "team_type"),
        ({"min_female_members": 3, "max_female_members": 2}, 3, "min_female_members"),
        ({"valid_event_ids": [1]}, 15, "valid_event_ids"),
        ({"team_type_id": 1}, 15, "team_type_id"),
    ],
)
async def test_team_type_fields_are_typed(api, fake, day, fields, code, named) -> None:
    race_id, days_id = day["race_id"], day["race_event_days_id"]
    before = copy.deepcopy(fake.team_types)
    params = {"race_event_days_id": days_id}
    error = await _refused(api, f"/race/{race_id}/teams/team-types", params, _team(**fields))
    assert error["error_code"] == code
    assert named in error["error_msg"]
    assert fake.team_types == before and fake.processed_posts == []


async def test_team_type_with_the_pages_types_is_stored_as_sent(api, fake, day) -> None:
    race_id, days_id = day["race_id"], day["race_event_days_id"]
    fields = {
        "require_gender_selection": "T",
        "allow_coed_team": "F",
        "valid_event_ids": fake.event_ids(race_id),
        "min_members": 2,
        "max_members": None,
        "max_num_teams": 0,
    }
    body = await api.post(
        f"/race/{race_id}/teams/team-types",
        {"race_event_days_id": days_id},
        payload=_team(**fields),
    )
    (type_id,) = body["team_type_ids"]
    (stored,) = fake.team_types[(race_id, days_id)]
    assert stored == {"team_type": "Corporate", **fields, "team_type_id": type_id}


# --- activities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code", "named"),
    [
        ({"submitted_time_in_ms": "1800000"}, 3, "submitted_time_in_ms"),
        ({"submitted_time_in_ms": 1.5e6}, 3, "submitted_time_in_ms"),
        ({"result_split_tally_value": "3"}, 3, "result_split_tally_value"),
        ({"result_split_tally_value": True}, 3, "result_split_tally_value"),
        ({"result_split_tally_value": -1}, 3, "result_split_tally_value"),
        ({"split_elevation_gain_in_mm": "high"}, 3, "split_elevation_gain_in_mm"),
        ({"virtual_race_activity_type_id": 0}, 3, "virtual_race_activity_type_id"),
        ({"tally_split_comment": 7}, 3, "tally_split_comment"),
        ({"validated_pace": "Y"}, 3, "validated_pace"),
        ({"validated_pace": False}, 3, "validated_pace"),
        ({"tally_split_date": None}, 3, "tally_split_date"),
        ({"tally_split_date": "2021-02-29"}, 9, "tally_split_date"),
        ({"tally_split_date": "2020-7-25"}, 9, "tally_split_date"),
        ({"tally_split_date": "20200725"}, 9, "tally_split_date"),
        ({"tally_split_date": "2020-07-25 08:00:00"}, 9, "tally_split_date"),
    ],
)
async def test_activity_fields_are_typed(api, fake, day, change, code, named) -> None:
    activity = {**GOOD_ACTIVITY, **change}
    if change.get("tally_split_date", "") is None:
        del activity["tally_split_date"]  # missing altogether
    params = {"race_id": day["race_id"], "event_id": fake.event_ids(day["race_id"])[0]}
    payload = {"activities": [GOOD_ACTIVITY, activity]}
    error = await _refused(api, ACTIVITIES, params, payload)
    assert error["error_code"] == code
    assert f"activities[1].{named}" in error["error_msg"]
    assert fake.activities == {} and fake.processed_posts == []


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (1, 60_000),  # a minute a unit: faster than any world record
        (10, 1_000_000),  # 100 s a unit
        (1, 3 * 3_600_000),  # three hours a unit: not moving
        (0, 60_000),  # a time and no distance: an endless pace
        (2, 0),  # a distance in no time
    ],
)
async def test_pace_outside_the_range_is_refused_when_asked(api, fake, day, value, ms) -> None:
    params = {"race_id": day["race_id"], "event_id": fake.event_ids(day["race_id"])[0]}
    activity = {**GOOD_ACTIVITY, "result_split_tally_value": value, "submitted_time_in_ms": ms}
    error = await _refused(api, ACTIVITIES, params, {"activities": [activity]})
    assert error["error_code"] == 3
    assert "activities[0].submitted_time_in_ms" in error["error_msg"]
    assert "pace" in error["error_msg"]
    assert fake.activities == {}
    # Validated already ("T", the default): the pace is not checked.
    for flag in ({"validated_pace": "T"}, {}):
        unchecked = {**activity, **flag}
        if not flag:
            del unchecked["validated_pace"]
        body = await api.post(ACTIVITIES, params, payload={"activities": [unchecked]})
        assert "tally_split_nums" in body, flag


@pytest.mark.parametrize(
    ("value", "ms"),
    [(1, 121_000), (1, 7_199_000), (3, 1_800_000), (2, 12_345_562)],  # the page's "Night walk"
)
async def test_pace_inside_the_range_is_accepted(api, fake, day, value, ms) -> None:
    params = {"race_id": day["race_id"], "event_id": fake.event_ids(day["race_id"])[0]}
    activity = {**GOOD_ACTIVITY, "result_split_tally_value": value, "submitted_time_in_ms": ms}
    assert await api.post(ACTIVITIES, params, payload={"activities": [activity]}) == {
        "tally_split_nums": [1]
    }
    (key,) = fake.activities
    assert fake.activities[key] == [activity]


# --- race ------------------------------------------------------------------------------


def _future_race(url: str = "StrictRace") -> dict[str, Any]:
    return {
        "name": "Strict Race",
        "url_string": url,
        "draft_race": "F",
        "address": {"city": "Moorestown", "state": "NJ", "country_code": "US"},
        "timezone": "America/New_York",
        "events": [
            {
                "name": "8K",
                "start_time": "2031-06-07 08:30:00",
                "end_time": "2031-06-07 11:00:00",
                "event_type": "running_race",
                "distance": 8,
                "distance_units": "K",
                "age_calc_base_date": "2031-12-31",
            }
        ],
    }


class Signed:
    def __init__(self, api: Any) -> None:
        self.api = api
        self.signer = api.fake.signer()

    async def __call__(self, payload: Any, **params: Any) -> Any:
        params["protected_api_signature"] = self.signer.sign()
        return await self.api.call("POST", "/race", params, payload=payload, mode="v2")


@pytest.fixture
def signed(api) -> Signed:
    return Signed(api)


def _set(path: str, value: Any) -> Any:
    def change(race: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = race
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("draft_race", True, 222),
        ("draft_race", "N", 222),
        ("allow_past_event_creation", "Y", 3),
        ("allow_past_event_creation", True, 3),
        ("preserve_missing_events", "yes", 3),
        ("partner_id", "abc", 3),
        ("race_event_days_id", "7", 3),
        ("timezone", "Mars/Olympus_Mons", 3),
        ("contact_email", ["a@example.com"], 3),
        ("address", "Moorestown, NJ", 3),
        ("address.zipcode", 8057, 3),
        ("events", {"name": "8K"}, 3),
        ("events.0.name", 8, 3),
        ("events.0.event_id", "12", 3),
        ("events.0.distance", "8", 3),
        ("events.0.distance_units", 1, 3),
        ("events.0.start_time", "2031-02-30 08:30:00", 9),
        ("events.0.start_time", "2031-06-07T08:30:00", 9),
        ("events.0.start_time", "2031-06-07 25:30:00", 9),
        ("events.0.end_time", "2031-06-07", 9),
        ("events.0.age_calc_base_date", "2031-13-01", 9),
        ("events.0.age_calc_base_date", "12/31/2031", 9),
    ],
)
async def test_race_fields_are_typed(signed, fake, path, value, code) -> None:
    races = len(fake.races)
    race = _future_race()
    _set(path, value)(race)
    status, body, _ = await signed(race)
    assert status == 200
    assert body["error"]["error_code"] == code, body
    if code != 222:
        assert path.split(".")[-1] in body["error"]["error_msg"]
    assert len(fake.races) == races and fake.processed_posts == []


async def test_future_race_with_the_pages_types_is_stored_as_sent(signed, fake) -> None:
    race = _future_race()
    _, body, _ = await signed(race)
    stored = fake.races[body["race"]["race_id"]]
    assert stored["draft_race"] == "F"
    assert stored["events"][0]["start_time"] == "2031-06-07 08:30:00"
    assert stored["events"][0]["age_calc_base_date"] == "2031-12-31"


def _in_the_past(race: dict[str, Any]) -> None:
    race["events"][0]["start_time"] = "2020-06-07 08:30:00"
    race["events"][0]["end_time"] = None


async def test_past_event_needs_allow_past_event_creation(signed, fake) -> None:
    race = _future_race("PastRace")
    _in_the_past(race)
    for flag in (None, "F"):
        if flag is not None:
            race["allow_past_event_creation"] = flag
        _, body, _ = await signed(race)
        assert body["error"]["error_code"] == 227, flag
        assert "allow_past_event_creation" in body["error"]["error_msg"]
    assert fake.processed_posts == []
    race["allow_past_event_creation"] = "T"
    _, body, _ = await signed(race)
    assert fake.races[body["race"]["race_id"]]["events"][0]["start_time"].startswith("2020")


async def test_editing_into_the_past_needs_the_flag_and_changes_nothing(signed, fake) -> None:
    _, created, _ = await signed(_future_race("EditPast"))
    race_id = created["race"]["race_id"]
    before = copy.deepcopy(fake.races[race_id])
    edit = _future_race()
    del edit["url_string"]
    edit["events"][0]["event_id"] = created["race"]["events"][0]["event_id"]
    _in_the_past(edit)
    _, body, _ = await signed(edit, race_id=race_id)
    assert body["error"]["error_code"] == 227
    assert fake.races[race_id] == before and len(fake.processed_posts) == 1


async def test_past_is_judged_in_the_races_timezone(signed) -> None:
    # Now on Kiritimati (UTC+14) is later than anywhere else: an event set "now" there,
    # read as a time in Pago Pago (UTC-11), is still a day ahead.
    kiritimati_now = time.gmtime(time.time() + 14 * 3600 - 60)
    race = _future_race("Timezones")
    race["events"][0]["start_time"] = time.strftime("%Y-%m-%d %H:%M:%S", kiritimati_now)
    race["events"][0]["end_time"] = None
    race["timezone"] = "Pacific/Kiritimati"
    _, body, _ = await signed(race)
    assert body["error"]["error_code"] == 227
    race["timezone"] = "Pacific/Pago_Pago"
    _, body, _ = await signed(race)
    assert "race" in body


async def test_duplicate_url_string_is_216_and_stores_nothing(signed, fake) -> None:
    _, first, _ = await signed(_future_race("Taken"))
    races = len(fake.races)
    _, again, _ = await signed(_future_race("TAKEN"))
    assert again["error"]["error_code"] == 216
    assert len(fake.races) == races and len(fake.processed_posts) == 1
    assert "race" in first


async def test_bad_signature_is_6_with_every_mode(api, fake) -> None:
    c = fake.credentials
    wrong = protected_api_signature(c.signer_id, "wrong", int(time.time()), "Abcd1234")
    for mode in ("api", "tmp", "v2", "sp", "bearer", "none"):
        params = {"protected_api_signature": wrong}
        error = await _refused(api, "/race", params, _future_race(), mode=mode)
        assert error["error_code"] == 6, mode
    assert fake.processed_posts == []


# --- formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
async def test_csv_and_unknown_formats_are_error_10_in_xml(api, fake, day, fmt) -> None:
    for method, path, params in [
        ("GET", "/v2/photos/get-race-photo-albums.json", day),
        ("GET", "/v2/photos/get-race-photos.json", day),
        ("POST", ACTIVITIES, {"race_id": day["race_id"], "event_id": 1}),
    ]:
        status, body, headers = await api.call(method, path, params, fmt=fmt)
        assert status == 200 and headers["Content-Type"].startswith("application/xml")
        assert "<error_code>10</error_code>" in body, (path, body)
        assert fmt in body
    assert fake.processed_posts == []


async def test_xml_is_answered_as_xml(api_for) -> None:
    async with FakeRunSignup(seed=1) as fake:
        race_id, days_id = fake.race_days()[0]
        day = {"race_id": race_id, "race_event_days_id": days_id}
        _, body, _ = await api_for(fake).call(
            "GET", "/v2/photos/get-race-photo-albums.json", day, fmt="xml"
        )
        assert body.startswith("<?xml") and "<albums>" in body
