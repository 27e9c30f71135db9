"""Field converters shared by the request models, the vocabularies they check, and the
exact-type hooks the converter (``_convert``) uses to read responses.

Every converter takes the Python value *or* the API's string form ("2020-07-25",
"2014-06-07 08:30:00", "T"/"F") and returns the Python value, or raises ``Problem``.
``name_problems`` (the models' attrs ``field_transformer``) turns a ``Problem`` into
``errors.ValidationError`` naming the field, so a converter need not know which field it
serves and mypy still sees plain named functions (its attrs plugin types ``__init__``
from them; it cannot see through ``attrs.Converter``).
"""

from __future__ import annotations

import functools
import math
import re
import zoneinfo
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import attrs

from ..errors import ValidationError
from ._sentinel import NotGiven

T = TypeVar("T")

API_DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

if TYPE_CHECKING:
    from typing import TypeAlias

    UnixTime: TypeAlias = datetime
else:
    # A ``*_ts`` field of a response model: an aware UTC datetime to its users and to
    # mypy. The runtime annotation is what the wire holds, unix seconds, because msgspec
    # decodes by the runtime annotation and turns numbers into datetimes only in its lax
    # mode, which would also take "12" for an int. ``_decode`` makes the datetimes.
    UnixTime = int | float

# RunSignup's "Datatypes" page (linked from create-or-edit-race.txt) is not in the docs
# we hold. This list is the event_type vocabulary two independent public RunSignup clients
# agree on; "running_race" is confirmed by the page examples. Extend it when RunSignup adds
# a type: the check exists to catch typos before a protected POST, not to be a gatekeeper.
EVENT_TYPES: Final = frozenset(
    {
        "running_race", "virtual_race", "nonprofit_event", "running_only", "walking_only",
        "race_walk", "wheelchair", "triathlon", "duathlon", "bike_race", "bike_ride",
        "mountain_bike_race", "gravel_grinder", "fundraising_ride", "trail_race",
        "open_course_trail", "ultra", "hike", "obstacle_course", "adventure_race", "swim",
        "swim_run", "aqua_bike", "ski", "paddle_sports", "disc_golf", "clinic", "expo",
        "skate", "ruck", "other",
    }
)  # fmt: skip

# "K" and "M" are confirmed by the page examples (and by public clients); the rest are the
# remaining units RunSignup's UI offers and are *unverified* against its Datatypes page.
DISTANCE_UNITS: Final = frozenset({"K", "M", "Meters", "Yards", "Feet"})


class Problem(ValueError):
    """What is wrong with one value; ``name_problems`` adds the field's name."""


def describe(value: object) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def name_problems(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs field_transformer: wrap each converter so its failures name the field."""
    return [f.evolve(converter=_named(f.converter, f.name)) if f.converter else f for f in fields]


def _named(convert: Any, name: str) -> Callable[[Any], Any]:
    def converter(value: Any) -> Any:
        try:
            return convert(value)
        except Problem as problem:
            raise ValidationError(name, str(problem)) from None
        except ValidationError as nested:  # from a nested model: "[1].start_time" etc.
            raise ValidationError(name + nested.field, nested.problem) from None

    return converter


def _given(value: object) -> bool:
    return value is not None and not isinstance(value, NotGiven)


# --- numbers ---------------------------------------------------------------------------


def to_id(value: int) -> int:
    if type(value) is not int or value <= 0:  # bool is an int: refuse it by exact type
        raise Problem(f"expected a positive integer id, got {describe(value)}")
    return value


def opt_id(value: int | NotGiven | None) -> int | NotGiven | None:
    if value is None or isinstance(value, NotGiven):
        return value
    return to_id(value)


def to_count(value: int) -> int:
    if type(value) is not int or value < 0:
        raise Problem(f"expected a non-negative integer, got {describe(value)}")
    return value


def opt_count(value: int | NotGiven | None) -> int | NotGiven | None:
    if value is None or isinstance(value, NotGiven):
        return value
    return to_count(value)


def to_amount(value: float) -> int | float:
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise Problem(f"expected a non-negative number, got {describe(value)}")
    return value


def opt_amount(value: float | NotGiven | None) -> int | float | NotGiven | None:
    if value is None or isinstance(value, NotGiven):
        return value
    return to_amount(value)


def opt_milliseconds(value: int | timedelta | NotGiven | None) -> int | NotGiven | None:
    """Elapsed milliseconds; a ``timedelta`` is converted (and rounded to the ms)."""
    if isinstance(value, timedelta):
        value = round(value / timedelta(milliseconds=1))
    if value is None or isinstance(value, NotGiven):
        return value
    if type(value) is not int or value < 0:
        raise Problem(f"expected non-negative elapsed milliseconds, got {describe(value)}")
    return value


def opt_ids(value: Iterable[int] | NotGiven) -> tuple[int, ...] | NotGiven:
    if isinstance(value, NotGiven):
        return value
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise Problem(f"expected a list of positive integer ids, got {describe(value)}")
    ids = tuple(value)
    for index, item in enumerate(ids):
        try:
            to_id(item)
        except Problem as problem:
            raise ValidationError(f"[{index}]", str(problem)) from None
    return ids


# --- text ------------------------------------------------------------------------------


def to_text(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Problem(f"expected a non-empty string, got {describe(value)}")
    return value


def opt_text(value: str | NotGiven | None) -> str | NotGiven | None:
    if _given(value) and not isinstance(value, str):
        raise Problem(f"expected a string, got {describe(value)}")
    return value


def to_event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise Problem(f"unknown event_type {value!r}; known: {', '.join(sorted(EVENT_TYPES))}")
    return value


def opt_distance_units(value: str | NotGiven | None) -> str | NotGiven | None:
    if _given(value) and value not in DISTANCE_UNITS:
        raise Problem(
            f"unknown distance_units {value!r}; known: {', '.join(sorted(DISTANCE_UNITS))}"
        )
    return value


@functools.lru_cache(maxsize=256)
def _known_zone(name: str) -> bool:
    # One ZoneInfo lookup per name, not available_timezones(), which walks the tz database.
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def opt_timezone(value: str | NotGiven | None) -> str | NotGiven | None:
    if _given(value) and not (isinstance(value, str) and value and _known_zone(value)):
        raise Problem(f"unknown timezone {value!r}; use an IANA name such as 'America/New_York'")
    return value


# --- booleans, dates and times -----------------------------------------------------------


def parse_bool(value: bool | str) -> bool:
    if value is True or value == "T":
        return True
    if value is False or value == "F":
        return False
    raise Problem(f"expected True/False or 'T'/'F', got {describe(value)}")


def opt_bool(value: bool | str | NotGiven) -> bool | NotGiven:
    return value if isinstance(value, NotGiven) else parse_bool(value)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


def parse_date(value: date | str) -> date:
    if isinstance(value, datetime):
        raise Problem(f"expected a date, not a datetime: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Problem(f"no such date {value!r}") from None
    raise Problem(f"expected YYYY-MM-DD, got {value!r}")


def opt_date(value: date | str | NotGiven | None) -> date | NotGiven | None:
    if value is None or isinstance(value, NotGiven):
        return value
    return parse_date(value)


def parse_local_datetime(value: datetime | str) -> datetime:
    """A wall-clock time in the race's timezone: naive, as the API has no offset for it."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise Problem(f"expected a naive datetime in the race's timezone, got {value!r}")
        return value
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            return datetime.strptime(value, API_DATETIME_FORMAT)
        except ValueError:
            raise Problem(f"no such time {value!r}") from None
    raise Problem(f"expected YYYY-MM-DD hh:mm:ss (24-hour), got {value!r}")


def opt_local_datetime(value: datetime | str | NotGiven | None) -> datetime | NotGiven | None:
    if value is None or isinstance(value, NotGiven):
        return value
    return parse_local_datetime(value)


# --- nested models -----------------------------------------------------------------------


def build(cls: type[T], value: T | Mapping[str, Any]) -> T:
    """``cls`` from an instance or a mapping of its fields (the JSON shape).

    Failures raise ``ValidationError`` with a field relative to ``value`` (".city");
    the enclosing converter prefixes its own name.
    """
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise Problem(f"expected {cls.__name__} or a mapping of its fields, got {describe(value)}")
    names, required = _init_fields(cast(Hashable, cls))
    for key in value:
        if key not in names:
            raise ValidationError(f".{key}", f"unknown field of {cls.__name__}")
    for key in required:
        if key not in value:
            raise ValidationError(f".{key}", "required")
    try:
        return cls(**value)
    except ValidationError as error:
        raise ValidationError(f".{error.field}", error.problem) from None


@functools.cache
def _init_fields(cls: Hashable) -> tuple[frozenset[str], tuple[str, ...]]:
    fields = [f for f in attrs.fields(cast(type, cls)) if f.init]
    required = tuple(f.name for f in fields if f.default is attrs.NOTHING)
    return frozenset(f.name for f in fields), required


def build_all(cls: type[T], value: Iterable[T | Mapping[str, Any]]) -> tuple[T, ...]:
    """A tuple of ``cls`` from instances or mappings; failures name the index ("[1].name")."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise Problem(f"expected a list of {cls.__name__}, got {describe(value)}")
    built = []
    for index, item in enumerate(value):
        try:
            built.append(build(cls, item))
        except Problem as problem:
            raise ValidationError(f"[{index}]", str(problem)) from None
        except ValidationError as error:
            raise ValidationError(f"[{index}]{error.field}", error.problem) from None
    return tuple(built)


def check_bounds(low_name: str, low: object, high_name: str, high: object) -> None:
    """Refuse low > high when both are set (the team-type member bounds)."""
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise ValidationError(high_name, f"must be >= {low_name} ({low}), got {high}")


# --- response hooks (the converter's fast and detailed paths share them) ---------------


def strict(kind: type, noun: str) -> Callable[[Any, Any], Any]:
    # cattrs' default for int/str is int(v)/str(v): str(None) would make the URL "None".
    def hook(value: Any, _: Any) -> Any:
        if value.__class__ is kind:
            return value
        raise TypeError(f"expected {noun}, got {describe(value)}")

    return hook


def number(value: Any, _: Any) -> int | float:
    if value.__class__ is int or value.__class__ is float:
        return value
    raise TypeError(f"expected a number, got {describe(value)}")


def int_or_str(value: Any, _: Any) -> int | str:
    if value.__class__ is int or value.__class__ is str:
        return value
    raise TypeError(f"expected an integer or a string id, got {describe(value)}")


def unix_time(value: Any, _: Any) -> datetime:
    if value.__class__ is int or value.__class__ is float:
        return datetime.fromtimestamp(value, timezone.utc)
    raise TypeError(f"expected unix seconds, got {describe(value)}")


def optional_unix_time(value: Any, _: Any) -> datetime | None:
    return None if value is None else unix_time(value, _)


def to_unix(value: datetime | None) -> int | float | None:
    if value is None:
        return None
    seconds = value.timestamp()
    return int(seconds) if seconds.is_integer() else seconds
