"""``harvest()``: list photos of many race days and download them, resumably.

A listing task walks the race days with ``client.photos.iter_many`` (``concurrency`` at
a time) and feeds photos still to fetch into a bounded queue; a pool of download workers
(one per ``client.download_concurrency`` slot) drains it. The queue is what keeps memory
flat: a listing far ahead of the downloads waits. Each image streams from the image host
into the sink (``sinks``: a local directory or a bucket), which keeps it whole or not at
all and records it. Everything the sink is told happens on the event loop thread, so it
needs no lock.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .. import _retry
from .._pagination import ManyReport, RaceDay, RaceItems
from ..errors import RunSignupError
from . import _settings as S
from ._races import race_days
from ._report import EventKind, Failure, HarvestEvent, HarvestStats, HarvestSummary, Key
from .layout import check_sizes, photo_key
from .sinks import Body, FileRef, Sink, image_identity, sink_for

if TYPE_CHECKING:
    from .._client import Client
    from ..models import Photo

__all__ = ["Failure", "HarvestEvent", "HarvestStats", "HarvestSummary", "harvest", "harvest_into"]


@attrs.frozen
class _Job:
    race_id: int
    photo: Photo
    files: tuple[FileRef, ...]


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())  # one line, whatever the error said


class _Harvest:
    """One run's state: shared by the listing task and the download workers."""

    def __init__(
        self,
        client: Client,
        sink: Sink,
        sizes: tuple[str, ...],
        progress: Callable[[HarvestEvent], None] | None,
    ) -> None:
        self.client = client
        self.sink = sink
        self.sizes = sizes
        self.progress = progress
        self.stats = HarvestStats()
        self.report = ManyReport()
        self.failed_days: set[Key] = set()  # race days still open with a failure
        self.noted = (0, 0)  # race days already reported listed, failed
        # Per race day still open: downloads planned and not yet ended; and the race days
        # whose listing has ended, with their newest upload, waiting for those downloads.
        self.jobs: dict[Key, int] = {}
        self.listed: dict[Key, datetime | None] = {}

    def emit(
        self,
        kind: EventKind,
        key: tuple[int, int | None],
        photo_id: int | None = None,
        detail: str = "",
    ) -> None:
        if self.progress is not None:
            self.progress(HarvestEvent(kind, self.stats, key[0], key[1], photo_id, detail or None))

    # --- listing -------------------------------------------------------------------------

    async def list_photos(
        self, days: list[RaceDay], concurrency: int, queue: asyncio.Queue[_Job | None], workers: int
    ) -> None:
        walk = self.client.photos.iter_many(days, concurrency=concurrency, on_error="skip")
        self.report = walk.report
        async with walk:
            async for photo in walk:
                await self.note_listings()
                job = await self.plan(photo)
                if job is not None:
                    await queue.put(job)  # waits while the workers are behind
        await self.note_listings()
        for _ in range(workers):
            await queue.put(None)

    async def note_listings(self) -> None:
        """Report race days whose listing ended since the last look (``iter_many`` reports
        a race day only after handing out its last photo) and close those with nothing
        left to download."""
        report = self.report
        listed, failed = self.noted
        if len(report.completed) == listed and len(report.failures) == failed:
            return
        self.noted = (len(report.completed), len(report.failures))
        ended = []
        for day in report.completed[listed:]:
            key = (day.race_id, day.race_event_days_id)
            self.stats.race_days_listed += 1
            self.emit("race_day_listed", key)
            ended.append((key, report.max_uploaded_ts.get(day)))
        for day, exc in list(report.failures.items())[failed:]:
            key = (day.race_id, day.race_event_days_id)
            self.stats.race_days_failed += 1
            self.failed_days.add(key)
            self.stats.fail(Failure(key[0], key[1], None, None, _reason(exc)))
            self.emit("race_day_failed", key, detail=_reason(exc))
            ended.append((key, None))
        for key, newest in ended:
            self.listed[key] = newest
            if not self.jobs.get(key):
                await self.race_day_done(key)

    def races_failed(self, failed: dict[int, RunSignupError]) -> None:
        """Report bare race ids whose race days could not be read, as failed race days."""
        for race_id, exc in failed.items():
            self.stats.race_days_failed += 1
            self.stats.fail(Failure(race_id, None, None, None, _reason(exc)))
            self.emit("race_day_failed", (race_id, None), detail=_reason(exc))

    async def plan(self, photo: Photo) -> _Job | None:
        """Record a listed photo; return the files still to fetch, or None to skip it."""
        stats = self.stats
        stats.photos_found += 1
        race_id = photo.race_id
        assert race_id is not None  # iter_many tags every photo with its race
        key = (race_id, photo.race_event_days_id)
        sink = self.sink
        sink.record_photo(race_id, photo)
        refs = []
        for size in self.sizes:
            image = getattr(photo, size)
            if image is None:
                # Not every photo has every size: recorded, not a failure.
                stats.images_missing += 1
                sink.record_missing(race_id, photo, size)
                continue
            try:
                where = photo_key(
                    race_id=race_id,
                    race_event_days_id=photo.race_event_days_id,
                    album_id=photo.album_id,
                    photo_id=photo.photo_id,
                    size=size,
                    url=image.image_url,
                )
            except ValueError as exc:
                self.photo_failed(key, photo.photo_id, [(size, _reason(exc))])
                return None
            identity = image_identity(image.image_url, image.width, image.height)
            refs.append(FileRef(*key, photo.photo_id, size, where, image.image_url, identity))
        done = await sink.stored(photo, refs)  # what is stored whole: no request at all
        todo = tuple(ref for ref in refs if ref.size not in done)
        if not todo:
            stats.photos_skipped += 1
            self.emit("photo_skipped", key, photo.photo_id)
            return None
        self.jobs[key] = self.jobs.get(key, 0) + 1
        return _Job(race_id, photo, todo)

    # --- downloading ---------------------------------------------------------------------

    async def download_worker(self, queue: asyncio.Queue[_Job | None]) -> None:
        while (job := await queue.get()) is not None:
            await self.fetch(job)

    async def fetch(self, job: _Job) -> None:
        photo = job.photo
        key = (job.race_id, photo.race_event_days_id)
        errors = []
        for ref in job.files:
            try:
                nbytes = await self.fetch_file(ref)
            except (RunSignupError, OSError) as exc:
                reason = _reason(exc)
                self.sink.record_failure(ref, reason)
                errors.append((ref.size, reason))
                continue
            self.stats.files_downloaded += 1
            self.stats.bytes_downloaded += nbytes
        if errors:
            self.photo_failed(key, photo.photo_id, errors)
        else:
            self.stats.photos_downloaded += 1
            self.emit("photo_downloaded", key, photo.photo_id)
        self.jobs[key] -= 1
        if not self.jobs[key] and key in self.listed:
            await self.race_day_done(key)

    async def fetch_file(self, ref: FileRef) -> int:
        """Stream one image from the image host into the sink; its byte count."""

        # GETs of an image: retried as the client's table retries any GET (a 404 or 403
        # is final: the same URL will not start working).
        async def attempt(_: int) -> int:
            async with self.client.download(ref.url) as response:
                body = Body(response.chunks, response.content_length, ref.url)
                await self.sink.save(ref, body)
            return body.nbytes

        return await _retry.with_retries(
            attempt, S.IMAGE_RETRY, idempotent=True, what="image download"
        )

    def photo_failed(self, key: Key, photo_id: int, errors: list[tuple[str, str]]) -> None:
        self.stats.photos_failed += 1
        self.failed_days.add(key)
        for size, reason in errors:
            self.stats.fail(Failure(key[0], key[1], photo_id, size, reason))
        self.emit("photo_failed", key, photo_id, "; ".join(f"{s}: {r}" for s, r in errors))

    # --- the end of a race day and of the run ------------------------------------------

    async def race_day_done(self, key: Key) -> None:
        """Every photo of the race day was listed (or its listing failed) and every one of
        its downloads has ended: the sink records it now, and forgets it. Its
        ``--since-last`` mark moves only if nothing of it failed."""
        newest = self.listed.pop(key)
        self.jobs.pop(key, None)
        whole = key not in self.failed_days
        self.failed_days.discard(key)
        await self.sink.race_day_done(*key, newest, whole=whole)
        self.emit("race_day_done", key)

    async def run(
        self, days: list[RaceDay], concurrency: int, failed: dict[int, RunSignupError]
    ) -> HarvestSummary:
        """List ``days`` and download what they hold; the summary of the run.

        ``failed``: bare race ids given to harvest whose race days could not be read.
        """
        self.stats.race_days = len(days) + len(failed)
        self.races_failed(failed)
        workers = self.client.download_concurrency
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=workers * S.QUEUE_PER_WORKER)
        tasks = [asyncio.ensure_future(self.list_photos(days, concurrency, queue, workers))]
        tasks += [asyncio.ensure_future(self.download_worker(queue)) for _ in range(workers)]
        background = asyncio.ensure_future(self.sink.run())
        try:
            pending = {*tasks, background}  # the sink's background work only ends by failing
            while pending - {background}:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if (error := task.exception()) is not None:
                        raise error
        finally:
            for task in tasks:
                task.cancel()
            # Each worker cleans up its partial image as it unwinds; wait for all of them.
            await asyncio.gather(*tasks, return_exceptions=True)
            background.cancel()
            await asyncio.gather(background, return_exceptions=True)
        summary = self.stats.summary()
        self.sink.finished(ok=summary.ok)
        return summary


def _since_mark(day: RaceDay, mark: datetime | None) -> RaceDay:
    """``day`` limited to uploads after its mark: a new object, the caller's is untouched.

    Where the caller gave an ``uploaded_since`` too, the later of the two bounds holds; a
    race day with no mark yet keeps the caller's bound.
    """
    bounds = [t for t in (day.uploaded_since, mark) if t is not None]
    return attrs.evolve(day, uploaded_since=max(bounds, default=None))


async def harvest(
    client: Client,
    races: RaceItems,
    dest: str | os.PathLike[str],
    *,
    sizes: Sequence[str] = ("original",),
    concurrency: int = S.LIST_CONCURRENCY,
    progress: Callable[[HarvestEvent], None] | None = None,
    since_last: bool = False,
    s3_endpoint: str | None = None,
) -> HarvestSummary:
    """Download every photo of ``races`` into ``dest``; resumable, atomic, bounded in memory.

    ``dest``: a local directory, or ``s3://BUCKET/PREFIX`` (the ``s3`` extra; credentials
    and region from the standard ``AWS_*`` settings, ``s3_endpoint`` overriding
    ``AWS_ENDPOINT_URL``). ``races``: ``RaceDay`` items, ``(race_id, race_event_days_id)``
    pairs, or bare race ids, each standing for all its race days (one GET of the race
    finds them; a race that cannot be read is reported as a failed race day and the others
    go on). ``sizes``: any of ``original``, ``large``, ``thumbnail``. ``concurrency``: race
    days listed at once; downloads run ``client.download_concurrency`` at a time.
    ``progress`` is called with a ``HarvestEvent`` after each race day and photo.
    ``since_last`` lists only photos uploaded since the last fully successful harvest of
    each race day.

    Photos already stored whole (per the destination's manifest, and still there at the
    right size) are skipped without a request; failed ones are retried. A race day that
    fails is reported in the summary and the others complete. Raises only for bad
    arguments, a destination in use by another harvest or refusing access (``StoreError``,
    before any image is fetched), a disk that fails to make files durable (``OSError``),
    or a bug; cancelling leaves no partial file or object under a final name.
    """
    chosen = check_sizes(sizes)
    sink = sink_for(dest, s3_endpoint=s3_endpoint)
    days, failed = await race_days(client, races)
    async with sink:
        return await harvest_into(
            client, sink, days, failed, sizes=chosen, concurrency=concurrency,
            progress=progress, since_last=since_last,
        )  # fmt: skip


async def harvest_into(
    client: Client,
    sink: Sink,
    days: list[RaceDay],
    failed: dict[int, RunSignupError],
    *,
    sizes: tuple[str, ...],
    concurrency: int,
    progress: Callable[[HarvestEvent], None] | None,
    since_last: bool,
) -> HarvestSummary:
    """``harvest`` into a sink already open: a queue worker keeps one sink for many jobs."""
    if since_last:
        days = [
            _since_mark(day, await sink.high_water(day.race_id, day.race_event_days_id))
            for day in days
        ]
    return await _Harvest(client, sink, sizes, progress).run(days, concurrency, failed)
