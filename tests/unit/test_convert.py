"""The converter: each API convention both ways, ShapeError paths, the POST answers' shapes."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import attrs
import pytest

from runsignup_async import _convert, _shapes
from runsignup_async._convert import ShapeError
from runsignup_async.errors import ValidationError
from runsignup_async.models import (
    NOT_GIVEN,
    Activity,
    Album,
    Event,
    Photo,
    PhotoImage,
    Race,
    RaceResult,
    TeamType,
)


def image(n: int = 1) -> dict[str, Any]:
    return {"image_url": f"https://x.test/{n}.jpg", "height": 10 * n, "width": 20 * n}


def photo(**changes: Any) -> dict[str, Any]:
    base = {
        "photo_id": 1,
        "album_id": 21,
        "race_event_days_id": 6568,
        "bibs": [1179],
        "original": image(1),
        "thumbnail": image(2),
        "large": image(3),
        "uploaded_filename": "a.jpg",
        "uploaded_ts": 1593547220,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def shape_error(call: Any, *args: Any) -> ShapeError:
    with pytest.raises(ShapeError) as caught:
        call(*args)
    assert isinstance(caught.value, ValueError)
    assert caught.value.path in str(caught.value)
    return caught.value


# --- conventions, both directions -------------------------------------------------------------


def test_unix_timestamps_are_aware_utc_and_go_back_to_seconds() -> None:
    (p,) = _shapes.photos_from({"photos": [photo()]})
    assert p.uploaded_ts == datetime(2020, 6, 30, 20, 0, 20, tzinfo=timezone.utc)
    assert _convert.unstructure(p)["uploaded_ts"] == 1593547220
    assert (
        _convert.unstructure(
            attrs.evolve(p, uploaded_ts=p.uploaded_ts.replace(microsecond=500_000))
        )["uploaded_ts"]
        == 1593547220.5
    )


def test_album_id_is_int_or_string_and_reg_album_has_no_timestamp() -> None:
    albums = _shapes.albums_from(
        {
            "albums": [
                {
                    "album_id": 1,
                    "race_event_days_id": 2,
                    "album_url": "u",
                    "album_name": "n",
                    "num_photos": 0,
                    "last_modified_ts": 5,
                },
                {
                    "album_id": "reg-2",
                    "race_event_days_id": 2,
                    "album_url": "u",
                    "album_name": "n",
                    "num_photos": 3,
                    "last_modified_ts": None,
                },
            ]
        }
    )
    assert [a.album_id for a in albums] == [1, "reg-2"]
    assert albums[0].last_modified_ts == datetime(1970, 1, 1, 0, 0, 5, tzinfo=timezone.utc)
    assert albums[1].last_modified_ts is None
    assert "last_modified_ts" not in _convert.unstructure(albums[1])


def test_optional_response_fields_absent_or_null_are_none_and_omitted() -> None:
    (p,) = _shapes.photos_from(
        {"photos": [photo(original=None, large=..., uploaded_filename=None, bibs=...)]}
    )
    assert (p.original, p.large, p.uploaded_filename, p.bibs) == (None, None, None, ())
    out = _convert.unstructure(p)
    assert not {"original", "large", "uploaded_filename", "race_id"} & set(out)
    assert out["bibs"] == []  # an empty list is data, not absence
    assert _convert.unstructure(attrs.evolve(p, race_id=7))["race_id"] == 7


def test_unknown_response_fields_are_ignored() -> None:
    (p,) = _shapes.photos_from({"photos": [photo(new_field={"x": 1})]})
    assert p.photo_id == 1
    assert _convert.structure({**image(), "dpi": 72}, PhotoImage).width == 20


def test_escaped_slashes_are_not_escaped_again() -> None:
    body = json.dumps({"photos": [photo()]}).replace("/", "\\/")
    (p,) = _shapes.photos_from(json.loads(body))
    assert p.original is not None and p.original.image_url == "https://x.test/1.jpg"
    assert "\\/" not in json.dumps(_convert.unstructure(p))


def test_request_booleans_dates_and_datetimes_unstructure_to_api_forms() -> None:
    activity = Activity(
        tally_split_date=date(2020, 7, 25), result_split_tally_value=2, validated_pace=True
    )
    assert _convert.unstructure(activity) == {
        "tally_split_date": "2020-07-25",
        "result_split_tally_value": 2,
        "validated_pace": "T",
    }
    event = Event(
        name="5K",
        start_time=datetime(2024, 6, 1, 8),
        event_type="running_race",
        age_calc_base_date=None,
    )
    assert _convert.unstructure(event) == {
        "name": "5K",
        "start_time": "2024-06-01 08:00:00",
        "event_type": "running_race",
        "age_calc_base_date": None,
    }


def test_request_models_structure_from_api_forms_and_validate() -> None:
    activity = _convert.structure(
        {"tally_split_date": "2020-07-25", "result_split_tally_value": 1, "validated_pace": "F"},
        Activity,
    )
    assert activity.validated_pace is False
    with pytest.raises(ValidationError) as caught:
        _convert.structure(
            {"name": "R", "address": {"city": "X", "state": "NJ"}, "events": [{"name": "5K"}]}, Race
        )
    assert caught.value.field == "events[0].start_time"
    with pytest.raises(ValidationError) as caught:
        _convert.structure({"team_type": "T", "colour": "red"}, TeamType)
    assert caught.value.field == "colour"
    with pytest.raises(ValidationError) as caught:
        _convert.structure(None, TeamType)
    assert caught.value.field == "$"


def test_not_given_is_omitted_and_none_is_sent_as_null() -> None:
    team = TeamType(team_type="T", max_members=None, team_type_desc=NOT_GIVEN, valid_event_ids=[3])
    assert _convert.unstructure(team) == {
        "team_type": "T",
        "max_members": None,
        "valid_event_ids": [3],
    }


# --- ShapeError paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path", "fragment"),
    [
        (None, "$", "expected an object with 'photos'"),
        ([], "$", "expected an object with 'photos'"),
        ({"albums": []}, "photos", "required field missing (keys: 'albums')"),
        ({"photos": None}, "photos", "expected a list, got null"),
        ({"photos": {"0": {}}}, "photos", "expected a list"),
        ({"photos": [photo(), "x"]}, "photos[1]", "expected an object, got str 'x'"),
        (
            {"photos": [photo(photo_id="1")]},
            "photos[0].photo_id",
            "expected an integer, got str '1'",
        ),
        ({"photos": [photo(photo_id=...)]}, "photos[0].photo_id", "required field missing"),
        (
            {"photos": [photo(), photo(), photo(), photo(original={**image(), "image_url": None})]},
            "photos[3].original.image_url",
            "expected a string, got null",
        ),
        (
            {"photos": [photo(thumbnail={"image_url": "u", "height": 1})]},
            "photos[0].thumbnail.width",
            "required field missing",
        ),
        (
            {"photos": [photo(bibs=[1, "2"])]},
            "photos[0].bibs[1]",
            "expected an integer, got str '2'",
        ),
        ({"photos": [photo(bibs="1179")]}, "photos[0].bibs", "list of integers"),
        (
            {"photos": [photo(uploaded_ts="2020-06-30")]},
            "photos[0].uploaded_ts",
            "expected unix seconds",
        ),
        ({"photos": [photo(uploaded_ts=None)]}, "photos[0].uploaded_ts", "got null"),
        ({"photos": [photo(album_id=2.5)]}, "photos[0].album_id", "integer or a string id"),
        (
            {"photos": [photo(uploaded_filename=7)]},
            "photos[0].uploaded_filename",
            "expected a string",
        ),
    ],
)
def test_photos_shape_errors_name_the_field(document: Any, path: str, fragment: str) -> None:
    error = shape_error(_shapes.photos_from, document)
    assert error.path == path
    assert fragment in error.problem


def test_every_problem_is_listed() -> None:
    error = shape_error(
        _shapes.photos_from,
        {"photos": [photo(photo_id=None), photo(width=1, large=None, thumbnail=5)]},
    )
    assert [p for p, _ in error.problems] == ["photos[0].photo_id", "photos[1].thumbnail"]
    assert "(and 1 more problem)" in str(error)


def test_albums_shape_errors() -> None:
    assert _shapes.albums_from({"albums": []}) == []
    error = shape_error(_shapes.albums_from, {"albums": [{"album_id": 1}]})
    assert error.path.startswith("albums[0].")
    assert shape_error(_shapes.albums_from, {"albums": None}).path == "albums"


def test_empty_photo_page_is_an_empty_list() -> None:
    assert _shapes.photos_from({"photos": []}) == []


# --- POST answers ----------------------------------------------------------------------------


def test_tally_split_nums() -> None:
    assert _shapes.tally_split_nums_from({"tally_split_nums": []}) == []
    assert (
        shape_error(_shapes.tally_split_nums_from, {"tally_split_nums": [7, "8"]}).path
        == "tally_split_nums[1]"
    )
    assert shape_error(_shapes.tally_split_nums_from, {}).path == "tally_split_nums"


@pytest.mark.parametrize(
    "document",
    [
        {"team_type_ids": [5, 6]},
        {"race_team_types": [{"team_type_id": 5, "team_type": "A"}, {"team_type_id": 6}]},
    ],
)
def test_team_type_ids_accepted_shapes(document: Any) -> None:
    assert _shapes.team_type_ids_from(document) == [5, 6]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({}, "$"),
        (None, "$"),
        ([5, 6], "$"),
        ({"team_types": [5]}, "$"),
        ({"team_type_ids": None}, "team_type_ids"),
        ({"team_type_ids": ["5"]}, "team_type_ids[0]"),
        ({"race_team_types": [{"team_type_id": 5}, {}]}, "race_team_types[1].team_type_id"),
        ({"race_team_types": [5]}, "race_team_types[0]"),
    ],
)
def test_team_type_ids_rejected_shapes(document: Any, path: str) -> None:
    assert shape_error(_shapes.team_type_ids_from, document).path == path


@pytest.mark.parametrize(
    "document",
    [
        {"race": {"race_id": 9, "name": "R", "events": [{"event_id": 1}, {"event_id": 2}]}},
        {"race_id": 9, "events": [{"event_id": 1, "name": "5K"}, {"event_id": 2}]},
        {"race_id": 9, "event_ids": [1, 2]},
    ],
)
def test_race_result_accepted_shapes(document: Any) -> None:
    assert _shapes.race_result_from(document) == RaceResult(race_id=9, event_ids=(1, 2))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({}, "$"),
        (None, "$"),
        ({"race": None}, "race"),
        ({"race": {"name": "R"}}, "race"),
        ({"race": {"race_id": 9}}, "race.events"),
        ({"race_id": 9}, "events"),
        ({"race_id": "9", "event_ids": [1]}, "race_id"),
        ({"race_id": 9, "event_ids": [1, None]}, "event_ids[1]"),
        (
            {"race": {"race_id": 9, "events": [{"event_id": 1}, {"id": 2}]}},
            "race.events[1].event_id",
        ),
    ],
)
def test_race_result_rejected_shapes(document: Any, path: str) -> None:
    assert shape_error(_shapes.race_result_from, document).path == path


# --- payloads ----------------------------------------------------------------------------------


def test_payloads_accept_models_or_mappings_and_name_bad_items() -> None:
    payload = _shapes.activities_payload(
        [{"tally_split_date": "2020-07-25", "result_split_tally_value": 1}]
    )
    assert payload == {
        "activities": [{"tally_split_date": "2020-07-25", "result_split_tally_value": 1}]
    }
    with pytest.raises(ValidationError) as caught:
        _shapes.activities_payload(
            [
                Activity(tally_split_date="2020-07-25", result_split_tally_value=1),
                {"tally_split_date": "x", "result_split_tally_value": 1},
            ]
        )
    assert caught.value.field == "activities[1].tally_split_date"
    with pytest.raises(ValidationError) as caught:
        _shapes.activities_payload([])
    assert caught.value.field == "activities"


def test_team_types_payload_builds_the_list_it_is_given() -> None:
    # Whether an empty list (delete every type) may be sent is the endpoint's one check
    # (allow_delete_all; see test_validation's "team-types-empty").
    assert _shapes.team_types_payload([]) == {"race_team_types": []}
    assert _shapes.team_types_payload([TeamType(team_type="A")]) == {
        "race_team_types": [{"team_type": "A"}]
    }


def test_race_payload() -> None:
    race = {
        "name": "R",
        "address": {"city": "X", "country_code": "CA"},
        "events": [
            {
                "name": "5K",
                "start_time": "2024-06-01 08:00:00",
                "event_type": "running_race",
                "event_id": 4,
            }
        ],
    }
    assert _shapes.race_payload(race) == race
    edit = Race(**{**race, "preserve_missing_events": True})
    assert _shapes.race_payload(edit)["preserve_missing_events"] == "T"
    with pytest.raises(ValidationError) as caught:
        _shapes.race_payload({**race, "events": [{**race["events"][0], "event_type": "run"}]})
    assert caught.value.field == "events[0].event_type"


def test_unknown_models_are_not_swallowed() -> None:
    assert isinstance(_convert.structure({"race_id": 1}, RaceResult), RaceResult)
    assert _convert.structure([1, 2], list[int]) == [1, 2]
    assert Album.__name__ == "Album" and Photo.__name__ == "Photo"
