"""Typed checks of the fields inside a POST's ``request`` object, with the pages' types.

Each object the pages describe gets a schema: field name -> ``Field`` (a check, the error
code its failure answers, whether it is required). A failure answers the API's envelope
naming the field; handlers run every check before they store anything.

The pages' types: booleans are the strings ``"T"``/``"F"`` (never JSON ``true``); ids are
positive integers; counts are non-negative integers; dates are ``YYYY-MM-DD`` and
datetimes ``YYYY-MM-DD hh:mm:ss``, both real calendar values. Where a page names no error
code the failure is code 3 (invalid parameters); a malformed date or datetime is code 9
(invalid date), which FACTS.md lists.
"""

from __future__ import annotations

import datetime
import math
import re
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from ._wire import INVALID_DATE, INVALID_PARAMS, ApiFailure

__all__ = [
    "Field",
    "a_list",
    "an_id",
    "an_object",
    "check_object",
    "count",
    "date",
    "date_time",
    "ids",
    "number",
    "parse_datetime",
    "text",
    "tf",
    "zone",
]

# A check answers what is wrong with a value, or None when it is fine.
Check = Callable[[Any], str | None]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")
DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def tf(value: Any) -> str | None:
    return None if value in ("T", "F") and isinstance(value, str) else 'must be "T" or "F"'


def an_id(value: Any) -> str | None:
    return None if _is_int(value) and value > 0 else "must be a positive integer id"


def count(value: Any) -> str | None:
    return None if _is_int(value) and value >= 0 else "must be a non-negative integer"


def number(value: Any) -> str | None:
    ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value) and value >= 0
    return None if ok else "must be a non-negative number"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def an_object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


def a_list(value: Any) -> str | None:
    return None if isinstance(value, list) else "must be a list"


def ids(value: Any) -> str | None:
    if isinstance(value, list) and all(an_id(v) is None for v in value):
        return None
    return "must be a list of positive integer ids"


def date(value: Any) -> str | None:
    if isinstance(value, str) and _DATE.match(value):
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return "must be a date YYYY-MM-DD"


def parse_datetime(value: Any) -> datetime.datetime | None:
    """The naive datetime of a ``YYYY-MM-DD hh:mm:ss`` string, or None."""
    if isinstance(value, str) and _DATETIME.match(value):
        try:
            return datetime.datetime.strptime(value, DATETIME_FORMAT)
        except ValueError:
            return None
    return None


def date_time(value: Any) -> str | None:
    return None if parse_datetime(value) is not None else "must be a datetime YYYY-MM-DD hh:mm:ss"


def zone(value: Any) -> str | None:
    if isinstance(value, str) and value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return None
    return "must be a timezone name such as America/New_York"


@attrs.frozen
class Field:
    check: Check
    required: bool = False
    null: bool = False  # JSON null accepted
    code: int | None = None  # None: 9 for dates and datetimes, else 3

    def problem(self, value: Any) -> str | None:
        return None if value is None and self.null else self.check(value)

    def failure_code(self) -> int:
        if self.code is not None:
            return self.code
        return INVALID_DATE if self.check in (date, date_time) else INVALID_PARAMS


def check_object(value: Any, schema: Mapping[str, Field], where: str) -> dict[str, Any]:
    """``value`` as a dict whose typed fields pass; the first failure is raised.

    Fields the schema does not name are left alone: the pages store them as sent.
    """
    if not isinstance(value, dict):
        raise ApiFailure(INVALID_PARAMS, f"Invalid value for parameter {where}: not an object")
    for name, field in schema.items():
        if name not in value:
            if field.required:
                raise ApiFailure(INVALID_PARAMS, f"Missing required parameter: {where}.{name}")
            continue
        problem = field.problem(value[name])
        if problem is not None:
            raise ApiFailure(
                field.failure_code(), f"Invalid value for parameter {where}.{name}: {problem}"
            )
    return value
