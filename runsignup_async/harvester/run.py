"""``harvest()``: list photos of many race days and download them, resumably.

A listing task walks the race days with ``client.photos.iter_many`` (``concurrency`` at
a time) and feeds photos still to fetch into a bounded queue; a pool of download workers
(one per ``client.download_concurrency`` slot) drains it. The queue is what keeps memory
flat: a listing far ahead of the downloads waits. Everything the manifest is told happens
on the event loop thread, so it needs no lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .. import _retry
from .._pagination import ManyReport, RaceDay, RaceItems
from ..errors import RunSignupError
from . import _settings as S
from ._commit import Committer
from ._files import FileThreads
from ._lock import DestinationLock
from ._races import race_days
from ._report import EventKind, Failure, HarvestEvent, HarvestStats, HarvestSummary, Key
from ._sync import FileSystems, file_systems
from .download import Downloaded, remove_stale_temps, save_atomically
from .layout import MANIFEST_NAME, Layout, check_sizes
from .manifest import Manifest

if TYPE_CHECKING:
    from .._client import Client
    from ..models import Photo

__all__ = ["Failure", "HarvestEvent", "HarvestStats", "HarvestSummary", "harvest"]

logger = logging.getLogger("runsignup_async.harvest")


@attrs.frozen
class _Job:
    race_id: int
    photo: Photo
    files: tuple[tuple[str, str, str], ...]  # (size, url, final path)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())  # one line, whatever the error said


class _Harvest:
    """One run's state: shared by the listing task and the download workers."""

    def __init__(
        self,
        client: Client,
        dest: Path,
        manifest: Manifest,
        sizes: tuple[str, ...],
        progress: Callable[[HarvestEvent], None] | None,
        file_systems: FileSystems | None,
        files: FileThreads,
    ) -> None:
        self.client = client
        self.layout = Layout(dest)
        # Every photo path starts with it: the layout's, normalised (a ``..`` in ``dest``
        # would otherwise make the manifest's relative paths wrong).
        self.root = self.layout.root
        self.manifest = manifest
        # With file systems to syncfs, files are staged for the committer to flush and
        # rename a batch at a time; without, each is fsynced and renamed by its worker.
        self.file_systems = file_systems
        self.committer = Committer(manifest, file_systems)
        self.files = files
        self.sizes = sizes
        self.progress = progress
        self.stats = HarvestStats()
        self.report = ManyReport()
        self.failed_days: set[Key] = set()
        self.prepared: set[str] = set()
        self.parents: set[str] = set()
        self.noted = (0, 0)  # race days already reported listed, failed
        self.days_with_rows: dict[Key, bool] = {}

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
                self.note_listings()
                job = self.plan(photo)
                if job is not None:
                    await queue.put(job)  # waits while the workers are behind
        self.note_listings()
        for _ in range(workers):
            await queue.put(None)

    def note_listings(self) -> None:
        """Report race days whose listing ended since the last look."""
        report = self.report
        listed, failed = self.noted
        if len(report.completed) == listed and len(report.failures) == failed:
            return
        for day in report.completed[listed:]:
            self.stats.race_days_listed += 1
            self.emit("race_day_listed", (day.race_id, day.race_event_days_id))
        for day, exc in list(report.failures.items())[failed:]:
            key = (day.race_id, day.race_event_days_id)
            self.stats.race_days_failed += 1
            self.failed_days.add(key)
            self.stats.fail(Failure(key[0], key[1], None, None, _reason(exc)))
            self.emit("race_day_failed", key, detail=_reason(exc))
        self.noted = (len(report.completed), len(report.failures))

    def races_failed(self, failed: dict[int, RunSignupError]) -> None:
        """Report bare race ids whose race days could not be read, as failed race days."""
        for race_id, exc in failed.items():
            self.stats.race_days_failed += 1
            self.stats.fail(Failure(race_id, None, None, None, _reason(exc)))
            self.emit("race_day_failed", (race_id, None), detail=_reason(exc))

    def plan(self, photo: Photo) -> _Job | None:
        """Record a listed photo; return the files still to fetch, or None to skip it."""
        stats = self.stats
        stats.photos_found += 1
        race_id = photo.race_id
        assert race_id is not None  # iter_many tags every photo with its race
        key = (race_id, photo.race_event_days_id)
        manifest = self.manifest
        manifest.queue_photo(race_id, photo)
        if (has_rows := self.days_with_rows.get(key)) is None:
            # A race day never harvested before has no file rows: skip a query per photo.
            has_rows = self.days_with_rows[key] = manifest.has_files(*key)
        known = manifest.files_of(*key, photo.photo_id) if has_rows else {}
        todo = []
        for size in self.sizes:
            image = getattr(photo, size)
            record = known.get(size)
            if image is None:
                # Not every photo has every size: recorded, not a failure.
                if record is None or record.status != "missing":
                    stats.images_missing += 1
                    manifest.queue_file(*key, photo.photo_id, size, status="missing")
                continue
            try:
                path = self.layout.path(
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
            if record is not None and record.status == "done" and _intact(path, record.bytes):
                continue  # done and still on disk: no request at all
            todo.append((size, image.image_url, path))
        if not todo:
            stats.photos_skipped += 1
            self.emit("photo_skipped", key, photo.photo_id)
            return None
        return _Job(race_id, photo, tuple(todo))

    # --- downloading ---------------------------------------------------------------------

    async def download_worker(self, queue: asyncio.Queue[_Job | None]) -> None:
        while (job := await queue.get()) is not None:
            await self.fetch(job)

    def prepare(self, directory: str) -> None:
        # First write into a directory this run: make it, and clear a killed run's temps
        # (the destination lock guarantees no other run is writing there).
        if directory not in self.prepared:
            self.prepared.add(directory)
            os.makedirs(directory, exist_ok=True)
            remove_stale_temps(Path(directory))
            if self.file_systems is not None:
                self.file_systems.watch(directory)
            # Its entry (and any parent made with it) is made durable with the next batch.
            parent = os.path.dirname(directory)
            while parent.startswith(self.root) and parent not in self.parents:
                self.parents.add(parent)
                self.committer.created(parent)
                parent = os.path.dirname(parent)

    async def fetch(self, job: _Job) -> None:
        photo = job.photo
        key = (job.race_id, photo.race_event_days_id)
        errors = []
        for size, url, path in job.files:
            directory = os.path.dirname(path)
            try:
                self.prepare(directory)
                got = await self.fetch_file(url, path)
            except (RunSignupError, OSError) as exc:
                reason = _reason(exc)
                self.manifest.queue_file(*key, photo.photo_id, size, status="failed", error=reason)
                errors.append((size, reason))
                continue
            # Recorded done only once the committer has made the file and its rename durable.
            rel = path[len(self.root) + 1 :].replace(os.sep, "/")
            row = (*key, photo.photo_id, size, rel, got.nbytes, got.sha256)
            if got.temp is None:
                self.committer.renamed(directory, row)
            else:
                await self.committer.staged(got.temp, path, row)
            self.stats.files_downloaded += 1
            self.stats.bytes_downloaded += got.nbytes
        if errors:
            self.photo_failed(key, photo.photo_id, errors)
        else:
            self.stats.photos_downloaded += 1
            self.emit("photo_downloaded", key, photo.photo_id)

    async def fetch_file(self, url: str, path: str) -> Downloaded:
        # GETs of an image: retried as the client's table retries any GET (a 404 or 403
        # is final: the same URL will not start working).
        def attempt(_: int) -> Awaitable[Downloaded]:
            return save_atomically(
                self.client,
                url,
                path,
                files=self.files,
                durable=self.file_systems is None,
                inline=self.committer.idle,
            )

        return await _retry.with_retries(
            attempt, S.IMAGE_RETRY, idempotent=True, what="image download"
        )

    @staticmethod
    async def stop(tasks: Sequence[asyncio.Future[None]], committing: asyncio.Future[Any]) -> None:
        for task in tasks:
            task.cancel()
        # Each worker removes its temp file as it unwinds; wait for all of them.
        await asyncio.gather(*tasks, return_exceptions=True)
        committing.cancel()
        await asyncio.gather(committing, return_exceptions=True)

    def photo_failed(self, key: Key, photo_id: int, errors: list[tuple[str, str]]) -> None:
        self.stats.photos_failed += 1
        self.failed_days.add(key)
        for size, reason in errors:
            self.stats.fail(Failure(key[0], key[1], photo_id, size, reason))
        self.emit("photo_failed", key, photo_id, "; ".join(f"{s}: {r}" for s, r in errors))

    # --- the end -------------------------------------------------------------------------

    def mark_race_days(self) -> None:
        """Move the --since-last mark of race days listed whole and downloaded whole."""
        for day in self.report.completed:
            key = (day.race_id, day.race_event_days_id)
            if key not in self.failed_days:
                self.manifest.mark_race_day_done(*key, self.report.max_uploaded_ts.get(day))

    def summary(self) -> HarvestSummary:
        s = self.stats
        return HarvestSummary(
            race_days=s.race_days,
            race_days_listed=s.race_days_listed,
            race_days_failed=s.race_days_failed,
            photos_found=s.photos_found,
            photos_skipped=s.photos_skipped,
            photos_downloaded=s.photos_downloaded,
            photos_failed=s.photos_failed,
            images_missing=s.images_missing,
            files_downloaded=s.files_downloaded,
            bytes_downloaded=s.bytes_downloaded,
            elapsed=s.elapsed,
            failures=tuple(s.failures),
            failures_total=s.failures_total,
        )

    async def run(
        self, days: list[RaceDay], concurrency: int, failed: dict[int, RunSignupError]
    ) -> HarvestSummary:
        """List ``days`` and download what they hold; the summary of the run.

        ``failed``: bare race ids given to harvest whose race days could not be read.
        """
        manifest = self.manifest
        run_id = manifest.start_run()
        self.stats.race_days = len(days) + len(failed)
        self.races_failed(failed)
        workers = self.client.download_concurrency
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=workers * S.QUEUE_PER_WORKER)
        tasks = [asyncio.ensure_future(self.list_photos(days, concurrency, queue, workers))]
        tasks += [asyncio.ensure_future(self.download_worker(queue)) for _ in range(workers)]
        committing = asyncio.ensure_future(self.committer.run())
        try:
            pending = {*tasks, committing}  # the committer only ends by failing
            while pending - {committing}:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if (error := task.exception()) is not None:
                        raise error
        except BaseException:
            manifest.finish_run(run_id, "interrupted")
            await self.stop(tasks, committing)
            # What was downloaded before the stop is still made durable and recorded; but
            # the error in flight (a cancellation, Ctrl-C, a failed task) is what the
            # caller gets, never a commit error raised over it.
            try:
                self.committer.commit_now()
            except Exception:
                logger.exception("harvest stopped; recording its last downloads failed too")
            raise
        await self.stop(tasks, committing)
        self.committer.commit_now()
        self.mark_race_days()
        summary = self.summary()
        manifest.finish_run(run_id, "ok" if summary.ok else "failures")
        return summary


def _intact(path: str, nbytes: int | None) -> bool:
    try:
        return nbytes is not None and os.stat(path).st_size == nbytes
    except OSError:
        return False


def _make_dest(dest: str | os.PathLike[str]) -> Path:
    # Absolute: the lock and the manifest do not depend on the working directory (the
    # photo paths come from Layout, which also normalises it).
    root = Path(dest).absolute()
    os.makedirs(root, exist_ok=True)
    return root


def _since_mark(day: RaceDay, manifest: Manifest) -> RaceDay:
    """``day`` limited to uploads after its mark: a new object, the caller's is untouched.

    Where the caller gave an ``uploaded_since`` too, the later of the two bounds holds; a
    race day with no mark yet keeps the caller's bound.
    """
    mark = manifest.high_water(day.race_id, day.race_event_days_id)
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
) -> HarvestSummary:
    """Download every photo of ``races`` into ``dest``; resumable, atomic, bounded in memory.

    ``races``: ``RaceDay`` items, ``(race_id, race_event_days_id)`` pairs, or bare race
    ids, each standing for all its race days (one GET of the race finds them; a race
    that cannot be read is reported as a failed race day and the others go on). ``sizes``:
    any of ``original``, ``large``, ``thumbnail``. ``concurrency``: race days listed at
    once; downloads run ``client.download_concurrency`` at a time. ``progress`` is called
    with a ``HarvestEvent`` after each race day and photo. ``since_last`` lists only photos
    uploaded since the last fully successful harvest of each race day.

    Photos already downloaded (per the manifest, and still on disk at the right size)
    are skipped without a request; failed ones are retried. A race day that fails is
    reported in the summary and the others complete. Raises only for bad arguments,
    a destination in use by another harvest, a disk that fails to make files durable
    (``OSError``), or a bug; cancelling leaves no partial file under a final name.
    """
    chosen = check_sizes(sizes)
    days, failed = await race_days(client, races)
    root = _make_dest(dest)
    with (
        DestinationLock(root),
        Manifest.open(root / MANIFEST_NAME) as manifest,
        file_systems() as watched,
    ):
        if since_last:
            days = [_since_mark(day, manifest) for day in days]
        async with FileThreads() as files:
            job = _Harvest(client, root, manifest, chosen, progress, watched, files)
            return await job.run(days, concurrency, failed)
