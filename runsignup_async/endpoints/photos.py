"""Race photos: albums, one page of photos, and walks over one or many race days."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from .. import _shapes
from .._endpoint_table import ENDPOINTS
from .._pagination import (
    AlbumsOfRaceDay,
    OnError,
    PagePosition,
    PhotoIterator,
    PhotoSource,
    RaceDay,
    RaceDayIterator,
    RaceItems,
    _Walk,
)
from ..errors import ValidationError
from ..models import Album, Photo
from ._base import (
    MAX_PAGE_SIZE,
    Namespace,
    check_bool,
    check_id,
    check_range,
    unix_seconds,
)

T = TypeVar("T")
ALBUMS = ENDPOINTS["get-race-photo-albums"]
PHOTOS = ENDPOINTS["get-race-photos"]


def _album_filter(album_id: int | str | None) -> int | None:
    if album_id is None:
        return None
    if isinstance(album_id, str):
        raise ValidationError(
            "album_id",
            f"{album_id!r} is the participant-uploads album, which cannot be selected by id;"
            " use include_participant_uploads instead",
        )
    return check_id("album_id", album_id)


class Photos(Namespace):
    """``client.photos``: the Race Photos API."""

    async def get_albums(self, *, race_id: int, race_event_days_id: int) -> list[Album]:
        """Albums of one race event day. https://runsignup.com/API/photos/get-race-photo-albums/GET"""
        params = {
            "race_id": check_id("race_id", race_id),
            "race_event_days_id": check_id("race_event_days_id", race_event_days_id),
        }
        return await self._call(ALBUMS, _shapes.albums_from, params=params)

    async def get_photos(
        self,
        *,
        race_id: int,
        race_event_days_id: int,
        page: int = 1,
        num: int = 100,
        uploaded_since: datetime | int | None = None,
        include_participant_uploads: bool = True,
        album_id: int | None = None,
    ) -> list[Photo]:
        """One page of a race day's photos. https://runsignup.com/API/photos/get-race-photos/GET

        Needs ``V2KeyAuth``: the page requires ``rsu_api_key`` with ``X-RSU-API-SECRET``.
        ``album_id`` is sent as ``generic_photo_album_id``. Each photo's ``race_id`` is set.
        """
        params = self._photo_params(
            race_id, race_event_days_id, num, uploaded_since, include_participant_uploads, album_id
        )
        check_range("page", page, 1, 1_000_000)
        return await self._source(race_id, params).fetch(page)

    def iter_photos(
        self,
        *,
        race_id: int,
        race_event_days_id: int,
        num: int = 100,
        uploaded_since: datetime | int | None = None,
        include_participant_uploads: bool = True,
        album_id: int | None = None,
        prefetch: int = 0,
        start: PagePosition | None = None,
    ) -> PhotoIterator:
        """Every photo of a race day: ``await`` it for the first page, ``async for`` for all.

        ``start`` resumes a walk from a saved ``PhotoIterator.position``.
        """
        params = self._photo_params(
            race_id, race_event_days_id, num, uploaded_since, include_participant_uploads, album_id
        )
        check_range("prefetch", prefetch, 0, 16)
        return PhotoIterator(
            self._source(race_id, params), start=start or PagePosition(), prefetch=prefetch
        )

    def iter_many(
        self,
        races: RaceItems,
        *,
        concurrency: int = 8,
        on_error: OnError = "raise",
        num: int = 100,
        include_participant_uploads: bool = True,
        positions: Mapping[RaceDay, PagePosition] | None = None,
    ) -> RaceDayIterator[Photo]:
        """Photos of many race days, walked ``concurrency`` at a time, each tagged with race_id.

        ``races`` holds ``RaceDay`` items, ``(race_id, race_event_days_id)`` pairs or bare
        race ids (each walked over all its race days, found by one GET of the race), in a
        list or any (async) iterable. With ``on_error="skip"`` a race day that fails is
        recorded in ``.report.failures``, a race whose days cannot be read (an unknown
        race) in ``.report.failed_races``, and the others complete. A race day given
        twice (or also through its race id) is walked once. ``positions`` (from a
        failed walk's ``.report.positions``) resumes race days where they stopped. A race
        day enters ``.report.completed`` (or ``.report.failures``) only once every photo
        of it has been handed out.
        """
        check_range("num", num, 1, MAX_PAGE_SIZE)
        check_bool("include_participant_uploads", include_participant_uploads)
        starts = dict(positions or {})

        def listing(day: RaceDay) -> _Walk:
            params = self._photo_params(
                day.race_id,
                day.race_event_days_id,
                num,
                day.uploaded_since,
                include_participant_uploads,
                None,
            )
            source = self._source(day.race_id, params)
            return _Walk(source, starts.get(day, PagePosition()), prefetch=0)

        return self._many(races, listing, concurrency=concurrency, on_error=on_error)

    def iter_albums_many(
        self, races: RaceItems, *, concurrency: int = 8, on_error: OnError = "raise"
    ) -> RaceDayIterator[Album]:
        """Albums of many race days, fetched ``concurrency`` at a time (races as in
        ``iter_many``: a bare race id stands for all its race days)."""

        def listing(day: RaceDay) -> AlbumsOfRaceDay:
            return AlbumsOfRaceDay(
                partial(
                    self.get_albums, race_id=day.race_id, race_event_days_id=day.race_event_days_id
                )
            )

        return self._many(races, listing, concurrency=concurrency, on_error=on_error)

    # --- shared by the methods above ----------------------------------------------------

    def _many(
        self,
        races: RaceItems,
        listing: Callable[[RaceDay], Any],
        *,
        concurrency: int,
        on_error: OnError,
    ) -> RaceDayIterator[T]:
        return RaceDayIterator(
            races,
            listing,
            concurrency=concurrency,
            on_error=on_error,
            expand=self._client.races.race_days,
        )

    def _photo_params(
        self,
        race_id: int,
        race_event_days_id: int,
        num: int,
        uploaded_since: datetime | int | None,
        include_participant_uploads: bool,
        album_id: int | None,
    ) -> dict[str, int | bool | None]:
        self._auth(PHOTOS)  # refuse other modes before anything is sent
        return {
            "race_id": check_id("race_id", race_id),
            "race_event_days_id": check_id("race_event_days_id", race_event_days_id),
            "num": check_range("num", num, 1, MAX_PAGE_SIZE),
            "uploaded_since_timestamp": unix_seconds("uploaded_since", uploaded_since),
            "include_participant_uploads": check_bool(
                "include_participant_uploads", include_participant_uploads
            ),
            "generic_photo_album_id": _album_filter(album_id),
        }

    def _source(self, race_id: int, params: dict[str, int | bool | None]) -> PhotoSource:
        decode = partial(_shapes.photos_from, race_id=race_id)

        async def request(page: int) -> list[Photo]:
            return await self._call(PHOTOS, decode, params={**params, "page": page})

        return PhotoSource(request=request)
