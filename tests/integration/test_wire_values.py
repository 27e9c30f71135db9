"""The SDK's own conversions reach the fake's stored state exactly as the pages type them.

Booleans arrive as the strings "T"/"F" (never JSON true/false), dates as YYYY-MM-DD and
datetimes as YYYY-MM-DD hh:mm:ss; the fake now refuses anything else, so a regression in
the SDK's conversion fails here and in every other test that posts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from runsignup_async import Activity, Address, Event, Race, TeamType


async def test_team_type_booleans_and_ids(fake, client_for, day) -> None:
    race_id, days_id = day
    events = fake.event_ids(race_id)
    team = TeamType(
        team_type="Corporate",
        require_gender_selection=True,
        allow_all_male_team=False,
        allow_all_female_team="T",
        allow_coed_team="F",
        allow_nonbinary_in_male_or_female=True,
        valid_event_ids=events,
        min_members=2,
        max_members=None,
    )
    (type_id,) = await client_for(fake.v2_auth()).teams.set_team_types(
        race_id=race_id, race_event_days_id=days_id, team_types=[team]
    )
    (stored,) = fake.team_types[(race_id, days_id)]
    assert stored == {
        "team_type_id": type_id,
        "team_type": "Corporate",
        "require_gender_selection": "T",
        "allow_all_male_team": "F",
        "allow_all_female_team": "T",
        "allow_coed_team": "F",
        "allow_nonbinary_in_male_or_female": "T",
        "valid_event_ids": events,
        "min_members": 2,
        "max_members": None,
    }


async def test_activity_date_time_and_pace_flag(fake, client_for, day) -> None:
    race_id = day[0]
    event_id = fake.event_ids(race_id)[0]
    activity = Activity(
        tally_split_date=date(2024, 5, 1),
        result_split_tally_value=5,
        submitted_time_in_ms=timedelta(minutes=45),
        validated_pace=False,
        virtual_race_activity_type_id=6,
    )
    await client_for(fake.api_key_auth()).activities.submit(
        race_id=race_id, event_id=event_id, activities=[activity]
    )
    assert fake.activities[(race_id, event_id, "self")] == [
        {
            "tally_split_date": "2024-05-01",
            "result_split_tally_value": 5,
            "submitted_time_in_ms": 2_700_000,
            "validated_pace": "F",
            "virtual_race_activity_type_id": 6,
        }
    ]


async def test_race_flags_dates_and_datetimes(fake, client_for) -> None:
    race = Race(
        name="Wire Values",
        url_string="WireValues",
        draft_race=False,
        allow_past_event_creation=True,
        address=Address(city="Moorestown", state="NJ"),
        timezone="America/New_York",
        events=[
            Event(
                name="Past 5K",
                start_time=datetime(2020, 6, 7, 8, 30),
                end_time="2020-06-07 10:00:00",
                event_type="running_race",
                age_calc_base_date=date(2020, 12, 31),
            )
        ],
    )
    result = await client_for(fake.temp_auth()).races.create(race)
    stored = fake.races[result.race_id]
    assert (stored["draft_race"], stored["allow_past_event_creation"]) == ("F", "T")
    (event,) = stored["events"]
    assert (event["start_time"], event["end_time"], event["age_calc_base_date"]) == (
        "2020-06-07 08:30:00",
        "2020-06-07 10:00:00",
        "2020-12-31",
    )
