"""Handler of ``GET /race/{race_id}``: one race with all its events, as the API answers it.

The answer speaks the read dialect FACTS.md records, not the request's: times are
``M/D/YYYY HH:MM`` (seconds dropped), dates ``M/D/YYYY``, the draft flag is
``is_draft_race``, and the race's page is ``url`` (no ``url_string``). Every event of
every event day is listed, each with its ``race_event_days_id``.

Decisions where the page we hold is silent: an unknown race is error 15 (invalid ID), a
key limited to other races gets error 7, and ``contact_email`` is always answered (null
when unset), as the real API does for a key authorised to read it.
"""

from __future__ import annotations

import datetime
from typing import Any, Final

from ._state import Call, RaceCheck, ServerState
from ._wire import INVALID_ID, ApiFailure

__all__ = ["get_race"]

_REQUEST_TIME: Final = "%Y-%m-%d %H:%M:%S"
_EVENT_FIELDS: Final = ("event_type", "distance", "distance_units")


def get_race(state: ServerState, call: Call, race_ok: RaceCheck) -> Any:
    race_id = call.path_race_id
    race = state.data.races.get(race_id) if race_id is not None else None
    if race is None:
        raise ApiFailure(INVALID_ID, f"Invalid ID: race {race_id} not found.")
    race_ok(race["race_id"])
    answer: dict[str, Any] = {
        "race_id": race["race_id"],
        "name": race.get("name"),
        "is_draft_race": race.get("draft_race") or "F",
        "url": f"{state.site_url}/Race/{race.get('url_string') or race['race_id']}",
        "address": race.get("address"),
        "timezone": race.get("timezone"),
        "contact_email": race.get("contact_email"),
        "events": [_event(event) for event in race["events"]],
    }
    return {"race": answer}


def _event(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event_id": event["event_id"],
        "race_event_days_id": event["race_event_days_id"],
        "name": event.get("name"),
        "start_time": _time(event.get("start_time")),
        "end_time": _time(event.get("end_time")),
    }
    out.update((key, event.get(key)) for key in _EVENT_FIELDS)
    base = event.get("age_calc_base_date")
    out["age_calc_base_date"] = _date(base) if base else None
    return out


def _time(value: Any) -> str | None:
    if value is None:
        return None
    when = datetime.datetime.strptime(str(value), _REQUEST_TIME)
    return f"{when.month}/{when.day}/{when.year} {when:%H:%M}"


def _date(value: Any) -> str:
    day = datetime.date.fromisoformat(str(value))
    return f"{day.month}/{day.day}/{day.year}"
