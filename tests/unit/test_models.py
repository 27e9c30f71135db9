"""The models: Python values and API string forms in, validated; bad input names its field."""

from __future__ import annotations

import copy
import pickle
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from runsignup_async.errors import ValidationError
from runsignup_async.models import (
    NOT_GIVEN,
    Activity,
    Address,
    Event,
    NotGiven,
    Photo,
    Race,
    TeamType,
)

EVENT: dict[str, Any] = {
    "name": "5K",
    "start_time": "2024-06-01 08:00:00",
    "event_type": "running_race",
}
ADDRESS: dict[str, Any] = {"city": "Moorestown", "state": "NJ"}


def refused(field: str, fragment: str, build: Any, /, **kwargs: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        build(**kwargs)
    assert caught.value.field == field
    assert fragment in caught.value.problem
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)


# --- NOT_GIVEN ---------------------------------------------------------------------------


def test_not_given_is_a_falsy_singleton_that_survives_copies() -> None:
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert NotGiven() is NOT_GIVEN
    assert copy.deepcopy(NOT_GIVEN) is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN


def test_optional_request_fields_default_to_not_given_and_keep_none() -> None:
    activity = Activity(tally_split_date=date(2020, 7, 25), result_split_tally_value=1)
    assert activity.tally_split_comment is NOT_GIVEN
    assert activity.validated_pace is NOT_GIVEN
    nulled = Activity(
        tally_split_date="2020-07-25", result_split_tally_value=1, tally_split_comment=None
    )
    assert nulled.tally_split_comment is None


def test_models_are_frozen_slotted_and_keyword_only() -> None:
    event = Event(**EVENT)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.name = "10K"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    with pytest.raises(TypeError):
        Event("5K", "2024-06-01 08:00:00", "running_race")  # type: ignore[misc]


# --- conversions of the API string forms -----------------------------------------------------


def test_dates_datetimes_and_booleans_take_python_values_or_api_strings() -> None:
    from_api = Activity(
        tally_split_date="2020-07-25", result_split_tally_value=1.5, validated_pace="T"
    )
    from_python = Activity(
        tally_split_date=date(2020, 7, 25), result_split_tally_value=1.5, validated_pace=True
    )
    assert from_api == from_python
    assert from_api.tally_split_date == date(2020, 7, 25)
    assert (
        Activity(
            tally_split_date="2020-07-25", result_split_tally_value=0, validated_pace="F"
        ).validated_pace
        is False
    )
    event = Event(**EVENT, end_time=datetime(2024, 6, 1, 11), age_calc_base_date="2024-12-31")
    assert event.start_time == datetime(2024, 6, 1, 8)
    assert event.age_calc_base_date == date(2024, 12, 31)


def test_elapsed_time_takes_milliseconds_or_a_timedelta() -> None:
    activity = Activity(
        tally_split_date="2020-07-25",
        result_split_tally_value=5,
        submitted_time_in_ms=timedelta(minutes=20, milliseconds=1),
    )
    assert activity.submitted_time_in_ms == 1_200_001


# --- each rule's bad path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("07/25/2020", "expected YYYY-MM-DD, got '07/25/2020'"),
        ("2020-02-30", "no such date"),
        (datetime(2020, 7, 25), "not a datetime"),
        (20200725, "expected YYYY-MM-DD"),
        (None, "expected YYYY-MM-DD"),
    ],
)
def test_bad_dates(value: object, fragment: str) -> None:
    refused(
        "tally_split_date", fragment, Activity, tally_split_date=value, result_split_tally_value=1
    )


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("result_split_tally_value", -1, "non-negative number"),
        ("result_split_tally_value", float("nan"), "non-negative number"),
        ("result_split_tally_value", "1", "non-negative number"),
        ("result_split_tally_value", True, "non-negative number"),
        ("split_elevation_gain_in_mm", -5, "non-negative number"),
        ("submitted_time_in_ms", -1, "non-negative elapsed milliseconds"),
        ("submitted_time_in_ms", 1.5, "non-negative elapsed milliseconds"),
        ("virtual_race_activity_type_id", 0, "positive integer id"),
        ("virtual_race_activity_type_id", True, "positive integer id"),
        ("validated_pace", "yes", "'T'/'F'"),
        ("validated_pace", None, "'T'/'F'"),
        ("tally_split_comment", 5, "expected a string"),
    ],
)
def test_bad_activity_fields(field: str, value: object, fragment: str) -> None:
    good: dict[str, Any] = {"tally_split_date": "2020-07-25", "result_split_tally_value": 1}
    refused(field, fragment, Activity, **{**good, field: value})


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2014-06-07", "expected YYYY-MM-DD hh:mm:ss"),
        ("2014-06-07T08:30:00", "expected YYYY-MM-DD hh:mm:ss"),
        ("2014-06-07 25:30:00", "no such time"),
        (datetime(2014, 6, 7, 8, 30, tzinfo=timezone.utc), "naive datetime"),
    ],
)
def test_bad_event_times(value: object, fragment: str) -> None:
    refused("start_time", fragment, Event, **{**EVENT, "start_time": value})
    refused("end_time", fragment, Event, **{**EVENT, "end_time": value})


def test_event_end_must_not_precede_its_start() -> None:
    refused("end_time", "before start_time", Event, **EVENT, end_time="2024-06-01 07:59:59")


def test_event_vocabularies() -> None:
    refused(
        "event_type",
        "unknown event_type 'runing_race'",
        Event,
        **{**EVENT, "event_type": "runing_race"},
    )
    refused("distance_units", "unknown distance_units 'km'", Event, **EVENT, distance_units="km")
    refused("distance", "non-negative number", Event, **EVENT, distance=-3)
    refused("event_id", "positive integer id", Event, **EVENT, event_id=-1)
    refused("name", "non-empty string", Event, **{**EVENT, "name": "  "})
    virtual = {**EVENT, "event_type": "virtual_race"}
    assert Event(**virtual, distance_units="M").distance_units == "M"


def test_address_needs_a_city_and_a_state_or_country() -> None:
    refused("state", "state or a country_code", Address, city="Moorestown")
    refused("city", "non-empty string", Address, city="", state="NJ")
    assert Address(city="Toronto", country_code="CA").state is NOT_GIVEN


def test_race_rules_name_the_nested_field() -> None:
    refused("name", "non-empty string", Race, name="", address=ADDRESS, events=[EVENT])
    refused(
        "address.state",
        "state or a country_code",
        Race,
        name="R",
        address={"city": "X"},
        events=[EVENT],
    )
    refused("address.city", "required", Race, name="R", address={"state": "NJ"}, events=[EVENT])
    refused(
        "address.zip",
        "unknown field",
        Race,
        name="R",
        address={**ADDRESS, "zip": "1"},
        events=[EVENT],
    )
    refused("address", "expected Address", Race, name="R", address="Moorestown NJ", events=[EVENT])
    refused("events", "at least one event", Race, name="R", address=ADDRESS, events=[])
    refused("events", "expected a list of Event", Race, name="R", address=ADDRESS, events=EVENT)
    refused("events[1]", "expected Event", Race, name="R", address=ADDRESS, events=[EVENT, 5])
    bad_time = {**EVENT, "start_time": "2014-06-07"}
    refused(
        "events[1].start_time",
        "hh:mm:ss",
        Race,
        name="R",
        address=ADDRESS,
        events=[EVENT, bad_time],
    )
    refused(
        "timezone",
        "unknown timezone 'Mars/Olympus'",
        Race,
        name="R",
        address=ADDRESS,
        events=[EVENT],
        timezone="Mars/Olympus",
    )
    refused(
        "partner_id",
        "positive integer id",
        Race,
        name="R",
        address=ADDRESS,
        events=[EVENT],
        partner_id=0,
    )
    refused(
        "draft_race", "'T'/'F'", Race, name="R", address=ADDRESS, events=[EVENT], draft_race="N"
    )


def test_race_accepts_models_or_mappings() -> None:
    race = Race(
        name="R", address=Address(**ADDRESS), events=[Event(**EVENT)], timezone="Europe/Paris"
    )
    assert race == Race(name="R", address=ADDRESS, events=(EVENT,), timezone="Europe/Paris")
    assert isinstance(race.events, tuple)
    assert race.preserve_missing_events is NOT_GIVEN


def test_team_type_bounds() -> None:
    refused(
        "max_members",
        "must be >= min_members (3), got 2",
        TeamType,
        team_type="T",
        min_members=3,
        max_members=2,
    )
    refused(
        "max_male_members",
        ">= min_male_members",
        TeamType,
        team_type="T",
        min_male_members=2,
        max_male_members=1,
    )
    refused(
        "max_female_members",
        ">= min_female_members",
        TeamType,
        team_type="T",
        min_female_members=2,
        max_female_members=0,
    )
    refused("min_members", "non-negative integer", TeamType, team_type="T", min_members=-1)
    refused("max_num_teams", "non-negative integer", TeamType, team_type="T", max_num_teams=1.5)
    refused(
        "valid_event_ids[1]", "positive integer id", TeamType, team_type="T", valid_event_ids=[1, 0]
    )
    refused(
        "valid_event_ids",
        "list of positive integer ids",
        TeamType,
        team_type="T",
        valid_event_ids="11428",
    )
    refused("team_type_id", "positive integer id", TeamType, team_type="T", team_type_id=0)
    refused("team_type", "non-empty string", TeamType, team_type=None)
    refused("allow_coed_team", "'T'/'F'", TeamType, team_type="T", allow_coed_team=1)
    # Bounds are only compared when both are set; None means "no limit".
    assert TeamType(team_type="T", min_members=5, max_members=None).max_members is None
    assert TeamType(team_type="T", min_members=2, max_members=2).min_members == 2


def test_photo_race_id_is_set_by_evolve() -> None:
    photo = Photo(
        photo_id=1,
        album_id="reg-1",
        race_event_days_id=2,
        uploaded_ts=datetime(2020, 1, 1, tzinfo=timezone.utc),
    )
    assert photo.race_id is None
    assert attrs.evolve(photo, race_id=9).race_id == 9
