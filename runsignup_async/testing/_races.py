"""Handler of ``POST /race``: create a race, or edit one when ``race_id`` is sent.

Decisions where the page is silent or vague:

- an edit that sends ``url_string`` is accepted and the field ignored (the page says it
  "will not be changed"); the stored race keeps its URL string;
- an edit replaces the race: top-level fields left out become null, events left out are
  deleted unless ``preserve_missing_events=T``;
- events without ``event_id`` are added to a new race event day when the request sends
  only new events (a renewal), else to the day named by ``race_event_days_id`` or the
  race's latest day;
- code 216 (URL string in use) is sent in the standard envelope.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any, Final

from ._state import Call, RaceCheck, ServerState
from ._wire import (
    DRAFT_FLAG,
    INVALID_DATE,
    INVALID_ID,
    INVALID_PARAMS,
    URL_IN_USE,
    ApiFailure,
    opt_int,
    tf_flag,
)

__all__ = ["post_race"]

DEFAULT_TIMEZONE: Final = "America/New_York"
# Fields an edit keeps whatever the request says.
_KEPT_ON_EDIT: Final = ("race_id", "url_string", "partner_id", "partner_token")


def _fail(message: str) -> ApiFailure:
    return ApiFailure(INVALID_PARAMS, f"Invalid value for parameter request: {message}")


def _check_common(race: dict[str, Any]) -> list[dict[str, Any]]:
    name = race.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail("name is required")
    address = race.get("address")
    if not isinstance(address, dict) or not address.get("city"):
        raise _fail("address.city is required")
    if not address.get("state") and not address.get("country_code"):
        raise _fail("address.state or address.country_code is required")
    if race.get("draft_race") not in (None, "T", "F"):
        raise ApiFailure(DRAFT_FLAG, "draft_race must be T or F.")
    events = race.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise _fail("events must be a list of objects")
    for n, event in enumerate(events):
        if not isinstance(event.get("name"), str) or not event["name"]:
            raise _fail(f"events[{n}].name is required")
        for key in ("start_time", "end_time"):
            value = event.get(key)
            if value is None and key == "end_time":
                continue
            try:
                datetime.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
            except ValueError:
                raise ApiFailure(INVALID_DATE, f"Invalid date in events[{n}].{key}.") from None
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
    events = _check_common(payload)
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
    sent_events = _check_common(payload)
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
    kept_ids = {e["event_id"] for e in updated}
    if preserve:
        updated += [e for e in old["events"] if e["event_id"] not in kept_ids]
    race["events"] = updated
    days_id = payload.get("race_event_days_id")
    if not isinstance(days_id, int) or isinstance(days_id, bool):
        days_id = None
    if updated and days_id is None:
        days_id = max(e["race_event_days_id"] for e in updated)
    state.data.races[race_id] = race
    _add_events(state, race, new, days_id)
    return race
