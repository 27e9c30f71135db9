"""The local directory sink: images as files under ``dest``, the record in SQLite beside them.

An image of at most ``FLUSH_BYTES`` (by its Content-Length) is gathered in memory and
handed whole to the ``Committer``, which writes it with its batch. A larger one streams
into a hidden temporary sibling of its final path (``_tempfile``), ``FLUSH_BYTES`` at a
time through ``asyncio.to_thread``, so memory stays bounded and the event loop never waits
on the disk. Then the durability rule of ``_sync`` applies: where syncfs can be trusted,
one per file system for a batch before its renames; elsewhere an fsync per file. Either way
a file is recorded done only after its rename is on disk, and a cancelled or failed save
removes its temporary file: a file under a final name is always whole.

When a race day ends (``race_day_done``) its files are committed and recorded at once and
its mark moved, so the manifest shows the day while the run goes on. A file under a final
name that the manifest does not record as done from the image listed now (a run killed
between rename and record, an image changed since) is fetched again (``is_current``).

Queue workers on one machine share a directory (``shared=True``): each holds the lock
shared (``_lock``), writes only the race days the queue gave it, and records them in the
one manifest (WAL mode: readers never wait, writers wait their turn in short
transactions). ``checkpoint`` makes a finished job's files durable and recorded before
the job reports done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .._commit import Committer, DoneRow
from .._lock import DestinationLock
from .._sync import FileSystems, file_systems
from .._tempfile import TempFile, remove_stale_temps
from ..layout import MANIFEST_NAME, Layout
from ..manifest import Manifest
from ._base import Body, FileRef, Sink, is_current

if TYPE_CHECKING:
    from ...models import Photo

__all__ = ["FLUSH_BYTES", "DirectorySink", "remove_stale_temps"]

logger = logging.getLogger("runsignup_async.harvest")

# Bytes gathered in memory before a thread writes them: one call for a typical image,
# a bounded buffer per download for a huge one. An image of at most this size (by its
# Content-Length) is held whole and written by the committer with its batch instead.
FLUSH_BYTES: Final = 1024 * 1024


async def _in_thread(work: asyncio.Future[None]) -> None:
    # Shielded: a cancel must not detach the caller from a thread still writing, or its
    # cleanup would race that thread (and, once it renames, delete the final file).
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await asyncio.wait([work])
        raise


class DirectorySink(Sink):
    """Images under a local directory; the SQLite manifest ``MANIFEST_NAME`` beside them."""

    def __init__(self, dest: str | os.PathLike[str], *, shared: bool = False) -> None:
        self.location = os.fspath(dest)
        self.shared = shared
        # Absolute: the lock and the manifest do not depend on the working directory.
        self.layout = Layout(dest)
        self.root = self.layout.root
        self._stack = ExitStack()
        self._prepared: set[str] = set()
        self._parents: set[str] = set()
        self._days_with_rows: dict[tuple[int, int], bool] = {}
        self._outcome = "ok"
        self._run_id = 0

    async def open(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        stack = self._stack
        try:
            stack.enter_context(DestinationLock(Path(self.root), shared=self.shared))
            self.manifest = stack.enter_context(Manifest.open(Path(self.root) / MANIFEST_NAME))
            self.file_systems: FileSystems | None = stack.enter_context(file_systems())
        except BaseException:
            stack.close()
            raise
        self.committer = Committer(self.manifest, self.file_systems)
        self._run_id = self.manifest.start_run()

    def finished(self, *, ok: bool) -> None:
        self._outcome = "ok" if ok else "failures"

    async def close(self, *, interrupted: bool) -> None:
        with self._stack:
            try:
                # What was downloaded, even in an interrupted run, is made durable and
                # recorded (race days that ended were recorded as they ended).
                self.committer.commit_now()
            except Exception:
                self.manifest.finish_run(self._run_id, "interrupted")
                if interrupted:
                    # The error in flight (a cancellation, Ctrl-C, a failed task) is what
                    # the caller gets, never a commit error raised over it; the files it
                    # held are not recorded, so the next run fetches them again.
                    logger.exception("harvest stopped; recording its last downloads failed too")
                    return
                raise
            self.manifest.finish_run(self._run_id, "interrupted" if interrupted else self._outcome)

    async def run(self) -> None:
        await self.committer.run()

    async def checkpoint(self) -> None:
        # Race day marks move as each race day ends (race_day_done), after its files.
        await self.committer.commit()

    def forget(self, race_id: int, race_event_days_id: int) -> None:
        self._days_with_rows.pop((race_id, race_event_days_id), None)

    async def high_water(self, race_id: int, race_event_days_id: int) -> datetime | None:
        return self.manifest.high_water(race_id, race_event_days_id)

    async def stored(self, photo: Photo, files: Sequence[FileRef]) -> set[str]:
        if not files:
            return set()
        key = (files[0].race_id, photo.race_event_days_id)
        if (has_rows := self._days_with_rows.get(key)) is None:
            # A race day never harvested before has no file rows: skip a query per photo.
            has_rows = self._days_with_rows[key] = self.manifest.has_files(*key)
        if not has_rows:
            return set()
        known = self.manifest.files_of(*key, photo.photo_id)
        done = set()
        for ref in files:
            record = known.get(ref.size)
            if record is None or record.status != "done" or record.path is None:
                continue  # not claimed by the manifest: fetched again
            recorded = (record.path, record.image, record.bytes)
            if is_current(ref, recorded, _size_on_disk(self.layout.path_of(ref.key))):
                done.add(ref.size)  # done and still on disk: no request at all
        return done

    def record_photo(self, race_id: int, photo: Photo) -> None:
        self.manifest.queue_photo(race_id, photo)

    def record_missing(self, race_id: int, photo: Photo, size: str) -> None:
        self.manifest.queue_file(race_id, photo.race_event_days_id, photo.photo_id, size,
                                 status="missing")  # fmt: skip

    def record_failure(self, ref: FileRef, reason: str) -> None:
        self.manifest.queue_file(ref.race_id, ref.race_event_days_id, ref.photo_id, ref.size,
                                 status="failed", error=reason)  # fmt: skip

    async def race_day_done(
        self, race_id: int, race_event_days_id: int, newest: datetime | None, *, whole: bool
    ) -> None:
        await self.committer.commit()  # recorded at once, not with whatever batch is next
        self.forget(race_id, race_event_days_id)
        if whole:  # after its files are recorded, never before
            self.manifest.mark_race_day_done(race_id, race_event_days_id, newest)

    def _prepare(self, directory: str) -> None:
        # First write into a directory this run: make it, and clear a killed run's temps
        # (the destination lock guarantees no other run is writing there; workers that
        # share it write the race days the queue gave each, in their own directories).
        if directory in self._prepared:
            return
        self._prepared.add(directory)
        os.makedirs(directory, exist_ok=True)
        remove_stale_temps(Path(directory))
        if self.file_systems is not None:
            self.file_systems.watch(directory)
        # Its entry (and any parent made with it) is made durable with the next batch.
        parent = os.path.dirname(directory)
        while parent.startswith(self.root) and parent not in self._parents:
            self._parents.add(parent)
            self.committer.created(parent)
            parent = os.path.dirname(parent)

    async def save(self, ref: FileRef, body: Body) -> None:
        path = self.layout.path_of(ref.key)
        directory = os.path.dirname(path)
        self._prepare(directory)
        durable = self.file_systems is None
        if body.expected is not None and body.expected <= FLUSH_BYTES:
            data = [chunk async for chunk in body]  # whole and checked, or raised
            await self.committer.held(path, data, _done_row(ref, body))
            return
        temp = TempFile(path)
        pending: list[bytes] = []
        buffered = 0
        try:
            async for chunk in body:
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= FLUSH_BYTES:
                    await _in_thread(asyncio.ensure_future(asyncio.to_thread(temp.write, pending)))
                    pending, buffered = [], 0
            await _in_thread(
                asyncio.ensure_future(asyncio.to_thread(temp.finish, pending, durable))
            )
        except BaseException:
            # Safe even after a rename: the temp name is gone then, and its fd closed.
            temp.discard()
            raise
        row = _done_row(ref, body)
        if durable:
            self.committer.renamed(directory, row)
        else:
            await self.committer.staged(temp.tmp, path, row)


def _done_row(ref: FileRef, body: Body) -> DoneRow:
    return (ref.race_id, ref.race_event_days_id, ref.photo_id, ref.size, ref.key,
            body.nbytes, body.sha256, ref.image)  # fmt: skip


def _size_on_disk(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None
