"""The manifest of a bucket harvest: one JSON object per race day, beside the images.

``<prefix>/_manifests/<race_id>/<race_event_days_id>.json`` (the layout's top-level names
are race ids, so ``_manifests`` never meets an image)::

    {"format": 1, "race_id": 1, "race_event_days_id": 2, "high_water_ts": 1700000000,
     "photos": {"<photo_id>": {"album_id": "7", "bibs": [12], "uploaded_ts": 1700000000,
                               "uploaded_filename": "a.jpg",
                               "files": {"original": {"key": "1/2/7/3-original.jpg",
                                                      "bytes": 123, "sha256": "...",
                                                      "image": "/3.jpg 800x600"
                                                      }}}}}

It is written as soon as a race day's listing and downloads have ended (and by an
interrupted run, for its open race days, without a mark), with a conditional put:
``mode="create"`` when there was none, else the e-tag it was read with. Another writer in
between (a second worker) makes the put fail; the object is read again, merged with what
this run adds, and put again. ``image`` is what the listing said of the image
(``image_identity``): a photo whose image changed is fetched again. ``photos-by-bib
s3://...`` reads these objects alone.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

import attrs
import msgspec

from ..manifest import BibHit

if TYPE_CHECKING:
    from obstore.store import S3Store

    from ...models import Photo

__all__ = ["MANIFESTS", "DayManifest", "bib_hits", "manifest_key", "photo_entry"]

MANIFESTS: Final = "_manifests"
FORMAT: Final = 1
# Conditional puts lost to another writer before giving up (each re-reads and merges).
WRITE_ATTEMPTS: Final = 5


def manifest_key(race_id: int, race_event_days_id: int) -> str:
    return f"{MANIFESTS}/{race_id}/{race_event_days_id}.json"


def photo_entry(photo: Photo) -> dict[str, Any]:
    return {
        "album_id": str(photo.album_id),
        "bibs": list(photo.bibs),
        "uploaded_ts": int(photo.uploaded_ts.timestamp()),
        "uploaded_filename": photo.uploaded_filename,
        "files": {},
    }


@attrs.define
class DayManifest:
    """One race day's manifest object as read (``e_tag`` None: there was none)."""

    race_id: int
    race_event_days_id: int
    high_water_ts: int | None = None
    photos: dict[str, dict[str, Any]] = attrs.Factory(dict)
    e_tag: str | None = None

    @classmethod
    def parse(cls, race_id: int, day_id: int, data: bytes, e_tag: str | None) -> DayManifest:
        doc = msgspec.json.decode(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"{manifest_key(race_id, day_id)}: not a format {FORMAT} manifest")
        return cls(race_id, day_id, doc.get("high_water_ts"), doc.get("photos") or {}, e_tag)

    def file(self, photo_id: int, size: str) -> dict[str, Any] | None:
        photo = self.photos.get(str(photo_id))
        return None if photo is None else photo["files"].get(size)

    def merge(self, photos: dict[str, dict[str, Any]], high_water_ts: int | None) -> dict[str, Any]:
        """The document to write: what was read, updated by ``photos`` (this run's)."""
        merged = {
            pid: {**entry, "files": dict(entry["files"])} for pid, entry in self.photos.items()
        }
        for pid, entry in photos.items():
            old = merged.get(pid)
            files = {**(old["files"] if old else {}), **entry["files"]}
            merged[pid] = {**entry, "files": files}
        marks = [ts for ts in (self.high_water_ts, high_water_ts) if ts is not None]
        return {
            "format": FORMAT,
            "race_id": self.race_id,
            "race_event_days_id": self.race_event_days_id,
            "high_water_ts": max(marks) if marks else None,
            "updated_at": time.time(),
            "photos": merged,
        }


async def read(store: S3Store, race_id: int, day_id: int) -> DayManifest:
    import obstore

    try:
        got = await obstore.get_async(store, manifest_key(race_id, day_id))
    except FileNotFoundError:
        return DayManifest(race_id, day_id)
    data = bytes(await got.bytes_async())
    return DayManifest.parse(race_id, day_id, data, got.meta["e_tag"])


async def write(
    store: S3Store,
    read_as: DayManifest,
    photos: dict[str, dict[str, Any]],
    high_water_ts: int | None,
) -> DayManifest:
    """Merge ``photos`` into the race day's manifest and put it, conditionally (see above)."""
    import obstore
    from obstore.exceptions import AlreadyExistsError, PreconditionError

    current = read_as
    for _ in range(WRITE_ATTEMPTS - 1):
        doc = current.merge(photos, high_water_ts)
        data = msgspec.json.encode(doc)  # compact; several times faster than json's
        mode: Any = "create" if current.e_tag is None else {"e_tag": current.e_tag}
        try:
            result = await obstore.put_async(
                store, manifest_key(current.race_id, current.race_event_days_id), data, mode=mode
            )
        except (AlreadyExistsError, PreconditionError):
            # Another writer got there first: merge into what it wrote.
            current = await read(store, current.race_id, current.race_event_days_id)
            continue
        return DayManifest(current.race_id, current.race_event_days_id, doc["high_water_ts"],
                           doc["photos"], result["e_tag"])  # fmt: skip
    raise RuntimeError(
        f"{manifest_key(read_as.race_id, read_as.race_event_days_id)}: changed by another"
        f" writer {WRITE_ATTEMPTS - 1} times in a row"
    )


async def manifest_keys(store: S3Store) -> AsyncIterator[tuple[int, int]]:
    import obstore

    async for batch in obstore.list(store, MANIFESTS, chunk_size=1000):
        for meta in batch:
            name = meta["path"].rsplit("/", 2)
            if len(name) == 3 and name[1].isdigit() and name[2].endswith(".json"):
                stem = name[2][: -len(".json")]
                if stem.isdigit():
                    yield int(name[1]), int(stem)


async def bib_hits(store: S3Store, bib: int | None = None) -> list[BibHit]:
    """The photos showing ``bib`` (every bib when None), by bib then photo, from the
    manifest objects alone. Files are keys under the store's prefix."""
    hits = []
    async for race_id, day_id in manifest_keys(store):
        day = await read(store, race_id, day_id)
        for pid, entry in day.photos.items():
            for photo_bib in dict.fromkeys(entry["bibs"]):
                if bib is None or photo_bib == bib:
                    files = {size: f["key"] for size, f in entry["files"].items()}
                    hits.append(BibHit(bib=photo_bib, race_id=race_id, race_event_days_id=day_id,
                                       photo_id=int(pid), album_id=entry["album_id"],
                                       uploaded_ts=entry["uploaded_ts"],
                                       uploaded_filename=entry["uploaded_filename"],
                                       files=files))  # fmt: skip
    hits.sort(key=lambda h: (h.bib, h.race_id, h.race_event_days_id, h.photo_id))
    return hits
