"""The object-store sink: images as objects in an S3 (or S3-compatible) bucket, via obstore.

``s3://BUCKET/PREFIX``; credentials, region and endpoint from the standard AWS settings
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``), the endpoint overridable by ``endpoint``; an ``http://`` endpoint
(a local S3-compatible server) needs nothing else.

An object exists only whole (S3's semantics): an image up to ``SINGLE_PUT_BYTES`` with a
Content-Length is gathered and sent as one PUT; a larger one streams as a multipart upload
of ``PART_BYTES`` parts, ``PARTS_IN_FLIGHT`` at a time, at most ``STREAMING_UPLOADS`` such
uploads at once (what bounds memory with huge images), and a failed or cancelled one is
aborted. Images go in overwrite mode to their deterministic keys, so a second put of the
same photo is harmless; the conditional modes (which send one PUT holding the whole
body) are kept for the small manifest objects (``bucket_manifest``).

Resuming: the first time a run meets a race day it lists the day's keys with their sizes
(one request per 1,000 objects; none when the access check found the prefix empty: a
first harvest into it has nothing to resume) and, only when that finds any, reads the
day's manifest object: with nothing stored there is nothing to keep, and the manifest
is then written with ``mode="create"`` (merged into one that exists after all). An
object listed at the size the manifest recorded, from the image the listing names now,
is done (``is_current``). An object the manifest does not claim (saved by a run killed
before its race day ended) is whole by S3's semantics; which image it holds, and its byte
count, are in its own metadata (``IMAGE_METADATA``, sent with its PUT, so written with
the bytes or not at all; only when the image host announced the length the bytes were
checked against): one HEAD reads it, and the object is done only if it names the image
listed now and its size now. Anything else is fetched again and overwritten.

Memory: a race day's entries are held from its first photo until ``race_day_done``, which
writes its manifest object and drops them; a long run holds only the race days in flight.
An interrupted run writes what it stored of its open race days as it closes (without
moving a mark); a killed one writes nothing, so its last objects are fetched again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import RunSignupError, StoreError, ValidationError
from . import bucket_manifest as bm
from ._base import Body, FileRef, Sink, is_current

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import S3Store

    from ...models import Photo
    from ..manifest import BibHit

__all__ = ["S3Sink", "StoreError", "bucket_bib_hits", "make_store", "parse_s3_url"]

logger = logging.getLogger("runsignup_async.harvest")

SINGLE_PUT_BYTES: Final = 5 * 1024 * 1024
PART_BYTES: Final = 5 * 1024 * 1024  # S3's smallest part
PARTS_IN_FLIGHT: Final = 2
STREAMING_UPLOADS: Final = 2
# The store's own retries of a failed request (throttling, 5xx, dropped connections).
STORE_RETRIES: Final = 3
STORE_RETRY_TIMEOUT: Final = timedelta(seconds=60)
CONNECT_TIMEOUT: Final = "5s"
# User metadata (x-amz-meta-*) of an image object: "<bytes> <image_identity()>", the byte
# count being the one the image host announced (no metadata when it announced none). One
# value, not two: a server parses each header of every PUT.
IMAGE_METADATA: Final = "runsignup-image"
EXTRA_HINT: Final = "s3:// destinations need the s3 extra: pip install 'runsignup-async[s3]'"
# S3's bucket naming rules (the strict ones: lowercase, digits, dots, hyphens).
_BUCKET: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def parse_s3_url(url: str, field: str = "dest") -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` -> (bucket, prefix without slashes at its ends)."""
    rest = url[len("s3://") :] if url.startswith("s3://") else None
    if rest is None:
        raise ValidationError(field, f"expected s3://BUCKET/PREFIX, got {url!r}")
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise ValidationError(field, f"{bucket!r} is not an S3 bucket name (s3://BUCKET/PREFIX)")
    parts = prefix.strip("/").split("/") if prefix.strip("/") else []
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        raise ValidationError(
            field, f"the prefix {prefix!r} has an empty, '.' or '..' part; name it plainly"
        )
    return bucket, "/".join(parts)


def image_metadata(nbytes: int, image: str) -> str:
    """The ``IMAGE_METADATA`` value of an object holding ``nbytes`` of ``image``."""
    return f"{nbytes} {image}"


def endpoint_of(endpoint: str | None) -> str | None:
    return endpoint or os.environ.get("AWS_ENDPOINT_URL") or None


def make_store(url: str, *, endpoint: str | None = None, field: str = "dest") -> S3Store:
    """An obstore ``S3Store`` for ``s3://BUCKET/PREFIX`` (checked first)."""
    bucket, prefix = parse_s3_url(url, field)
    try:
        from obstore.store import S3Store
    except ImportError:
        raise ValidationError(field, EXTRA_HINT) from None
    endpoint = endpoint_of(endpoint)
    config: dict[str, Any] = {}
    if endpoint:
        config["endpoint"] = endpoint
    return S3Store(
        bucket,
        prefix=prefix or None,
        config=config,  # type: ignore[arg-type]
        client_options={
            "allow_http": bool(endpoint and endpoint.startswith("http://")),
            "connect_timeout": CONNECT_TIMEOUT,
        },
        retry_config={
            "max_retries": STORE_RETRIES,
            "retry_timeout": STORE_RETRY_TIMEOUT,
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=5),
                "base": 2,
            },
        },
    )


_S3_ERROR: Final = re.compile(r"<Code>([^<]*)</Code>\s*<Message>([^<]*)</Message>")
_HTTP_ERROR: Final = re.compile(
    r"Error performing (?P<method>[A-Z]+) (?P<url>\S+) in [^-]*?"
    r"(?:, after (?P<retries>\d+) retries[^-]*)?- (?:HTTP error: )?(?P<why>.*)"
)


def describe_store_error(exc: BaseException) -> str:
    """One line from obstore's multi-line errors: S3's code and message when it sent one."""
    text = str(exc)
    found = _S3_ERROR.search(text)
    if found:
        return f"{found[1]}: {found[2]}"
    first = " ".join(text.split("\n\n", 1)[0].split())
    found = _HTTP_ERROR.search(first)
    if found:
        retries = f" after {found['retries']} retries" if found["retries"] else ""
        return f"{found['method']} {found['url']} failed{retries}: {found['why']}"
    return re.sub(r"^Generic S3 error: ", "", first) or type(exc).__name__


def _store_error(location: str, exc: BaseException) -> StoreError:
    return StoreError(f"{location}: {describe_store_error(exc)}")


async def check_store(store: S3Store, location: str) -> bool:
    """One listing request: the bucket exists, the credentials work, the endpoint answers.
    Whether anything is stored under the prefix."""
    import obstore

    try:
        found = await obstore.list_with_delimiter_async(store, None)
    except Exception as exc:  # obstore raises its own and builtin types alike
        raise _store_error(location, exc) from None
    return bool(found["common_prefixes"] or found["objects"])


@attrs.define
class _Day:
    """What a run knows about one race day of the bucket."""

    manifest: bm.DayManifest | None = None  # as read from the bucket; None: not read
    sizes: dict[str, int] | None = None  # key -> size of the objects listed
    photos: dict[str, dict[str, Any]] = attrs.Factory(dict)  # this run's entries


class S3Sink(Sink):
    def __init__(self, url: str, *, endpoint: str | None = None) -> None:
        self.location = url
        self.store = make_store(url, endpoint=endpoint)
        self._days: dict[tuple[int, int], _Day] = {}
        self._streams = asyncio.Semaphore(STREAMING_UPLOADS)
        # Nothing was stored under the prefix when the sink opened, and no run on it has
        # ended since: a race day has nothing to resume, so its keys are not listed. (A
        # writer beside this run makes it fetch again what that writer stores: wasted,
        # never wrong.) A queue worker's sink outlives its jobs: the first job's end,
        # however it ends, clears this.
        self._empty = False

    async def open(self) -> None:
        self._empty = not await check_store(self.store, self.location)

    async def close(self, *, interrupted: bool) -> None:
        # Race days still open (an interrupted run, a queue job cut short): record what
        # was stored of them, so the next run does not fetch it again. Every entry is of
        # an object whose put returned: none claims an image not stored whole.
        days, self._days = self._days, {}
        try:
            for key, day in days.items():
                if any(e["files"] for e in day.photos.values()):
                    await self._write(*key, day, None)
        except Exception:
            if not interrupted:
                raise
            # The interruption is what the caller gets; these objects are fetched again.
            logger.exception("harvest stopped; recording its last uploads failed too")

    def _open_day(self, race_id: int, day_id: int) -> _Day:
        # Not setdefault: that would build a _Day for every photo, to throw it away.
        day = self._days.get((race_id, day_id))
        if day is None:
            day = self._days[(race_id, day_id)] = _Day()
        return day

    async def _manifest(self, race_id: int, day_id: int) -> bm.DayManifest:
        """The race day's manifest object, read once a run."""
        day = self._open_day(race_id, day_id)
        if day.manifest is None:
            try:
                day.manifest = await bm.read(self.store, race_id, day_id)
            except Exception as exc:
                raise _store_error(self.location, exc) from None
        return day.manifest

    async def _listing(self, day: _Day, race_id: int, day_id: int) -> dict[str, int]:
        import obstore

        if day.sizes is not None:
            return day.sizes
        sizes: dict[str, int] = {}
        if not self._empty:  # (an empty prefix at the start: nothing to list)
            try:
                async for batch in obstore.list(
                    self.store, f"{race_id}/{day_id}/", chunk_size=1000
                ):
                    sizes.update((meta["path"], meta["size"]) for meta in batch)
            except Exception as exc:
                raise _store_error(self.location, exc) from None
        day.sizes = sizes
        return sizes

    async def high_water(self, race_id: int, race_event_days_id: int) -> datetime | None:
        ts = (await self._manifest(race_id, race_event_days_id)).high_water_ts
        return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)

    async def stored(self, photo: Photo, files: Sequence[FileRef]) -> set[str]:
        if not files:
            return set()
        race_id, day_id = files[0].race_id, files[0].race_event_days_id
        day = self._open_day(race_id, day_id)
        sizes = await self._listing(day, race_id, day_id)
        if not sizes:
            return set()  # nothing of the race day stored: no manifest to read for it
        manifest = await self._manifest(race_id, day_id)
        done = set()
        for ref in files:
            found = sizes.get(ref.key)
            if found is None:
                continue
            record = manifest.file(ref.photo_id, ref.size)
            if record is None or not is_current(
                ref, (record["key"], record.get("image"), record["bytes"]), found
            ):
                # Not claimed by the manifest as this image: maybe by the object itself.
                record = await self._own_record(ref, found)
                if record is None:
                    continue
            self._entry(day, ref.photo_id)["files"][ref.size] = record
            done.add(ref.size)
        return done

    async def _own_record(self, ref: FileRef, listed: int) -> dict[str, Any] | None:
        """What an object says of itself (one HEAD): its record when it holds ``ref``'s
        image at the size it was listed with, else None."""
        import obstore

        try:
            head = await obstore.get_async(self.store, ref.key, options={"head": True})
        except FileNotFoundError:
            return None  # gone since the listing
        except Exception as exc:
            raise _store_error(self.location, exc) from None
        said, _, image = head.attributes.get(IMAGE_METADATA, "").partition(" ")
        nbytes = int(said) if said.isdigit() else None
        if not is_current(ref, (ref.key, image, nbytes), head.meta["size"]) or listed != nbytes:
            return None
        return {"key": ref.key, "bytes": nbytes, "sha256": None, "image": image}

    def _entry(self, day: _Day, photo_id: int) -> dict[str, Any]:
        return day.photos[str(photo_id)]

    def record_photo(self, race_id: int, photo: Photo) -> None:
        day = self._open_day(race_id, photo.race_event_days_id)
        day.photos[str(photo.photo_id)] = bm.photo_entry(photo)

    def forget(self, race_id: int, race_event_days_id: int) -> None:
        self._empty = False
        self._days.pop((race_id, race_event_days_id), None)

    def finished(self, *, ok: bool) -> None:
        self._empty = False

    def record_failure(self, ref: FileRef, reason: str) -> None:
        pass  # the bucket keeps what is stored; failures are in the run's summary

    async def save(self, ref: FileRef, body: Body) -> None:
        import obstore

        attributes: Attributes = {}
        if body.expected is not None:
            attributes[IMAGE_METADATA] = image_metadata(body.expected, ref.image)
        try:
            if body.expected is not None and body.expected <= SINGLE_PUT_BYTES:
                data = b"".join([chunk async for chunk in body])
                await obstore.put_async(self.store, ref.key, data, use_multipart=False,
                                        attributes=attributes)  # fmt: skip
            else:
                async with self._streams:
                    await obstore.put_async(self.store, ref.key, body, chunk_size=PART_BYTES,
                                            max_concurrency=PARTS_IN_FLIGHT,
                                            attributes=attributes)  # fmt: skip
        except RunSignupError:
            raise  # the image host's error (raised through the body), not the store's
        except Exception as exc:
            raise _store_error(self.location, exc) from None
        day = self._days[(ref.race_id, ref.race_event_days_id)]
        self._entry(day, ref.photo_id)["files"][ref.size] = {
            "key": ref.key, "bytes": body.nbytes, "sha256": body.sha256, "image": ref.image,
        }  # fmt: skip

    async def race_day_done(
        self, race_id: int, race_event_days_id: int, newest: datetime | None, *, whole: bool
    ) -> None:
        # Forgotten first: the memory a run holds does not grow with its race days.
        day = self._days.pop((race_id, race_event_days_id), None)
        if day is None:
            return  # a race day without a photo: nothing to record
        await self._write(race_id, race_event_days_id, day, newest if whole else None)

    async def _write(self, race_id: int, day_id: int, day: _Day, newest: datetime | None) -> None:
        # Against the manifest as read; not read (nothing of the race day was stored):
        # written as new, merged into the manifest if there is one after all.
        manifest = day.manifest if day.manifest is not None else bm.DayManifest(race_id, day_id)
        mark = None if newest is None else int(newest.timestamp())
        try:
            await bm.write(self.store, manifest, day.photos, mark)
        except Exception as exc:
            raise _store_error(self.location, exc) from None


async def bucket_bib_hits(
    url: str, bib: int | None = None, *, s3_endpoint: str | None = None
) -> list[BibHit]:
    """The photos of a bucket harvest showing ``bib`` (all of them when None), by bib then
    photo, from its manifest objects alone; ``BibHit.files`` are keys under the prefix."""
    store = make_store(url, endpoint=s3_endpoint, field="location")
    await check_store(store, url)
    try:
        return await bm.bib_hits(store, bib)
    except Exception as exc:
        raise _store_error(url, exc) from None
