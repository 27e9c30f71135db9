"""Handler of ``POST /race/{race_id}/teams/team-types``: replace a race day's team types.

Every field the page types is checked before anything is replaced (code 3 naming it); a
``team_type_id`` that is not one of the day's types, or a ``valid_event_ids`` entry that is
not an event of the race, is code 15 (invalid ID), as unknown ids are everywhere else.
"""

from __future__ import annotations

from typing import Any, Final

from ._checks import Field, an_id, check_object, count, ids, text, tf
from ._state import Call, RaceCheck, ServerState
from ._wire import INVALID_ID, INVALID_PARAMS, ApiFailure, objects, opt_int, req_int

__all__ = ["post_team_types"]

_BOUNDS: Final = (
    ("min_members", "max_members"),
    ("min_male_members", "max_male_members"),
    ("min_female_members", "max_female_members"),
)
_TEAM_TYPE: Final = {
    "team_type_id": Field(an_id, null=True),
    "team_type": Field(text, required=True),
    "team_type_desc": Field(text, null=True),
    **{name: Field(count, null=True) for pair in _BOUNDS for name in pair},
    "max_num_teams": Field(count, null=True),
    "valid_event_ids": Field(ids, null=True),
    "require_gender_selection": Field(tf),
    "allow_all_male_team": Field(tf),
    "allow_all_female_team": Field(tf),
    "allow_coed_team": Field(tf),
    "allow_nonbinary_in_male_or_female": Field(tf),
}


def _check_item(
    where: str, item: dict[str, Any], existing: dict[int, Any], events: frozenset[int]
) -> None:
    check_object(item, _TEAM_TYPE, where)
    if not item["team_type"]:
        raise ApiFailure(INVALID_PARAMS, f"Missing required parameter: {where}.team_type")
    for low, high in _BOUNDS:
        if item.get(low) is not None and item.get(high) is not None and item[low] > item[high]:
            raise ApiFailure(
                INVALID_PARAMS, f"Invalid value for parameter {where}.{low}: more than {high}"
            )
    type_id = item.get("team_type_id")
    if type_id is not None and type_id not in existing:
        raise ApiFailure(INVALID_ID, f"Invalid ID: {where}.team_type_id {type_id} not found.")
    unknown = [e for e in item.get("valid_event_ids") or () if e not in events]
    if unknown:
        raise ApiFailure(
            INVALID_ID, f"Invalid ID: {where}.valid_event_ids {unknown} are not events of the race."
        )


def post_team_types(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    """Replaces the race day's team types with the request's, in its order."""
    race_id = call.path_race_id
    assert race_id is not None
    sent_race = opt_int(call.params, "race_id")
    if sent_race is not None and sent_race != race_id:
        raise ApiFailure(INVALID_PARAMS, "Invalid value for parameter race_id: differs from URL")
    days_id = req_int(call.params, "race_event_days_id")
    payload = call.payload()
    items = objects(payload, "race_team_types")
    data = state.data
    if race_id not in data.races:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race {race_id} not found.")
    if (race_id, days_id) not in data.days:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race event day {days_id} not found.")
    race_ok(race_id)
    existing = {t["team_type_id"]: t for t in data.team_types.get((race_id, days_id), [])}
    events = frozenset(data.event_ids(race_id))
    seen: set[int] = set()
    for n, item in enumerate(items):
        where = f"race_team_types[{n}]"
        _check_item(where, item, existing, events)
        type_id = item.get("team_type_id")
        if type_id is not None:
            if type_id in seen:
                raise ApiFailure(INVALID_PARAMS, f"{where}.team_type_id {type_id} appears twice")
            seen.add(type_id)
    new_set = []
    for item in items:
        stored = dict(item)
        if stored.get("team_type_id") is None:
            stored["team_type_id"] = data.new_id("team")
        new_set.append(stored)
    data.team_types[(race_id, days_id)] = new_set
    type_ids = [t["team_type_id"] for t in new_set]
    response: dict[str, Any]
    if state.options.team_types_response == "team_type_ids":
        response = {"team_type_ids": type_ids}
    else:
        response = {"race_team_types": [{"team_type_id": i} for i in type_ids]}
    state.record("team-types", call, payload, response)
    return response
