"""Virtual-race activities submitted by participants."""

from __future__ import annotations

from collections.abc import Sequence

from .. import _shapes
from .._endpoint_table import ENDPOINTS
from ..models import Activity
from ._base import Namespace, check_id, check_items, check_optional_id

ENDPOINT = ENDPOINTS["vr-activities"]


class Activities(Namespace):
    """``client.activities``: user-submitted virtual-race activities."""

    async def submit(
        self,
        *,
        race_id: int,
        event_id: int,
        activities: Sequence[Activity],
        registration_id: int | None = None,
        bib_num: int | None = None,
    ) -> list[int]:
        """Post activities; returns the new ``tally_split_nums``. https://runsignup.com/API/v2/vr-activities.json/POST

        Not idempotent: each successful call adds activities. The client therefore sends it
        again only when the server provably did not process it (see ``RetryPolicy``).
        """
        params = {
            "race_id": check_id("race_id", race_id),
            "event_id": check_id("event_id", event_id),
            "registration_id": check_optional_id("registration_id", registration_id),
            "bib_num": check_optional_id("bib_num", bib_num),
        }
        activities = check_items("activities", activities, Activity)
        self._auth(ENDPOINT)  # refuse a mode it does not take before building the payload
        return await self._call(
            ENDPOINT,
            _shapes.tally_split_nums_from,
            params=params,
            payload=_shapes.activities_payload(activities),
        )
