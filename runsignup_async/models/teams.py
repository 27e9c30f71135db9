"""``TeamType``: one group/team type for POST /race/{race_id}/teams/team-types.

Field names are the API's (see manage-race-team-types.txt). Posting team types REPLACES the
race's set: every existing type left out of the request is DELETED. To keep a type, send it
again with its ``team_type_id``.
"""

from __future__ import annotations

import attrs

from ._common import (
    check_bounds,
    name_problems,
    opt_bool,
    opt_count,
    opt_id,
    opt_ids,
    opt_text,
    to_text,
)
from ._sentinel import NOT_GIVEN, NotGiven

__all__ = ["TeamType"]

_BOUNDS = (
    ("min_members", "max_members"),
    ("min_male_members", "max_male_members"),
    ("min_female_members", "max_female_members"),
)


@attrs.frozen(kw_only=True, field_transformer=name_problems)
class TeamType:
    """One group/team type; only ``team_type`` is required.

    With ``team_type_id`` the request edits that type; without it, it creates one. Beware:
    the POST deletes every existing type not in the request. Optional fields default to
    ``NOT_GIVEN`` (left out of the request); ``None`` is sent as ``null`` (no limit).
    Member bounds are non-negative and each min is <= its max. Booleans accept
    ``True``/``False`` or ``"T"``/``"F"``.
    """

    team_type_id: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_id)
    team_type: str = attrs.field(converter=to_text)
    team_type_desc: str | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_text)
    min_members: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    max_members: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    min_male_members: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    max_male_members: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    min_female_members: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    max_female_members: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    max_num_teams: int | NotGiven | None = attrs.field(default=NOT_GIVEN, converter=opt_count)
    valid_event_ids: tuple[int, ...] | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_ids)
    require_gender_selection: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    allow_all_male_team: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    allow_all_female_team: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    allow_coed_team: bool | NotGiven = attrs.field(default=NOT_GIVEN, converter=opt_bool)
    allow_nonbinary_in_male_or_female: bool | NotGiven = attrs.field(
        default=NOT_GIVEN, converter=opt_bool
    )

    def __attrs_post_init__(self) -> None:
        for low, high in _BOUNDS:
            check_bounds(low, getattr(self, low), high, getattr(self, high))
