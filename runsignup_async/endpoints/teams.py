"""Race group/team types."""

from __future__ import annotations

from collections.abc import Sequence

from .. import _shapes
from .._endpoint_table import ENDPOINTS
from ..errors import ValidationError
from ..models import TeamType
from ._base import Namespace, check_id, check_items

ENDPOINT = ENDPOINTS["team-types"]


class Teams(Namespace):
    """``client.teams``: race group/team types."""

    async def set_team_types(
        self,
        *,
        race_id: int,
        race_event_days_id: int,
        team_types: Sequence[TeamType],
        allow_delete_all: bool = False,
    ) -> list[int]:
        """Replace a race's group/team types; returns their ids in order. https://runsignup.com/API/race/:race_id/teams/team-types/POST

        DESTRUCTIVE: this replaces the whole set. Every existing type not in
        ``team_types`` is deleted; give a type its ``team_type_id`` to keep and edit it.
        An empty list would delete every type, so it is refused unless
        ``allow_delete_all=True``.
        """
        race_id = check_id("race_id", race_id)
        params = {"race_event_days_id": check_id("race_event_days_id", race_event_days_id)}
        team_types = check_items("team_types", team_types, TeamType, allow_empty=True)
        if not team_types and not allow_delete_all:
            raise ValidationError(
                "team_types",
                "is empty, which deletes every team type of the race;"
                " pass allow_delete_all=True if that is what you mean",
            )
        path = ENDPOINT.url_path(race_id=race_id)
        return await self._call(
            ENDPOINT,
            _shapes.team_type_ids_from,
            path=path,
            params=params,
            payload=_shapes.team_types_payload(team_types),
        )
