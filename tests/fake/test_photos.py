"""The photo endpoints: shapes as in the pages, paging, filters, ordering, bad input."""

from __future__ import annotations

import json
from typing import Any

from runsignup_async.testing import FakeRunSignup

ALBUMS = "/v2/photos/get-race-photo-albums.json"
PHOTOS = "/v2/photos/get-race-photos.json"


def _shape(value: Any) -> Any:
    """Keys and value types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


async def test_albums_match_the_page_example(api, day, page_json) -> None:
    example = page_json("get-race-photo-albums", "Use this API")
    status, body, headers = await api.call("GET", ALBUMS, day, mode="api")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    albums = body["albums"]
    assert [_shape(a) for a in albums[:-1]] == [_shape(example["albums"][0])] * (len(albums) - 1)
    assert _shape(albums[-1]) == _shape(example["albums"][2])
    reg = albums[-1]
    assert reg["album_id"] == f"reg-{day['race_event_days_id']}"
    assert reg["album_name"] == "All Participant Uploads" and "last_modified_ts" not in reg
    assert sum(a["num_photos"] for a in albums) == 25


async def test_urls_are_escaped_like_the_real_api(api, day, session) -> None:
    params, headers = api.auth("v2")
    url = api.fake.base_url + PHOTOS
    query = {**params, **{k: str(v) for k, v in day.items()}, "format": "json"}
    async with session.get(url, params=query, headers=headers) as response:
        raw = await response.text()
    assert "http:\\/\\/127.0.0.1" in raw and "http://" not in raw
    assert json.loads(raw)["photos"][0]["original"]["image_url"].startswith("http://127.0.0.1")


async def test_albums_accept_v2_key(api, day) -> None:
    assert "albums" in await api.get(ALBUMS, day, mode="v2")


async def test_photos_match_the_page_example(api, day, api_page_text) -> None:
    text = api_page_text("get-race-photos")
    start = text.index("{", text.index("Response Format"))
    example, _ = json.JSONDecoder().raw_decode(text[start:])
    body = await api.get(PHOTOS, day)
    assert len(body["photos"]) == 25
    for photo in body["photos"]:
        expected = _shape(example["photos"][1])
        if isinstance(photo["album_id"], str):  # a participant upload: album "reg-<id>"
            expected["album_id"] = "str"
        if not photo["bibs"]:
            expected["bibs"] = []
        assert _shape(photo) == expected
        assert list(photo) == list(example["photos"][0])
        assert photo["race_event_days_id"] == day["race_event_days_id"]


async def _walk(api, day: dict[str, int], num: int) -> tuple[int, list[dict[str, Any]]]:
    seen = []
    for page in range(1, 10):
        photos = (await api.get(PHOTOS, {**day, "page": page, "num": num}))["photos"]
        if not photos:
            return page, seen
        seen += photos
    raise AssertionError("the listing never ended")


async def test_paging_covers_everything_once_newest_first_and_ends_empty(api, fake, day) -> None:
    page, seen = await _walk(api, day, 10)
    assert page == 4
    ids = [p["photo_id"] for p in seen]
    assert len(set(ids)) == 25
    # The default is the harder order for a client: newest first (new uploads shift pages).
    order = [(p["uploaded_ts"], p["photo_id"]) for p in seen]
    assert order == sorted(order, reverse=True) and order != sorted(order)
    assert ids == [p["photo_id"] for p in fake.photos(**day)]


async def test_photo_id_order_is_the_option(api_for) -> None:
    async with FakeRunSignup(seed=1, photo_order="photo_id") as fake:
        race_id, days_id = fake.race_days()[0]
        day = {"race_id": race_id, "race_event_days_id": days_id}
        _, seen = await _walk(api_for(fake), day, 10)
        ids = [p["photo_id"] for p in seen]
        assert ids == sorted(ids) and len(ids) == 25
        assert ids == [p["photo_id"] for p in fake.photos(race_id, days_id)]


async def test_default_page_size_is_100(fake: FakeRunSignup, api) -> None:
    ids = fake.add_race_day(fake.race_days()[0][0], photos=150)
    day = {"race_id": ids.race_id, "race_event_days_id": ids.race_event_days_id}
    assert len((await api.get(PHOTOS, day))["photos"]) == 100
    assert len((await api.get(PHOTOS, {**day, "page": 2}))["photos"]) == 50


async def test_num_is_capped_at_100_by_default(fake: FakeRunSignup, api) -> None:
    ids = fake.add_race_day(fake.race_days()[0][0], photos=150)
    day = {"race_id": ids.race_id, "race_event_days_id": ids.race_event_days_id, "num": 500}
    assert len((await api.get(PHOTOS, day))["photos"]) == 100
    assert len((await api.get(PHOTOS, {**day, "page": 2}))["photos"]) == 50


async def test_no_cap_is_the_option(api_for) -> None:
    async with FakeRunSignup(seed=2, races=1, photos_per_race_day=150, max_page_size=None) as fake:
        race_id, days_id = fake.race_days()[0]
        day = {"race_id": race_id, "race_event_days_id": days_id, "num": 500}
        assert len((await api_for(fake).get(PHOTOS, day))["photos"]) == 150


async def test_max_page_size_caps_num_silently(api_for) -> None:
    async with FakeRunSignup(seed=2, races=1, photos_per_race_day=30, max_page_size=7) as fake:
        api = api_for(fake)
        race_id, days_id = fake.race_days()[0]
        body = await api.get(PHOTOS, {"race_id": race_id, "race_event_days_id": days_id, "num": 50})
        assert len(body["photos"]) == 7


async def test_filters(api, fake: FakeRunSignup, day) -> None:
    everything = (await api.get(PHOTOS, day))["photos"]
    participant = [p for p in everything if isinstance(p["album_id"], str)]
    without = (await api.get(PHOTOS, {**day, "include_participant_uploads": "F"}))["photos"]
    assert len(without) == len(everything) - len(participant)
    assert all(not isinstance(p["album_id"], str) for p in without)
    cutoff = sorted(p["uploaded_ts"] for p in everything)[10]
    since = (await api.get(PHOTOS, {**day, "uploaded_since_timestamp": cutoff}))["photos"]
    assert {p["photo_id"] for p in since} == {
        p["photo_id"] for p in everything if p["uploaded_ts"] >= cutoff
    }
    album = next(p["album_id"] for p in without)
    only = (await api.get(PHOTOS, {**day, "generic_photo_album_id": album}))["photos"]
    assert only and {p["album_id"] for p in only} == {album}


async def test_newest_first_order_shifts_pages_on_insert(api_for) -> None:
    options: dict[str, Any] = {"races": 1, "photos_per_race_day": 10}
    async with FakeRunSignup(seed=3, photo_order="newest_first", **options) as fake:
        api = api_for(fake)
        race_id, days_id = fake.race_days()[0]
        day = {"race_id": race_id, "race_event_days_id": days_id, "num": 5}
        first = [p["photo_id"] for p in (await api.get(PHOTOS, day))["photos"]]
        stamps = [p["uploaded_ts"] for p in (await api.get(PHOTOS, day))["photos"]]
        assert stamps == sorted(stamps, reverse=True)
        new = fake.add_photos(race_id, days_id, 2)
        second = [p["photo_id"] for p in (await api.get(PHOTOS, {**day, "page": 2}))["photos"]]
        assert second[:2] == first[3:]
        assert [p["photo_id"] for p in (await api.get(PHOTOS, day))["photos"]][:2] == new[::-1]


async def test_bad_values_are_code_3_naming_the_parameter(api, day) -> None:
    for name, value in [
        ("page", "0"),
        ("page", "x"),
        ("num", "-1"),
        ("race_id", "12a"),
        ("include_participant_uploads", "yes"),
        ("uploaded_since_timestamp", "yesterday"),
    ]:
        body = await api.get(PHOTOS, {**day, name: value})
        assert body["error"]["error_code"] == 3, (name, value)
        assert name in body["error"]["error_msg"]


async def test_missing_required_and_unknown_parameters(api, day) -> None:
    body = await api.get(PHOTOS, {"race_id": day["race_id"]})
    assert body["error"] == {
        "error_code": 3,
        "error_msg": "Missing required parameter: race_event_days_id",
    }
    body = await api.get(PHOTOS, {**day, "race_event_day_id": 1})
    assert body["error"]["error_code"] == 3 and "race_event_day_id" in body["error"]["error_msg"]
    body = await api.get(PHOTOS, {**day, "page_size": 10})
    assert "page_size" in body["error"]["error_msg"]


async def test_unknown_ids_are_code_15(api, day) -> None:
    status, body, _ = await api.call("GET", PHOTOS, {**day, "race_event_days_id": 1})
    assert status == 200 and body["error"]["error_code"] == 15
    assert (await api.get(ALBUMS, {**day, "race_id": 1}, mode="api"))["error"]["error_code"] == 15
    other = await api.get(PHOTOS, {**day, "generic_photo_album_id": 999999})
    assert other["error"]["error_code"] == 15


async def test_photos_refuse_every_mode_but_v2(api, day) -> None:
    for mode in ("api", "tmp", "sp", "bearer", "none"):
        status, body, _ = await api.call("GET", PHOTOS, day, mode=mode)
        assert status == 200 and body["error"]["error_code"] == 6, mode


async def test_albums_refuse_other_modes_and_wrong_secrets(api, day) -> None:
    for mode in ("tmp", "sp", "bearer", "none"):
        assert (await api.get(ALBUMS, day, mode=mode))["error"]["error_code"] == 6, mode
    wrong = await api.get(ALBUMS, {**day, "api_secret": "nope"}, mode="api")
    assert wrong["error"]["error_code"] == 6
    wrong = await api.get(ALBUMS, day, headers={"X-RSU-API-SECRET": "nope"})
    assert wrong["error"]["error_code"] == 6


async def test_restricted_key_is_denied_other_races(api, fake: FakeRunSignup, day) -> None:
    fake.add_v2_key("limited", "limited-secret", race_ids={day["race_id"]})
    headers = {"X-RSU-API-SECRET": "limited-secret"}
    params = {**day, "rsu_api_key": "limited"}
    ok = await api.get(PHOTOS, params, mode="none", headers=headers)
    assert "photos" in ok
    race_id, days_id = fake.race_days()[1]
    other = {"race_id": race_id, "race_event_days_id": days_id, "rsu_api_key": "limited"}
    denied = await api.get(PHOTOS, other, mode="none", headers=headers)
    assert denied["error"]["error_code"] == 7


async def test_xml_when_format_is_missing(api, day) -> None:
    status, body, headers = await api.call("GET", PHOTOS, day, fmt=None)
    assert status == 200 and body.startswith("<?xml") and "<photos>" in body
    assert "xml" in headers["Content-Type"]
    _, error, _ = await api.call("GET", PHOTOS, {**day, "race_id": "x"}, fmt=None)
    assert error.startswith("<?xml") and "<error_code>3</error_code>" in error
    _, csv, _ = await api.call("GET", PHOTOS, day, fmt="csv")
    assert "<error_code>10</error_code>" in csv


async def test_wrong_http_method_and_unknown_path(api, day) -> None:
    assert (await api.post(PHOTOS, day))["error"]["error_code"] == 2
    assert (await api.get("/v2/photos/nope.json", day))["error"]["error_code"] == 1


async def test_repeated_parameter_is_code_3(api, day, session) -> None:
    params, headers = api.auth("v2")
    url = f"{api.fake.base_url}{PHOTOS}?race_id={day['race_id']}&race_id=1"
    query = {**params, "race_event_days_id": str(day["race_event_days_id"]), "format": "json"}
    async with session.get(url, params=query, headers=headers) as response:
        body = await response.json()
    assert body["error"]["error_code"] == 3 and "race_id" in body["error"]["error_msg"]


def test_generation_is_deterministic() -> None:
    one, two = FakeRunSignup(seed=5), FakeRunSignup(seed=5)
    assert one.races == two.races and one.race_days() == two.race_days()
    assert [p.photo_id for p in one.data.photo_index.values()] == [
        p.photo_id for p in two.data.photo_index.values()
    ]
    assert FakeRunSignup(seed=6).race_days() != one.race_days()
