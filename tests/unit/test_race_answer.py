"""Reading the single-race GET answer: every plausible shape, and clear failures."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from typing import Any

import pytest

from runsignup_async import NOT_GIVEN, Address, ResponseDecodeError
from runsignup_async._convert import ShapeError
from runsignup_async._protocol import decipher
from runsignup_async._race_answer import race_from
from runsignup_async._shapes import race_payload
from runsignup_async.endpoints.races import _race_of_answer

# The answer FACTS.md records, in the read dialect: M/D/YYYY HH:MM times, is_draft_race,
# fields an edit does not take (url, description, street2, details).
ANSWER: dict[str, Any] = {
    "race": {
        "race_id": 1234,
        "name": "Race Name",
        "url": "https://runsignup.com/Race/NJ/Moorestown/MyRaceUrl",
        "description": "<p>Come run</p>",
        "is_draft_race": "F",
        "address": {
            "street": "300 Mill St.",
            "street2": None,
            "city": "Moorestown",
            "state": "NJ",
            "zipcode": "08057",
            "country_code": "US",
        },
        "timezone": "America/New_York",
        "contact_email": "race@example.com",
        "events": [
            {
                "event_id": 123,
                "race_event_days_id": 555,
                "name": "8K",
                "details": None,
                "start_time": "6/7/2014 08:30",
                "end_time": "6/7/2014 11:00",
                "event_type": "running_race",
                "distance": 8,
                "distance_units": "K",
                "age_calc_base_date": "12/31/2014",
            },
            {
                "event_id": "124",
                "race_event_days_id": "556",
                "name": "Half Marathon",
                "start_time": "6/8/2015 7:05",
                "event_type": "running_race",
                "distance": "13.1M",
            },
        ],
    }
}


def test_the_documented_answer_reads_into_the_race_model() -> None:
    race = race_from(copy.deepcopy(ANSWER))
    assert race.name == "Race Name"
    assert race.draft_race is False
    assert race.address == Address(
        street="300 Mill St.", city="Moorestown", state="NJ", zipcode="08057", country_code="US"
    )
    assert race.timezone == "America/New_York"
    assert race.contact_email == "race@example.com"
    assert race.url_string is NOT_GIVEN  # an edit must not send it
    first, second = race.events
    assert (first.event_id, first.race_event_days_id, first.name) == (123, 555, "8K")
    assert first.start_time == datetime(2014, 6, 7, 8, 30)
    assert first.end_time == datetime(2014, 6, 7, 11, 0)
    assert (first.distance, first.distance_units) == (8, "K")
    assert first.age_calc_base_date == date(2014, 12, 31)
    # Numeric strings, one-digit hours, a distance with its unit, optional fields absent:
    assert (second.event_id, second.race_event_days_id) == (124, 556)
    assert second.start_time == datetime(2015, 6, 8, 7, 5)
    assert (second.distance, second.distance_units) == (13.1, "M")
    assert second.end_time is NOT_GIVEN and second.age_calc_base_date is NOT_GIVEN


def test_what_is_read_is_sent_back_in_the_request_dialect() -> None:
    payload = race_payload(race_from(copy.deepcopy(ANSWER)))
    assert payload["draft_race"] == "F"
    assert payload["events"][0]["start_time"] == "2014-06-07 08:30:00"
    assert payload["events"][0]["age_calc_base_date"] == "2014-12-31"
    assert payload["events"][1]["event_id"] == 124
    # Assigned by the API, read only: never part of the request.
    assert all("race_event_days_id" not in e for e in payload["events"])
    assert "url_string" not in payload and "description" not in payload


def test_other_plausible_shapes() -> None:
    flat = copy.deepcopy(ANSWER["race"])  # no "race" wrapper
    flat["draft_race"] = "T"
    del flat["is_draft_race"]
    flat["events"][0]["start_time"] = "2014-06-07 08:30:00"  # the request dialect
    flat["events"][0]["age_calc_base_date"] = "2014-12-31"
    del flat["contact_email"]
    race = race_from(flat)
    assert race.draft_race is True
    assert race.events[0].start_time == datetime(2014, 6, 7, 8, 30)
    assert race.events[0].age_calc_base_date == date(2014, 12, 31)
    # Absent is not null: update refuses to erase what it could not read.
    assert race.contact_email is NOT_GIVEN
    nulled = copy.deepcopy(ANSWER)
    nulled["race"]["contact_email"] = None
    assert race_from(nulled).contact_email is None


def _broken(path: list[Any], value: Any) -> Any:
    document = copy.deepcopy(ANSWER)
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


BAD: list[tuple[Any, str, str]] = [
    ([1, 2], "$", "expected an object"),
    ({"race": "1234"}, "race", "expected an object"),
    (_broken(["race", "events"], KeyError), "race.events", "required field missing"),
    (_broken(["race", "events"], {"event_id": 1}), "race.events", "expected a list"),
    (_broken(["race", "events", 0], "8K"), "race.events[0]", "expected an object"),
    (_broken(["race", "events", 1, "event_id"], "12a"), "race.events[1].event_id", "id"),
    (_broken(["race", "events", 1, "event_id"], -4), "race.events[1].event_id", "id"),
    (_broken(["race", "events", 0, "start_time"], "2014/06/07"), "race.events[0].start_time",
     "M/D/YYYY HH:MM"),
    (_broken(["race", "events", 0, "start_time"], "13/40/2014 08:30"),
     "race.events[0].start_time", "M/D/YYYY HH:MM"),
    (_broken(["race", "events", 0, "start_time"], 1402144200), "race.events[0].start_time",
     "M/D/YYYY HH:MM"),
    (_broken(["race", "events", 0, "start_time"], KeyError), "race.events[0]", "start_time"),
    (_broken(["race", "events", 0, "distance"], "far"), "race.events[0].distance", "number"),
    (_broken(["race", "events", 0, "age_calc_base_date"], "31.12.2014"),
     "race.events[0].age_calc_base_date", "M/D/YYYY"),
    (_broken(["race", "events", 0, "event_type"], "running-race"), "race.events[0].event_type",
     "unknown event_type"),
    (_broken(["race", "address"], "Moorestown, NJ"), "race.address", "expected an object"),
    (_broken(["race", "address"], KeyError), "race", "address"),
    (_broken(["race", "name"], KeyError), "race.name", "non-empty string"),
    (_broken(["race", "is_draft_race"], "maybe"), "race.draft_race", "'T'/'F'"),
    (_broken(["race", "events"], []), "race.events", "at least one event"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "path", "problem"), BAD)
def test_anything_else_is_a_shape_error_naming_where(
    document: Any, path: str, problem: str
) -> None:
    with pytest.raises(ShapeError) as caught:
        race_from(document)
    assert caught.value.path == path
    assert problem in caught.value.problem


def test_through_decipher_it_is_a_response_decode_error() -> None:
    document = _broken(["race", "events", 0, "start_time"], "soon")
    body = json.dumps(document).encode()
    url = "https://api.test/race/1234"
    with pytest.raises(ResponseDecodeError) as caught:
        decipher(200, {}, body, method="GET", url=url, decode=_race_of_answer)
    assert "at $.race.events[0].start_time" in caught.value.reason
    assert caught.value.method == "GET" and caught.value.url == url
