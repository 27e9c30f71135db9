"""``Activity``: one user-submitted activity for POST /v2/vr-activities.json.

Field names are the API's (see post-vr-activities.txt).
"""

from __future__ import annotations

from datetime import date

import attrs

from ._common import (
    name_problems,
    opt_amount,
    opt_bool,
    opt_id,
    opt_milliseconds,
    opt_text,
    parse_date,
    to_amount,
)
from ._sentinel import NOT_GIVEN, NotGiven

__all__ = ["Activity"]


@attrs.frozen(kw_only=True, field_transformer=name_problems)
class Activity:
    """One activity of a virtual race.

    ``tally_split_date`` takes a ``date`` or ``"YYYY-MM-DD"``; ``submitted_time_in_ms`` is
    the elapsed time in milliseconds (a ``timedelta`` is converted); ``validated_pace``
    takes ``True``/``False`` or ``"T"``/``"F"`` (the API assumes ``"T"`` when left out;
    ``False`` asks it to check the pace). Values and times are non-negative. Optional
    fields default to ``NOT_GIVEN`` (left out of the request).
    """

    tally_split_date: date = attrs.field(converter=parse_date)
    result_split_tally_value: int | float = attrs.field(converter=to_amount)
    split_elevation_gain_in_mm: int | float | NotGiven | None = attrs.field(
        default=NOT_GIVEN, converter=opt_amount
    )
    tally_split_comment: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    submitted_time_in_ms: int | NotGiven | None = attrs.field(
        default=NOT_GIVEN, converter=opt_milliseconds
    )
    virtual_race_activity_type_id: int | NotGiven | None = attrs.field(
        default=NOT_GIVEN, converter=opt_id
    )
    validated_pace: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
