"""The race days a harvest walks: bare race ids expanded to all their race days.

A race id costs one GET of the race (``client.races.race_days``), through the client's
limiter and retries; the races are read all at once. A race that cannot be read is
returned with its error, to be reported like a failed race day while the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from .._pagination import RaceDay, RaceItems
from ..errors import RunSignupError

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["race_days"]


async def race_days(
    client: Client, races: RaceItems
) -> tuple[list[RaceDay], dict[int, RunSignupError]]:
    """The race days to harvest, bare race ids expanded (one GET each, all at once);
    and the race ids that could not be expanded, with why."""
    items: list[RaceDay | int] = []
    if isinstance(races, AsyncIterable):
        async for race in races:
            items.append(RaceDay.or_race(race))
    else:
        items.extend(RaceDay.or_race(race) for race in races)
    found = await _expand(client, list(dict.fromkeys(i for i in items if isinstance(i, int))))
    days: list[RaceDay] = []
    failed: dict[int, RunSignupError] = {}
    for item in items:
        if isinstance(item, RaceDay):
            days.append(item)
        elif isinstance(got := found[item], RunSignupError):
            failed[item] = got
        else:
            days.extend(RaceDay(item, days_id) for days_id in got)
    # The same race day twice would be listed and downloaded twice.
    return list(dict.fromkeys(days)), failed


async def _expand(client: Client, race_ids: list[int]) -> dict[int, list[int] | RunSignupError]:
    async def days_of(race_id: int) -> list[int] | RunSignupError:
        try:
            return await client.races.race_days(race_id)
        except RunSignupError as exc:  # reported like a failed race day; others go on
            return exc

    tasks = [asyncio.ensure_future(days_of(race_id)) for race_id in race_ids]
    try:
        return dict(zip(race_ids, await asyncio.gather(*tasks), strict=True))
    finally:  # a cancel or a bug: none is left running
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
