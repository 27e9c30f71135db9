"""Handing race days out to the workers of a many-race-day walk, one at a time.

Race days come from the caller's (sync or async) iterable, and from the expansion of bare
race ids: a worker that takes a race id reads its race days and gives them back here, to
be handed out before the caller's next item. While an expansion is under way, a worker
that finds nothing else waits for it rather than leaving, so the race's days are still
walked ``concurrency`` at a time. A race day handed out once is not handed out again: a
race given both bare and as one of its days is walked once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["RaceSource"]

Day = TypeVar("Day")


class RaceSource(Generic[Day]):
    """Race days, and bare race ids still to expand, for the workers of one walk."""

    def __init__(
        self,
        races: Iterable[Any] | AsyncIterable[Any],
        parse: Callable[[Any], Day | int],
    ) -> None:
        self._parse = parse
        self._lock = asyncio.Lock()
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        self._added: deque[Day] = deque()
        self._handed: set[Day] = set()
        self._expanding = 0
        self._changed = asyncio.Event()
        if isinstance(races, AsyncIterable):
            self._async = aiter(races)
        else:
            self._sync = iter(races)

    def expanded(self, days: Iterable[Day]) -> None:
        """The race days of a race id that ``next`` handed out (none if it failed)."""
        self._added.extend(days)
        self._expanding -= 1
        self._changed.set()

    async def next(self) -> Day | int | None:
        """A race day, or a race id the caller must expand and pass to ``expanded``."""
        while True:
            value = await self._take()
            if value is None:
                if not self._expanding:
                    return None
                self._changed.clear()
                await self._changed.wait()
                continue
            item = self._parse(value)
            if isinstance(item, int):
                self._expanding += 1
                return item
            if item not in self._handed:
                self._handed.add(item)
                return item

    async def _take(self) -> Any:
        if self._added:
            return self._added.popleft()
        if self._sync is not None:
            return next(self._sync, None)
        assert self._async is not None
        async with self._lock:
            return await anext(self._async, None)
