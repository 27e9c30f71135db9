"""Walking the photo listing: pages, items, resumable positions, many race days at once.

The API gives no total count: a listing ends on an empty page. A short page is not the
end, because a server may cap ``num`` below what was asked. Pages are fetched in order
(with ``prefetch=k``, up to k more in flight ahead), photos already seen in the walk are
dropped, and the position (next page, newest upload seen) advances only once the consumer
has taken a whole page, so a job can resume from it after a failure.

Fetching pages one after another (``prefetch=0``, the default) guarantees that a photo
present when the walk began is never missed, even while new uploads shift the pages: a
photo only ever moves to a later position, and the walk reads positions in order until a
page is empty. Pages fetched concurrently may be answered out of order, so ``prefetch``
trades that guarantee for speed on a listing that is being uploaded to.

``iter_many`` walks many race days at once with ``concurrency`` workers, one race day each
(a bare race id is first expanded to all its race days, by one GET of the race);
pages from all of them meet in one bounded queue, so a huge race cannot starve the others
and a slow consumer holds memory flat. Leaving the loop, by ``break``, an exception or
cancellation, cancels every worker and every request in flight. With ``async with`` that
happens before the block exits; without it, as soon as the iterator is dropped.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
)
from contextlib import aclosing
from datetime import datetime
from operator import attrgetter
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, Union

import attrs

from ._race_source import RaceSource
from .errors import RunSignupError, ValidationError
from .models import Album, Photo

# What users hold; PhotoSource and AlbumsOfRaceDay are the endpoints' plumbing.
__all__ = ["ManyReport", "OnError", "PagePosition", "PhotoIterator", "RaceDay", "RaceDayIterator"]

T = TypeVar("T")
OnError = Literal["raise", "skip"]
# What the many-race-day walks take: a race day, or a bare race id for all of its days.
RaceItem = Union["RaceDay", tuple[int, int], int]
RaceItems = Iterable[RaceItem] | AsyncIterable[RaceItem]
# A race id -> its race_event_days_ids (client.races.race_days).
Expand = Callable[[int], Awaitable[list[int]]]


def _positive_id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(attribute.name, f"must be a positive integer id, got {value!r}")


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise ValidationError(attribute.name, f"must be an aware datetime or None, got {value!r}")


@attrs.frozen
class RaceDay:
    """One race event day to list; ``uploaded_since`` limits it to newer photos."""

    race_id: int = attrs.field(validator=_positive_id)
    race_event_days_id: int = attrs.field(validator=_positive_id)
    uploaded_since: datetime | None = attrs.field(default=None, validator=_aware)

    @classmethod
    def of(cls, value: RaceDay | tuple[int, int]) -> RaceDay:
        if isinstance(value, RaceDay):
            return value
        if isinstance(value, tuple) and len(value) == 2:
            return cls(*value)
        raise ValidationError(
            "races", f"expected RaceDay or (race_id, race_event_days_id), got {value!r}"
        )

    @classmethod
    def or_race(cls, value: RaceItem) -> RaceDay | int:
        """``value`` as a ``RaceDay``, or a checked bare race id (for all its race days)."""
        if isinstance(value, int) and not isinstance(value, bool):
            if value <= 0:
                raise ValidationError("races", f"a race id must be positive, got {value}")
            return value
        if isinstance(value, RaceDay | tuple):
            return cls.of(value)
        raise ValidationError(
            "races",
            f"expected RaceDay, (race_id, race_event_days_id) or a race id, got {value!r}",
        )


@attrs.frozen
class PagePosition:
    """Where a walk stands: the next page to fetch and the newest upload seen so far."""

    next_page: int = 1
    max_uploaded_ts: datetime | None = None


@attrs.frozen
class PhotoSource:
    """How a walk gets one page: a request whose answer is read straight into photos."""

    request: Callable[[int], Awaitable[list[Photo]]]

    async def fetch(self, page: int) -> list[Photo]:
        return await self.request(page)


class _Walk:
    """One walk over one photo listing: the pages, the dedupe set and the position."""

    def __init__(self, source: PhotoSource, start: PagePosition, prefetch: int) -> None:
        self._source = source
        self._prefetch = prefetch
        self._seen: set[int] = set()
        self.position = start

    async def pages(self) -> AsyncGenerator[list[Photo], None]:
        source = self._source
        page = self.position.next_page
        ahead: deque[asyncio.Future[Any]] = deque()
        try:
            answer = None if self._prefetch else await source.request(page)
            while True:
                if self._prefetch:
                    while len(ahead) <= self._prefetch:
                        ahead.append(asyncio.ensure_future(source.fetch(page + len(ahead))))
                    batch = await ahead.popleft()
                else:
                    # The next request is sent inline, as soon as this page is handed
                    # on: a page is decoded within its own request, and a task per
                    # request to overlap the little left (dedupe, hand-off) cost more
                    # in event-loop turns than it hid (benchmarks/README.md, issue 16).
                    batch = answer
                if not batch:
                    return
                fresh = self._fresh(batch)
                newest = max(map(_UPLOADED_TS, batch))
                if fresh:
                    yield fresh
                page += 1
                known = self.position.max_uploaded_ts
                self.position = PagePosition(
                    next_page=page,
                    max_uploaded_ts=newest if known is None or newest > known else known,
                )
                if not self._prefetch:
                    answer = await source.request(page)
        finally:
            await _cancel_all(ahead)

    def _fresh(self, batch: list[Photo]) -> list[Photo]:
        """The photos of ``batch`` not seen before in this walk (usually all of them)."""
        seen = self._seen
        ids = list(map(_PHOTO_ID, batch))
        if seen.isdisjoint(ids):
            size = len(seen)
            seen.update(ids)
            if len(seen) == size + len(ids):  # all new and distinct: the page as it is
                return batch
            seen.difference_update(ids)  # a photo twice in one page: undo, go one by one
        fresh = []
        for photo, photo_id in zip(batch, ids, strict=True):
            if photo_id not in seen:
                seen.add(photo_id)
                fresh.append(photo)
        return fresh


_PHOTO_ID = attrgetter("photo_id")
_UPLOADED_TS = attrgetter("uploaded_ts")


async def _cancel_all(futures: Iterable[asyncio.Future[Any]]) -> None:
    pending = [f for f in futures if not f.done()]
    for future in pending:
        future.cancel()
    # Collect results and errors of the rest so none is reported as never retrieved.
    await asyncio.gather(*futures, return_exceptions=True)


class PhotoIterator:
    """The photos of one race day: ``await`` it for one page, ``async for`` it for photos.

    ``pages()`` iterates page by page; ``position`` is where a later call can resume
    (``iter_photos(..., start=position)``).
    """

    def __init__(self, source: PhotoSource, *, start: PagePosition, prefetch: int) -> None:
        self._source = source
        self._walk = _Walk(source, start, prefetch)

    @property
    def position(self) -> PagePosition:
        return self._walk.position

    def __await__(self) -> Generator[Any, None, list[Photo]]:
        return self._source.fetch(self.position.next_page).__await__()

    def pages(self) -> AsyncGenerator[list[Photo], None]:
        return self._walk.pages()

    def __aiter__(self) -> AsyncIterator[Photo]:
        return self._items()

    async def _items(self) -> AsyncGenerator[Photo, None]:
        async with aclosing(self._walk.pages()) as pages:
            async for page in pages:
                for photo in page:
                    yield photo


@attrs.define
class ManyReport:
    """What an ``iter_many`` walk did, race day by race day."""

    completed: list[RaceDay] = attrs.field(factory=list)
    failures: dict[RaceDay, RunSignupError] = attrs.field(factory=dict)
    # Bare race ids whose race days could not be read (an unknown race, ...).
    failed_races: dict[int, RunSignupError] = attrs.field(factory=dict)
    max_uploaded_ts: dict[RaceDay, datetime] = attrs.field(factory=dict)
    positions: dict[RaceDay, PagePosition] = attrs.field(factory=dict)


class _Listing(Protocol[T]):  # pragma: no cover - a typing protocol
    position: PagePosition

    def pages(self) -> AsyncGenerator[list[T], None]: ...


class AlbumsOfRaceDay:
    """The albums listing of one race day as a one-page walk."""

    def __init__(self, fetch: Callable[[], Awaitable[list[Album]]]) -> None:
        self._fetch = fetch
        self.position = PagePosition()

    async def pages(self) -> AsyncGenerator[list[Album], None]:
        yield await self._fetch()


_DONE = object()


@attrs.frozen
class _DayEnd:
    """A race day's listing ended (``error`` None: whole); queued after its last page."""

    day: RaceDay
    position: PagePosition
    error: RunSignupError | None


class RaceDayIterator(Generic[T]):
    """Items of many race days, walked concurrently. See the module docstring."""

    def __init__(
        self,
        races: RaceItems,
        listing: Callable[[RaceDay], _Listing[T]],
        *,
        concurrency: int,
        on_error: OnError,
        expand: Expand | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(
                "concurrency", f"must be a whole number >= 1, got {concurrency!r}"
            )
        if on_error not in ("raise", "skip"):
            raise ValidationError("on_error", f"must be 'raise' or 'skip', got {on_error!r}")
        if isinstance(races, list | tuple):
            races = [RaceDay.or_race(race) for race in races]  # refuse bad input before any I/O
        self._races = races
        self._expand = expand
        self._listing = listing
        self._concurrency = concurrency
        self._on_error = on_error
        self._active: weakref.ref[AsyncGenerator[T, None]] | None = None
        self._held: list[AsyncGenerator[T, None]] | None = None
        self.report = ManyReport()

    def __aiter__(self) -> AsyncIterator[T]:
        run = self._run()
        if self._held is not None:
            # Inside `async with`: held until __aexit__ closes it, right there.
            self._held.append(run)
        # Otherwise weak, so that a loop left by `break` lets the walk be finalised.
        self._active = weakref.ref(run)
        return run

    async def __aenter__(self) -> RaceDayIterator[T]:
        self._held = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the walk now: cancel every worker and request in flight."""
        held, self._held = self._held or [], None
        run = self._active() if self._active is not None else None
        for walk in {*held, *([run] if run is not None else [])}:
            await walk.aclose()

    async def _run(self) -> AsyncGenerator[T, None]:
        # Two pages per worker keeps every worker busy while bounding memory.
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * self._concurrency)
        source: RaceSource[RaceDay] = RaceSource(self._races, RaceDay.or_race)
        workers = [
            asyncio.ensure_future(self._worker(source, queue)) for _ in range(self._concurrency)
        ]
        running = len(workers)
        try:
            while running:
                item = await queue.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                elif isinstance(item, _DayEnd):
                    self._ended(item)
                else:
                    for value in item:
                        yield value
        finally:
            await _cancel_all(workers)

    def _ended(self, end: _DayEnd) -> None:
        """Report a race day once the consumer has been handed all its items: a day in
        ``report.completed`` has nothing of it still on its way."""
        report = self.report
        report.positions[end.day] = end.position
        if end.error is not None:
            report.failures[end.day] = end.error
            return
        report.completed.append(end.day)
        if end.position.max_uploaded_ts is not None:
            report.max_uploaded_ts[end.day] = end.position.max_uploaded_ts

    async def _worker(self, source: RaceSource[RaceDay], queue: asyncio.Queue[Any]) -> None:
        try:
            while (day := await source.next()) is not None:
                if isinstance(day, int):
                    if not await self._expand_race(day, source, queue):
                        return
                    continue
                listing = self._listing(day)
                try:
                    # Closed here, not by the garbage collector: a cancelled worker must
                    # not leave its walk's request in flight behind it.
                    async with aclosing(listing.pages()) as pages:
                        async for page in pages:
                            await queue.put(page)
                except RunSignupError as exc:
                    if self._on_error == "raise":
                        self.report.positions[day] = listing.position
                        await queue.put(exc)
                        return
                    await queue.put(_DayEnd(day, listing.position, exc))
                    continue
                # Behind the day's pages in the queue: reported once they were handed out.
                await queue.put(_DayEnd(day, listing.position, None))
        except Exception as exc:  # a bug or bad input: surface it, never lose it
            await queue.put(exc)
            return
        await queue.put(_DONE)

    async def _expand_race(
        self, race_id: int, source: RaceSource[RaceDay], queue: asyncio.Queue[Any]
    ) -> bool:
        """Hand out the race days of ``race_id``; False when the walk must stop (on_error)."""
        days: list[RaceDay] = []
        try:
            if self._expand is None:  # a walk built without the client: a bug, surfaced
                raise TypeError(f"this walk cannot expand the bare race id {race_id}")
            try:
                found = await self._expand(race_id)
            except RunSignupError as exc:
                if self._on_error == "raise":
                    await queue.put(exc)
                    return False
                self.report.failed_races[race_id] = exc
                return True
            days = [RaceDay(race_id, days_id) for days_id in found]
        finally:
            source.expanded(days)
        return True
