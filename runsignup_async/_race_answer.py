"""Reading the single-race GET answer into the ``Race`` model that an edit sends back.

The answer is ``{"race": {"race_id": .., "name": .., "address": {..}, "events": [..]}}``
(FACTS.md). It speaks a different dialect from the create/edit request: times are
``M/D/YYYY HH:MM`` (requests take ``YYYY-MM-DD hh:mm:ss``), the draft flag may be called
``is_draft_race``, ids may come as numeric strings, and it carries many fields an edit
does not take (``url``, ``description`` ...), which are left out. Anything that does not
fit raises ``ShapeError`` naming where, never a ``KeyError``.

Kept apart from ``_shapes`` on purpose: it is one function from a decoded document to a
model, whatever decodes the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from ._convert import ShapeError
from .errors import ValidationError
from .models import Event, Race
from .models._common import describe

__all__ = ["race_from"]

# Address and event fields an edit takes (create-or-edit-race.txt); others are dropped.
_ADDRESS: Final = ("street", "city", "state", "country_code", "zipcode")
_EVENT_TEXT: Final = ("name", "event_type", "distance_units")
_ANSWER_TIME: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?")
_ANSWER_DATE: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_REQUEST_TIME: Final = "%Y-%m-%d %H:%M:%S"
# "5K", "26.2 M": a distance with its unit, as some answers give it.
_DISTANCE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)?")


def race_from(document: Any) -> Race:
    """The race of a GET /race/{race_id} answer, with its events (see the module doc)."""
    race = _mapping(document, "$")
    path = "$"
    if "race" in race:
        race, path = _mapping(race["race"], "race"), "race"
    fields: dict[str, Any] = {"name": race.get("name")}
    if "address" in race:
        address = _mapping(race["address"], f"{path}.address")
        fields["address"] = {k: address[k] for k in _ADDRESS if address.get(k) is not None}
    for key in ("timezone", "contact_email"):
        if key in race:  # absent is not null: an edit would erase what null says
            fields[key] = race[key]
    draft = race.get("draft_race", race.get("is_draft_race"))
    if draft is not None:
        fields["draft_race"] = draft
    if "events" not in race:
        raise ShapeError(f"{path}.events", "required field missing")
    events = race["events"]
    if not isinstance(events, list):
        raise ShapeError(f"{path}.events", f"expected a list, got {describe(events)}")
    fields["events"] = [_event(e, f"{path}.events[{n}]") for n, e in enumerate(events)]
    try:
        return Race(**fields)
    except ValidationError as error:
        raise ShapeError(f"{path}.{error.field.lstrip('.')}", error.problem) from None
    except TypeError as error:  # a required field (name, address) missing
        raise ShapeError(path, str(error)) from None


def _event(value: Any, path: str) -> Event:
    event = _mapping(value, path)
    fields: dict[str, Any] = {k: event[k] for k in _EVENT_TEXT if event.get(k) is not None}
    for key in ("event_id", "race_event_days_id"):
        if event.get(key) is not None:
            fields[key] = _id(event[key], f"{path}.{key}")
    for key in ("start_time", "end_time"):
        if event.get(key) is not None:
            fields[key] = _time(event[key], f"{path}.{key}")
    if event.get("age_calc_base_date") is not None:
        fields["age_calc_base_date"] = _date(event["age_calc_base_date"], path)
    if event.get("distance") is not None:
        fields.update(_distance(event["distance"], fields, f"{path}.distance"))
    try:
        return Event(**fields)
    except ValidationError as error:
        raise ShapeError(f"{path}.{error.field.lstrip('.')}", error.problem) from None
    except TypeError as error:  # name, start_time or event_type missing
        raise ShapeError(path, str(error)) from None


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShapeError(path, f"expected an object, got {describe(value)}")
    return value


def _id(value: Any, path: str) -> int:
    if type(value) is int and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise ShapeError(path, f"expected a positive integer id, got {describe(value)}")


def _time(value: Any, path: str) -> datetime:
    if isinstance(value, str):
        if match := _ANSWER_TIME.fullmatch(value):
            month, day, year, hour, minute, second = match.groups()
            try:
                return datetime(
                    int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
                )
            except ValueError:
                pass
        else:
            try:
                return datetime.strptime(value, _REQUEST_TIME)
            except ValueError:
                pass
    raise ShapeError(path, f"expected a time as M/D/YYYY HH:MM, got {describe(value)}")


def _date(value: Any, path: str) -> date:
    where = f"{path}.age_calc_base_date"
    if isinstance(value, str):
        try:
            if match := _ANSWER_DATE.fullmatch(value):
                month, day, year = match.groups()
                return date(int(year), int(month), int(day))
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ShapeError(where, f"expected a date as M/D/YYYY, got {describe(value)}")


def _distance(value: Any, fields: dict[str, Any], path: str) -> dict[str, Any]:
    if type(value) in (int, float):
        return {"distance": value}
    if isinstance(value, str) and (match := _DISTANCE.fullmatch(value.strip())):
        number, unit = match.groups()
        amount = float(number)
        out: dict[str, Any] = {"distance": int(amount) if amount.is_integer() else amount}
        if unit and "distance_units" not in fields:
            out["distance_units"] = unit
        return out
    raise ShapeError(path, f"expected a number (or '5K'), got {describe(value)}")
