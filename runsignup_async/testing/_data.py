"""The fake's data: a deterministic generator and the in-memory store the handlers read.

``FakeData.generate(seed, ...)`` builds races, each with event days, events, photo albums
(always including the "All Participant Uploads" album ``reg-<race_event_days_id>``) and
photos with bibs and upload timestamps. The same seed always gives the same data. Per race
day, the photos are kept sorted both ways the fake can list them, so a page is a slice.
"""

from __future__ import annotations

import random
from typing import Any, Final, Literal

import attrs

__all__ = ["Album", "FakeData", "Photo", "RaceDay", "RaceDayIds"]

PhotoOrder = Literal["photo_id", "newest_first"]
BASE_TS: Final = 1_593_547_220  # the pages' example uploaded_ts
_DIMENSIONS: Final = (("original", 1.0), ("thumbnail", 0.1875), ("large", 0.5625))
_ALBUM_NAMES: Final = ("Photos", "Finish Line", "Start Line", "Course", "Awards")


@attrs.frozen
class Photo:
    photo_id: int
    album_id: int | str
    race_id: int
    race_event_days_id: int
    bibs: tuple[int, ...]
    uploaded_ts: int
    uploaded_filename: str
    width: int
    height: int

    @property
    def participant_upload(self) -> bool:
        return isinstance(self.album_id, str)

    def to_json(self, image_base_url: str) -> dict[str, Any]:
        """The photo as get-race-photos lists it, image URLs on the image origin."""
        doc: dict[str, Any] = {
            "photo_id": self.photo_id,
            "album_id": self.album_id,
            "race_event_days_id": self.race_event_days_id,
            "bibs": list(self.bibs),
        }
        for size, scale in _DIMENSIONS:
            doc[size] = {
                "image_url": f"{image_base_url}/images/{self.photo_id}-{size}.jpg",
                "height": max(1, round(self.height * scale)),
                "width": max(1, round(self.width * scale)),
            }
        doc["uploaded_filename"] = self.uploaded_filename
        doc["uploaded_ts"] = self.uploaded_ts
        return doc


@attrs.define
class Album:
    album_id: int | str
    album_name: str
    photo_ids: list[int] = attrs.Factory(list)
    last_modified_ts: int = BASE_TS


@attrs.frozen
class RaceDayIds:
    """What ``add_race_day`` created."""

    race_id: int
    race_event_days_id: int
    event_ids: tuple[int, ...]
    album_ids: tuple[int | str, ...]
    photo_ids: tuple[int, ...]


@attrs.define
class RaceDay:
    race_id: int
    race_event_days_id: int
    albums: dict[int | str, Album]
    photos: list[Photo] = attrs.Factory(list)
    by_id: list[Photo] = attrs.Factory(list)
    newest_first: list[Photo] = attrs.Factory(list)

    def reindex(self) -> None:
        self.by_id = sorted(self.photos, key=lambda p: p.photo_id)
        self.newest_first = sorted(self.photos, key=lambda p: (-p.uploaded_ts, -p.photo_id))

    def ordered(self, order: PhotoOrder) -> list[Photo]:
        return self.by_id if order == "photo_id" else self.newest_first


class FakeData:
    """The store: race JSON, race days with photos, team types, activities; and id counters."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.races: dict[int, dict[str, Any]] = {}
        self.days: dict[tuple[int, int], RaceDay] = {}
        self.photo_index: dict[int, Photo] = {}
        self.team_types: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.activities: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
        self._next = {"race": 1000, "day": 5000, "event": 10000, "album": 1, "team": 1100}
        self.next_photo_id = 1
        self.latest_ts = BASE_TS

    @classmethod
    def generate(
        cls,
        seed: int = 0,
        *,
        races: int = 3,
        days_per_race: int = 1,
        events_per_day: int = 2,
        albums_per_day: int = 2,
        photos_per_race_day: int = 25,
        participant_share: float = 0.1,
    ) -> FakeData:
        data = cls(seed)
        rng = data.rng
        # Seeded starting points make ids differ between seeds, as real ids do.
        data._next = {
            "race": rng.randrange(1000, 90000),
            "day": rng.randrange(5000, 90000),
            "event": rng.randrange(10000, 90000),
            "album": rng.randrange(1, 500),
            "team": rng.randrange(1000, 9000),
        }
        data.next_photo_id = rng.randrange(1, 10_000)
        for _ in range(races):
            race_id = data.new_id("race")
            data.races[race_id] = data._race_json(race_id)
            for _ in range(days_per_race):
                data.add_race_day(
                    race_id,
                    events=events_per_day,
                    albums=albums_per_day,
                    photos=photos_per_race_day,
                    participant_share=participant_share,
                )
        return data

    def new_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1 + self.rng.randrange(3)
        return value

    def _race_json(self, race_id: int) -> dict[str, Any]:
        return {
            "race_id": race_id,
            "name": f"Fake Race {race_id}",
            "url_string": f"FakeRace{race_id}",
            "draft_race": "F",
            "address": {"city": "Moorestown", "state": "NJ", "country_code": "US"},
            "timezone": "America/New_York",
            "events": [],
        }

    def add_race_day(
        self,
        race_id: int,
        race_event_days_id: int | None = None,
        *,
        events: int = 1,
        albums: int = 1,
        photos: int = 0,
        participant_share: float = 0.1,
    ) -> RaceDayIds:
        """A new event day for ``race_id`` (the race is created if unknown)."""
        race = self.races.get(race_id)
        if race is None:
            race = self.races[race_id] = self._race_json(race_id)
        days_id = self.new_id("day") if race_event_days_id is None else race_event_days_id
        if (race_id, days_id) in self.days:
            raise ValueError(f"race day {race_id}/{days_id} already exists")
        event_ids = []
        for n in range(events):
            event_id = self.new_id("event")
            event_ids.append(event_id)
            race["events"].append(
                {
                    "event_id": event_id,
                    "race_event_days_id": days_id,
                    "name": f"Event {n + 1}",
                    "start_time": "2020-07-25 08:30:00",
                    "event_type": "running_race",
                    "distance": 5,
                    "distance_units": "K",
                }
            )
        self._add_day(race_id, days_id, albums)
        photo_ids = self.add_photos(race_id, days_id, photos, participant_share=participant_share)
        return RaceDayIds(
            race_id,
            days_id,
            tuple(event_ids),
            tuple(self.days[(race_id, days_id)].albums),
            tuple(photo_ids),
        )

    def _add_day(self, race_id: int, days_id: int, albums: int) -> RaceDay:
        album_map: dict[int | str, Album] = {}
        for n in range(albums):
            album_id = self.new_id("album")
            album_map[album_id] = Album(album_id, _ALBUM_NAMES[n % len(_ALBUM_NAMES)])
        reg_id = f"reg-{days_id}"
        album_map[reg_id] = Album(reg_id, "All Participant Uploads")
        day = self.days[(race_id, days_id)] = RaceDay(race_id, days_id, album_map)
        return day

    def add_photos(
        self,
        race_id: int,
        race_event_days_id: int,
        n: int,
        *,
        uploaded_ts: int | None = None,
        album_id: int | str | None = None,
        participant_share: float = 0.0,
    ) -> list[int]:
        """``n`` new photos, newer than any existing one unless ``uploaded_ts`` is given.

        They go into ``album_id``; by default into the day's generic albums, with about
        ``participant_share`` of them in the participant uploads album.
        """
        day = self.days.get((race_id, race_event_days_id))
        if day is None:
            raise KeyError(f"no race day {race_id}/{race_event_days_id}")
        rng = self.rng
        generic = [a for a in day.albums if not isinstance(a, str)]
        reg = f"reg-{race_event_days_id}"
        if album_id is not None and album_id not in day.albums:
            raise KeyError(f"no album {album_id!r} in race day {race_event_days_id}")
        ids = []
        for _ in range(n):
            if album_id is not None:
                target: int | str = album_id
            elif not generic or rng.random() < participant_share:
                target = reg
            else:
                target = generic[rng.randrange(len(generic))]
            # Upload times jitter, so "newest first" is not simply "highest id first".
            ts = uploaded_ts if uploaded_ts is not None else self.latest_ts + rng.randrange(0, 40)
            self.latest_ts = max(self.latest_ts, ts)
            photo = Photo(
                photo_id=self.next_photo_id,
                album_id=target,
                race_id=race_id,
                race_event_days_id=race_event_days_id,
                bibs=tuple(sorted(rng.sample(range(1, 3000), rng.randrange(0, 4)))),
                uploaded_ts=ts,
                uploaded_filename=f"IMG_{self.next_photo_id:05d}.jpg",
                width=rng.choice((1600, 1200, 1062)),
                height=rng.choice((1067, 1200, 900)),
            )
            self.next_photo_id += 1 + rng.randrange(3)
            day.photos.append(photo)
            self.photo_index[photo.photo_id] = photo
            album = day.albums[target]
            album.photo_ids.append(photo.photo_id)
            album.last_modified_ts = max(album.last_modified_ts, ts)
            ids.append(photo.photo_id)
        day.reindex()
        return ids

    def albums_json(self, day: RaceDay, site_url: str) -> list[dict[str, Any]]:
        out = []
        for album in day.albums.values():
            doc: dict[str, Any] = {
                "album_id": album.album_id,
                "race_event_days_id": day.race_event_days_id,
                "album_url": f"{site_url}/Race/Photos/{day.race_id}/{album.album_id}",
                "album_name": album.album_name,
            }
            # The participant uploads album has no last_modified_ts, as in the page's example.
            if not isinstance(album.album_id, str):
                doc["last_modified_ts"] = album.last_modified_ts
            doc["num_photos"] = len(album.photo_ids)
            out.append(doc)
        return out

    def race_days(self) -> list[tuple[int, int]]:
        return sorted(self.days)

    def event_ids(self, race_id: int) -> set[int]:
        return {e["event_id"] for e in self.races.get(race_id, {}).get("events", [])}
