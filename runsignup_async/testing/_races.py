"""Handler of ``POST /race``: create a race, or edit one when ``race_id`` is sent.

Decisions where the page is silent or vague:

- an edit that sends ``url_string`` is accepted and the field ignored (the page says it
  "will not be changed"); the stored race keeps its URL string;
- an edit replaces the race: top-level fields left out become null, events left out are
  deleted unless ``preserve_missing_events=T``;
- events without ``event_id`` are added to a new race event day when the request sends
  only new events (a renewal), else to the day named by ``race_event_days_id`` or the
  race's latest day;
- code 216 (URL string in use) is sent in the standard envelope;
- every field the page types is checked before anything is stored: code 3 naming it,
  222 for ``draft_race``, 9 for a malformed date or datetime;
- an event sent (new or edited) that starts before now, in the race's timezone, is code
  227 unless the request sets ``allow_past_event_creation`` to ``"T"``.
"""

from __future__ import annotations

import copy
import datetime
import zoneinfo
from typing import Any, Final

from ._checks import (
    Field,
    a_list,
    an_id,
    an_object,
    check_object,
    date,
    date_time,
    number,
    parse_datetime,
    text,
    tf,
)
from ._checks import zone as timezone_name
from ._state import Call, RaceCheck, ServerState
from ._wire import (
    DRAFT_FLAG,
    INVALID_ID,
    INVALID_PARAMS,
    PAST_EVENT,
    URL_IN_USE,
    ApiFailure,
    opt_int,
    tf_flag,
)

__all__ = ["post_race"]

DEFAULT_TIMEZONE: Final = "America/New_York"
# Fields an edit keeps whatever the request says.
_KEPT_ON_EDIT: Final = ("race_id", "url_string", "partner_id", "partner_token")
# Instructions to the edit, not fields of the race: never stored.
_REQUEST_ONLY: Final = (
    "preserve_missing_events",
    "allow_past_event_creation",
    "race_event_days_id",
)


def _fail(message: str) -> ApiFailure:
    return ApiFailure(INVALID_PARAMS, f"Invalid value for parameter request: {message}")


_ADDRESS: Final = {
    "street": Field(text, null=True),
    "city": Field(text, required=True),
    "state": Field(text, null=True),
    "country_code": Field(text, null=True),
    "zipcode": Field(text, null=True),
}
_EVENT: Final = {
    "event_id": Field(an_id, null=True),
    "name": Field(text, required=True),
    "start_time": Field(date_time, required=True),
    "end_time": Field(date_time, null=True),
    "event_type": Field(text, null=True),
    "distance": Field(number, null=True),
    "distance_units": Field(text, null=True),
    "age_calc_base_date": Field(date, null=True),
}
_RACE: Final = {
    "name": Field(text, required=True),
    "partner_id": Field(an_id, null=True),
    "partner_token": Field(text, null=True),
    "url_string": Field(text, null=True),
    "draft_race": Field(tf, code=DRAFT_FLAG),
    "address": Field(an_object, required=True),
    "contact_email": Field(text, null=True),
    "timezone": Field(timezone_name, null=True),
    "allow_past_event_creation": Field(tf),
    "race_event_days_id": Field(an_id, null=True),
    "preserve_missing_events": Field(tf),
    "events": Field(a_list, required=True),
}


def _check_common(race: dict[str, Any], timezone: str) -> list[dict[str, Any]]:
    """The request's events, once every field of the race passes its check."""
    check_object(race, _RACE, "request")
    if not race["name"].strip():
        raise _fail("name is required")
    address = check_object(race["address"], _ADDRESS, "request.address")
    if not address["city"]:
        raise _fail("address.city is required")
    if not address.get("state") and not address.get("country_code"):
        raise _fail("address.state or address.country_code is required")
    events: list[dict[str, Any]] = race["events"]
    for n, event in enumerate(events):
        check_object(event, _EVENT, f"request.events[{n}]")
        if not event["name"]:
            raise _fail(f"events[{n}].name is required")
    if race.get("allow_past_event_creation") != "T":
        now = datetime.datetime.now(zoneinfo.ZoneInfo(race.get("timezone") or timezone))
        wall_clock_now = now.replace(tzinfo=None)
        for n, event in enumerate(events):
            start = parse_datetime(event["start_time"])
            assert start is not None  # checked above
            if start < wall_clock_now:
                raise ApiFailure(
                    PAST_EVENT,
                    f"events[{n}] starts in the past ({event['start_time']}): set"
                    " allow_past_event_creation to T to create or edit past events.",
                )
    return events


def _response(state: ServerState, race: dict[str, Any]) -> dict[str, Any]:
    events = [
        {"event_id": e["event_id"], "race_event_days_id": e["race_event_days_id"]}
        for e in race["events"]
    ]
    if state.options.race_response == "race":
        return {"race": {"race_id": race["race_id"], "events": events}}
    return {"race_id": race["race_id"], "event_ids": [e["event_id"] for e in events]}


def post_race(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    race_id = opt_int(call.params, "race_id")
    payload = call.payload()
    if not isinstance(payload, dict):
        raise _fail("expected a JSON object")
    # Unverified whether the API reads this flag as a parameter or inside the request
    # object: honour either.
    preserve = tf_flag(call.params, "preserve_missing_events", False) or (
        payload.get("preserve_missing_events") == "T"
    )
    if race_id is None:
        race = _create(state, payload)
        state.record("race", call, payload, response := _response(state, race))
        return response
    if race_id not in state.data.races:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race {race_id} not found.")
    race_ok(race_id)
    race = _edit(state, race_id, payload, preserve)
    state.record("race", call, payload, response := _response(state, race))
    return response


def _create(state: ServerState, payload: dict[str, Any]) -> dict[str, Any]:
    data = state.data
    events = _check_common(payload, DEFAULT_TIMEZONE)
    if not events:
        raise _fail("at least one event is required")
    url = payload.get("url_string")
    if not isinstance(url, str) or not url:
        raise _fail("url_string is required")
    taken = {str(r.get("url_string", "")).lower() for r in data.races.values()}
    if url.lower() in taken:
        raise ApiFailure(URL_IN_USE, "Race URL is already in use.")
    race = copy.deepcopy(payload)
    race_id = data.new_id("race")
    race["race_id"] = race_id
    race["timezone"] = race.get("timezone") or DEFAULT_TIMEZONE
    race["events"] = []
    data.races[race_id] = race
    _add_events(state, race, events, None)
    return race


def _add_events(
    state: ServerState, race: dict[str, Any], new: list[dict[str, Any]], days_id: int | None
) -> None:
    if not new:
        return
    data = state.data
    if days_id is None or (race["race_id"], days_id) not in data.days:
        days_id = data.add_race_day(race["race_id"], events=0, albums=1).race_event_days_id
    for event in new:
        stored = copy.deepcopy(event)
        stored["event_id"] = data.new_id("event")
        stored["race_event_days_id"] = days_id
        race["events"].append(stored)


def _edit(
    state: ServerState, race_id: int, payload: dict[str, Any], preserve: bool
) -> dict[str, Any]:
    old = state.data.races[race_id]
    sent_events = _check_common(payload, old.get("timezone") or DEFAULT_TIMEZONE)
    old_events = {e["event_id"]: e for e in old["events"]}
    updated, new = [], []
    for n, event in enumerate(sent_events):
        event_id = event.get("event_id")
        if event_id is None:
            new.append(event)
            continue
        if event_id not in old_events:
            raise ApiFailure(INVALID_ID, f"Invalid ID: events[{n}].event_id {event_id!r}.")
        stored = copy.deepcopy(event)
        stored["race_event_days_id"] = old_events[event_id]["race_event_days_id"]
        updated.append(stored)
    race = dict.fromkeys(old)
    race.update(copy.deepcopy(payload))
    for key in _KEPT_ON_EDIT:
        if key in old:
            race[key] = old[key]
    for key in _REQUEST_ONLY:
        race.pop(key, None)
    kept_ids = {e["event_id"] for e in updated}
    if preserve:
        updated += [e for e in old["events"] if e["event_id"] not in kept_ids]
    race["events"] = updated
    days_id = payload.get("race_event_days_id")
    if updated and days_id is None:
        days_id = max(e["race_event_days_id"] for e in updated)
    state.data.races[race_id] = race
    _add_events(state, race, new, days_id)
    return race
