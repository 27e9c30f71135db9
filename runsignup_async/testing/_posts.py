"""Handlers of the two simple POST endpoints: vr-activities and race team types."""

from __future__ import annotations

import datetime
from typing import Any

from ._state import Call, RaceCheck, ServerState
from ._wire import INVALID_DATE, INVALID_ID, INVALID_PARAMS, ApiFailure, opt_int, req_int

__all__ = ["post_activities", "post_team_types"]


def _objects(payload: Any, key: str) -> list[dict[str, Any]]:
    items = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiFailure(
            INVALID_PARAMS, f"Invalid value for parameter request: expected {{{key!r}: [objects]}}"
        )
    return items


def _check_activity(n: int, activity: dict[str, Any]) -> None:
    date = activity.get("tally_split_date")
    if date is not None:
        try:
            datetime.date.fromisoformat(str(date))
        except ValueError:
            raise ApiFailure(INVALID_DATE, f"Invalid date in activity {n}: {date!r}") from None
    if activity.get("validated_pace", "T") not in ("T", "F"):
        raise ApiFailure(INVALID_PARAMS, f"Invalid validated_pace in activity {n}: must be T or F")


def post_activities(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    params = call.params
    race_id = req_int(params, "race_id")
    event_id = req_int(params, "event_id")
    registration_id = opt_int(params, "registration_id")
    bib_num = opt_int(params, "bib_num")
    payload = call.payload()
    activities = _objects(payload, "activities")
    for n, activity in enumerate(activities):
        _check_activity(n, activity)
    if race_id not in state.data.races:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race {race_id} not found.")
    if event_id not in state.data.event_ids(race_id):
        raise ApiFailure(INVALID_ID, f"Invalid ID: event {event_id} not found in race {race_id}.")
    race_ok(race_id)
    if registration_id is not None:
        who = f"reg:{registration_id}"
    elif bib_num is not None:
        who = f"bib:{bib_num}"
    else:
        who = "self"
    stored = state.data.activities.setdefault((race_id, event_id, who), [])
    nums = []
    for activity in activities:
        stored.append(dict(activity))
        nums.append(len(stored))
    response = {"tally_split_nums": nums}
    state.record("vr-activities", call, payload, response)
    return response


def post_team_types(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    """Replaces the race day's team types with the request's, in its order."""
    race_id = call.path_race_id
    assert race_id is not None
    sent_race = opt_int(call.params, "race_id")
    if sent_race is not None and sent_race != race_id:
        raise ApiFailure(INVALID_PARAMS, "Invalid value for parameter race_id: differs from URL")
    days_id = req_int(call.params, "race_event_days_id")
    payload = call.payload()
    items = _objects(payload, "race_team_types")
    data = state.data
    if race_id not in data.races:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race {race_id} not found.")
    if (race_id, days_id) not in data.days:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race event day {days_id} not found.")
    race_ok(race_id)
    existing = {t["team_type_id"]: t for t in data.team_types.get((race_id, days_id), [])}
    seen: set[int] = set()
    for n, item in enumerate(items):
        name = item.get("team_type")
        if not isinstance(name, str) or not name:
            raise ApiFailure(INVALID_PARAMS, f"Missing team_type in race_team_types[{n}]")
        type_id = item.get("team_type_id")
        if type_id is None:
            continue
        if isinstance(type_id, bool) or not isinstance(type_id, int) or type_id not in existing:
            raise ApiFailure(INVALID_ID, f"Invalid ID: team type {type_id!r} not found.")
        if type_id in seen:
            raise ApiFailure(INVALID_PARAMS, f"team_type_id {type_id} appears twice")
        seen.add(type_id)
    new_set = []
    for item in items:
        stored = dict(item)
        if stored.get("team_type_id") is None:
            stored["team_type_id"] = data.new_id("team")
        new_set.append(stored)
    data.team_types[(race_id, days_id)] = new_set
    ids = [t["team_type_id"] for t in new_set]
    response: dict[str, Any]
    if state.options.team_types_response == "team_type_ids":
        response = {"team_type_ids": ids}
    else:
        response = {"race_team_types": [{"team_type_id": i} for i in ids]}
    state.record("team-types", call, payload, response)
    return response
