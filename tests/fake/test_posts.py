"""vr-activities and team-types POSTs: examples accepted, numbering, replace semantics."""

from __future__ import annotations

import copy
from typing import Any

from runsignup_async.testing import FakeRunSignup

ACTIVITIES = "/v2/vr-activities.json"


def _team_path(race_id: int) -> str:
    return f"/race/{race_id}/teams/team-types"


def _event(fake: FakeRunSignup, race_id: int) -> dict[str, int]:
    return {"race_id": race_id, "event_id": fake.event_ids(race_id)[0]}


async def test_activities_example_is_accepted_and_numbered(api, fake, day, page_json) -> None:
    example = page_json("post-vr-activities", "An example of the request")
    params = {**_event(fake, day["race_id"]), "registration_id": 77}
    assert await api.post(ACTIVITIES, params, payload=example) == {"tally_split_nums": [1, 2]}
    assert await api.post(ACTIVITIES, params, payload=example) == {"tally_split_nums": [3, 4]}
    other = {**_event(fake, day["race_id"]), "bib_num": 12}
    assert await api.post(ACTIVITIES, other, payload=example) == {"tally_split_nums": [1, 2]}
    assert [p.endpoint for p in fake.processed_posts] == ["vr-activities"] * 3
    assert fake.processed_posts[0].payload == example
    assert fake.processed_posts[0].params["registration_id"] == "77"


async def test_activities_accept_every_listed_mode(api, fake, day) -> None:
    payload = {"activities": [{"tally_split_date": "2020-07-25"}]}
    for mode in ("api", "tmp", "v2", "sp"):
        body = await api.post(ACTIVITIES, _event(fake, day["race_id"]), payload=payload, mode=mode)
        assert "tally_split_nums" in body, mode
    refused = await api.post(
        ACTIVITIES, _event(fake, day["race_id"]), payload=payload, mode="bearer"
    )
    assert refused["error"]["error_code"] == 6


async def test_activities_bad_input(api, fake, day) -> None:
    params = _event(fake, day["race_id"])
    good = {"activities": [{"tally_split_date": "2020-07-25"}]}
    cases: list[tuple[dict[str, Any], dict[str, Any], int]] = [
        ({}, {"request": "{not json", "request_format": "json"}, 3),
        # xml and csv are documented request formats the fake does not read: code 10
        ({}, {"request": '{"activities": []}', "request_format": "xml"}, 10),
        ({}, {"request": '{"activities": []}', "request_format": "csv"}, 10),
        ({}, {"request": '{"activities": []}'}, 10),  # request_format left at its xml default
        ({}, {"request": '{"activities": []}', "request_format": "yaml"}, 3),
        ({}, {"request_format": "json"}, 3),  # no request field
        ({}, {"request": '{"activity": []}', "request_format": "json"}, 3),
        ({}, {"request": '{"activities": [{"tally_split_date": "25/07/2020"}]}',
              "request_format": "json"}, 9),
        ({"event_id": 1}, {}, 15),
        ({"race_id": 1}, {}, 15),
        ({"event_id": "abc"}, {}, 3),
        ({"bib_number": 4}, {}, 3),
    ]  # fmt: skip
    for extra, form, code in cases:
        payload = None if form else good
        body = await api.post(ACTIVITIES, {**params, **extra}, form=form, payload=payload)
        assert body["error"]["error_code"] == code, (extra, form)
    assert fake.processed_posts == []


async def test_get_on_a_post_endpoint_is_code_2(api, fake, day) -> None:
    assert (await api.get(ACTIVITIES, _event(fake, day["race_id"])))["error"]["error_code"] == 2


async def test_team_types_example_create_then_edit(api, fake, day, page_json) -> None:
    example = page_json("manage-race-team-types", "For JSON requests")
    race_id, days_id = day["race_id"], day["race_event_days_id"]
    create = copy.deepcopy(example)
    # 1123 and the event ids exist on the page's server only
    del create["race_team_types"][0]["team_type_id"]
    create["race_team_types"][0]["valid_event_ids"] = fake.event_ids(race_id)
    body = await api.post(_team_path(race_id), {"race_event_days_id": days_id}, payload=create)
    (type_id,) = body["team_type_ids"]
    edit = copy.deepcopy(create)
    edit["race_team_types"][0]["team_type_id"] = type_id
    # race_event_days_id is accepted in the form as well as the query.
    body = await api.post(
        _team_path(race_id), {}, form={"race_event_days_id": str(days_id)}, payload=edit
    )
    assert body == {"team_type_ids": [type_id]}
    assert fake.team_types[(race_id, days_id)] == edit["race_team_types"]


async def test_team_types_replace_the_set(api, fake, day) -> None:
    race_id, params = day["race_id"], {"race_event_days_id": day["race_event_days_id"]}
    path = _team_path(race_id)
    three = {"race_team_types": [{"team_type": n} for n in ("A", "B", "C")]}
    ids = (await api.post(path, params, payload=three, mode="api"))["team_type_ids"]
    assert len(set(ids)) == 3
    keep = {"race_team_types": [
        {"team_type_id": ids[2], "team_type": "C2"}, {"team_type": "D"},
    ]}  # fmt: skip
    new_ids = (await api.post(path, params, payload=keep, mode="bearer"))["team_type_ids"]
    assert new_ids[0] == ids[2] and new_ids[1] not in ids
    stored = fake.team_types[(race_id, params["race_event_days_id"])]
    assert [t["team_type"] for t in stored] == ["C2", "D"]
    # A deleted type cannot be edited any more.
    gone = {"race_team_types": [{"team_type_id": ids[0], "team_type": "A"}]}
    assert (await api.post(path, params, payload=gone, mode="sp"))["error"]["error_code"] == 15
    empty = await api.post(path, params, payload={"race_team_types": []})
    assert empty == {"team_type_ids": []}
    assert fake.team_types[(race_id, params["race_event_days_id"])] == []


async def test_team_types_alternative_response_shape(api_for) -> None:
    async with FakeRunSignup(seed=4, team_types_response="race_team_types") as fake:
        race_id, days_id = fake.race_days()[0]
        payload = {"race_team_types": [{"team_type": "A"}, {"team_type": "B"}]}
        body = await api_for(fake).post(
            _team_path(race_id), {"race_event_days_id": days_id}, payload=payload
        )
        assert [set(t) for t in body["race_team_types"]] == [{"team_type_id"}] * 2


async def test_team_types_bad_input(api, fake, day) -> None:
    race_id, days_id = day["race_id"], day["race_event_days_id"]
    good = {"race_team_types": [{"team_type": "A"}]}
    assert (await api.post(_team_path(race_id), {}, payload=good))["error"]["error_code"] == 3
    other_race = fake.race_days()[1][0]
    wrong_day = await api.post(
        _team_path(other_race), {"race_event_days_id": days_id}, payload=good
    )
    assert wrong_day["error"]["error_code"] == 15
    params = {"race_event_days_id": days_id}
    nameless = {"race_team_types": [{"min_members": 1}]}
    assert (await api.post(_team_path(race_id), params, payload=nameless))["error"][
        "error_code"
    ] == 3
    mismatch = await api.post(_team_path(race_id), {**params, "race_id": 1}, payload=good)
    assert mismatch["error"]["error_code"] == 3
    assert (await api.post("/race/abc/teams/team-types", params, payload=good))["error"][
        "error_code"
    ] == 3
    assert (await api.post(_team_path(race_id), params, payload=good, mode="tmp"))["error"][
        "error_code"
    ] == 6
    assert fake.processed_posts == []
