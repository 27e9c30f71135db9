"""Handler of ``POST /v2/vr-activities.json``, with the page's pace check.

The page: "If "F" is passed in [as ``validated_pace``], the pace will be checked and an
error returned if the pace is outside of a reasonable range". It names neither the range
nor the code, so the fake's are:

- pace is ``submitted_time_in_ms`` per unit of ``result_split_tally_value`` (a mile or a
  kilometre, whichever the race tallies), for every activity type (the fake knows no
  activity type ids);
- faster than ``FASTEST_PACE_S`` (2:00 a unit: faster than the 1500 m world record's pace
  even per kilometre) or slower than ``SLOWEST_PACE_S`` (2 hours a unit: slower than a
  stroll; the page's own "Night walk", 1:43 a unit, passes) is refused with code 3 naming
  ``submitted_time_in_ms``;
- an activity without a time or without a value has no pace, and is not checked; a zero
  value with a time is an endless pace, refused.
"""

from __future__ import annotations

from typing import Any, Final

from ._checks import Field, an_id, check_object, count, date, number, text, tf
from ._state import Call, RaceCheck, ServerState
from ._wire import INVALID_ID, INVALID_PARAMS, ApiFailure, objects, opt_int, req_int

__all__ = ["FASTEST_PACE_S", "SLOWEST_PACE_S", "post_activities"]

FASTEST_PACE_S: Final = 120.0
SLOWEST_PACE_S: Final = 7200.0

_ACTIVITY: Final = {
    "tally_split_date": Field(date, required=True),
    "result_split_tally_value": Field(number),
    "split_elevation_gain_in_mm": Field(number, null=True),
    "tally_split_comment": Field(text, null=True),
    "submitted_time_in_ms": Field(count, null=True),
    "virtual_race_activity_type_id": Field(an_id, null=True),
    "validated_pace": Field(tf),
}


def _check_pace(where: str, activity: dict[str, Any]) -> None:
    ms = activity.get("submitted_time_in_ms")
    value = activity.get("result_split_tally_value")
    if ms is None or value is None:
        return  # no pace to check
    pace = ms / 1000 / value if value else float("inf")
    if not FASTEST_PACE_S <= pace <= SLOWEST_PACE_S:
        raise ApiFailure(
            INVALID_PARAMS,
            f"Invalid value for parameter {where}.submitted_time_in_ms: a pace of {pace:.0f} s"
            f" a unit is outside the reasonable range {FASTEST_PACE_S:.0f}-{SLOWEST_PACE_S:.0f}",
        )


def post_activities(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    params = call.params
    race_id = req_int(params, "race_id")
    event_id = req_int(params, "event_id")
    registration_id = opt_int(params, "registration_id")
    bib_num = opt_int(params, "bib_num")
    payload = call.payload()
    activities = objects(payload, "activities")
    for n, activity in enumerate(activities):
        where = f"activities[{n}]"
        check_object(activity, _ACTIVITY, where)
        if activity.get("validated_pace") == "F":
            _check_pace(where, activity)
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
