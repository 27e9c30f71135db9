"""Request models of POST /race (create or edit a race), and what it answers.

``client.races.get`` reads a race into the same ``Race`` model, so that a race read can
be changed and sent back whole (``client.races.update``).

Field names are the API's (see create-or-edit-race.txt). Editing a race REPLACES it: every
field left out is set to null, and every existing event left out is DELETED, unless the
request sets ``preserve_missing_events``. Send the whole race, as it should end up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import attrs

from ..errors import ValidationError
from ._common import (
    build,
    build_all,
    name_problems,
    opt_amount,
    opt_bool,
    opt_date,
    opt_distance_units,
    opt_id,
    opt_local_datetime,
    opt_text,
    opt_timezone,
    parse_local_datetime,
    to_event_type,
    to_text,
)
from ._sentinel import NOT_GIVEN, NotGiven

__all__ = ["Address", "Event", "Race", "RaceResult"]


@attrs.frozen(kw_only=True, field_transformer=name_problems)
class Address:
    """Where the race is: ``city`` and one of ``state`` / ``country_code`` are required."""

    street: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    city: str = attrs.field(converter=to_text)
    state: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    country_code: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    zipcode: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)

    def __attrs_post_init__(self) -> None:
        if not self.state and not self.country_code:
            raise ValidationError("state", "give a state or a country_code")


@attrs.frozen(kw_only=True, field_transformer=name_problems)
class Event:
    """One event of a race.

    Leave ``event_id`` out to add an event; give it to keep and update one (on an edit,
    events left out are deleted). ``start_time`` / ``end_time`` are wall-clock times in
    the race's timezone: naive ``datetime`` or ``"YYYY-MM-DD hh:mm:ss"``.
    ``age_calc_base_date`` takes a ``date`` or ``"YYYY-MM-DD"``.
    ``race_event_days_id`` is the event day the API filed the event under, as
    ``client.races.get`` reads it; the API assigns it, so it is never sent.
    """

    event_id: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_id)
    name: str = attrs.field(converter=to_text)
    start_time: datetime = attrs.field(converter=parse_local_datetime)
    end_time: datetime | NotGiven | None = attrs.field(
        default=NOT_GIVEN, converter=opt_local_datetime
    )
    event_type: str = attrs.field(converter=to_event_type)
    distance: int | float | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_amount)
    distance_units: str | NotGiven | None = attrs.field(
        default=NOT_GIVEN, converter=opt_distance_units
    )
    age_calc_base_date: date | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_date)
    race_event_days_id: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_id)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.end_time, datetime) and self.end_time < self.start_time:
            raise ValidationError("end_time", f"must not be before start_time {self.start_time}")


def _address(value: Address | Mapping[str, Any]) -> Address:
    return build(Address, value)


def _events(value: Iterable[Event | Mapping[str, Any]]) -> tuple[Event, ...]:
    events = build_all(Event, value)
    if not events:
        raise ValidationError("", "a race needs at least one event")
    return events


@attrs.frozen(kw_only=True, field_transformer=name_problems)
class Race:
    """A race to create, the whole new state of a race to edit, or a race as read.

    Required: ``name``, ``address`` (city, and state or country_code) and at least one
    event; ``address`` and ``events`` also take mappings in the API's JSON shape.
    ``url_string`` is required to create and must be left out to edit (the endpoint checks).

    **Editing destroys data**: fields left out (``NOT_GIVEN``) are set to null by the API,
    and events left out are deleted unless ``preserve_missing_events`` is true.
    Optional fields default to ``NOT_GIVEN`` (left out); ``None`` is sent as ``null``.
    Booleans accept ``True``/``False`` or ``"T"``/``"F"``.
    """

    name: str = attrs.field(converter=to_text)
    partner_id: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_id)
    partner_token: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    url_string: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    draft_race: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    address: Address = attrs.field(converter=_address)
    contact_email: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    timezone: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_timezone)
    allow_past_event_creation: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    race_event_days_id: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_id)
    preserve_missing_events: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    events: tuple[Event, ...] = attrs.field(converter=_events)


@attrs.frozen(kw_only=True)
class RaceResult:
    """What a create or edit answers: the race's id and its events' ids, in order."""

    race_id: int
    event_ids: tuple[int, ...] = ()
