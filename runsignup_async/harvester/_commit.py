"""Making downloads durable in batches, and only then recording them done.

A download ends in one of two states (``_sync`` explains why there are two):

- **renamed** (per-file fsync): the file was fsynced and renamed into place by its
  worker; only its directory entry still has to reach the disk.
- **staged** (syncfs, on Linux): the file is complete under its temporary name, neither
  flushed nor renamed.
- **held** (an image of at most ``FLUSH_BYTES``): its bytes, in memory. The committer
  writes it to its temporary name in the batch's own thread call, so a small image costs
  the download worker no thread hand-off of its own (each one made the event loop wait
  for the GIL behind the file threads: benchmarks/README.md, issue 20).

The committer collects them and, every ``COMMIT_BATCH`` files or ``COMMIT_INTERVAL``
seconds, in one worker-thread call: writes the held files, syncs the file systems (or fsyncs
each held file as it is written, where syncfs is not trusted), renames
them into place, and fsyncs each directory touched (plus the parents of directories this
run created). Then it queues the files' ``done`` rows and writes everything the manifest
has queued in one transaction.

The order is what keeps the manifest honest: a file is renamed only once its bytes are
on disk, and a ``done`` row is written only after its rename is on disk, so a crash at any
point leaves files the manifest does not claim (downloaded again on the next run), never
a claim without its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import attrs

from . import _settings as S
from . import _sync
from ._sync import FileSystems
from ._tempfile import TempFile
from .manifest import Manifest

__all__ = ["Committer", "DoneRow"]

# (race_id, race_event_days_id, photo_id, size, path relative to dest, bytes, sha256,
#  image_identity)
DoneRow = tuple[int, int, int, str, str, int, str, str]


@attrs.frozen
class _Batch:
    descriptors: tuple[int, ...]  # file systems to sync (staged and held files)
    staged: list[tuple[str, str]]  # (temporary path, final path)
    held: list[tuple[str, list[bytes]]]  # (final path, bytes to write)
    dirs: list[str]
    rows: list[DoneRow]


class Committer:
    """Collects finished files; ``run()`` is the task that commits them in batches.

    ``file_systems`` is given when files arrive staged (syncfs), None when renamed.
    """

    def __init__(
        self,
        manifest: Manifest,
        file_systems: FileSystems | None = None,
        *,
        batch: int | None = None,
        interval: float | None = None,
    ) -> None:
        self.manifest = manifest
        self.file_systems = file_systems
        # Read when made, not when this module was imported: tests tune them per run.
        self.batch = S.COMMIT_BATCH if batch is None else batch
        self.interval = S.COMMIT_INTERVAL if interval is None else interval
        self._dirs: set[str] = set()
        self._staged: list[tuple[str, str]] = []
        self._held: list[tuple[str, list[bytes]]] = []
        self._held_bytes = 0
        self._rows: list[DoneRow] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._failure: BaseException | None = None
        self._settling: set[asyncio.Future[None]] = set()

    def created(self, *directories: str) -> None:
        """Directories whose entries changed (made this run): fsynced with the next batch."""
        self._dirs.update(directories)

    def renamed(self, directory: str, row: DoneRow) -> None:
        """A fsynced file is complete under its final name in ``directory``."""
        self._add(directory, row)

    async def staged(self, temp: str, final: str, row: DoneRow) -> None:
        """A file is complete under its temporary name ``temp``; rename it once it is on
        disk. Waits while the backlog is full (a disk slower than the downloads)."""
        self._staged.append((temp, final))
        self._add(os.path.dirname(final), row)
        await self._wait_for_room()

    async def held(self, final: str, data: list[bytes], row: DoneRow) -> None:
        """A small image, whole in memory: written, made durable and renamed to ``final``
        with the next batch, in its thread (no thread hand-off per image). Waits while
        the backlog is full, in files or in bytes held."""
        self._held.append((final, data))
        self._held_bytes += sum(map(len, data))
        self._add(os.path.dirname(final), row)
        if self._held_bytes >= S.COMMIT_HELD_BYTES:
            self._room.clear()
        await self._wait_for_room()

    async def _wait_for_room(self) -> None:
        if len(self._rows) >= self.batch * S.COMMIT_BACKLOG:
            self._room.clear()
        if not self._room.is_set():
            await self._room.wait()

    def _add(self, directory: str, row: DoneRow) -> None:
        self._dirs.add(directory)
        self._rows.append(row)
        if len(self._rows) >= self.batch or self.manifest.queued >= self.batch * 4:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._rows)

    async def run(self) -> None:
        """Commit a batch whenever one is full or ``interval`` has passed; until cancelled."""
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self._wait([self._settle(self._take())])
            self._room.set()

    async def commit(self) -> None:
        """Commit what is pending, and wait for the batches being committed meanwhile:
        everything handed over so far is durable and recorded, and what the manifest had
        queued is written (a race day ends so, and a queue worker's job). Raises the error
        of a batch that failed."""
        if self._failure is not None:
            raise self._failure
        self._settle(self._take())
        await self._wait(list(self._settling))
        self._room.set()

    async def _wait(self, tasks: list[asyncio.Future[None]]) -> None:
        """Wait for every one of ``tasks`` (batches) to end; raise the first failure.

        A cancel does not stop them: every run ends by cancelling its tasks, often
        mid-batch, and a batch carries on regardless (its thread cannot be stopped). Wait
        for each to finish and record what it made durable, and keep a failure for
        commit() and commit_now() to raise: the run must not end looking whole with files
        it never recorded, nor while a batch still writes.
        """
        try:
            await asyncio.wait(tasks)  # never cancels them
        except asyncio.CancelledError:
            await asyncio.wait(tasks)
            self._failure = self._failure or _first_failure(tasks)
            raise
        if (error := _first_failure(tasks)) is not None:
            raise error

    def _settle(self, batch: _Batch) -> asyncio.Future[None]:
        """Make ``batch`` durable (in a thread), then record it: a task, tracked until
        it ends."""

        async def settle() -> None:
            if batch.dirs:
                await asyncio.to_thread(self._make_durable, batch)
            self._record(batch.rows)

        task = asyncio.ensure_future(settle())
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        return task

    def commit_now(self) -> None:
        """Commit what is pending, blocking: at the end of a run, or as it is interrupted.

        Raises the error of a batch that failed as the run was being stopped.
        """
        if self._failure is not None:
            raise self._failure
        batch = self._take()
        if batch.dirs:
            self._make_durable(batch)
        self._record(batch.rows)
        self._room.set()

    def _take(self) -> _Batch:
        staged, held = self._staged, self._held
        unsynced = staged or held
        descriptors = self.file_systems.descriptors() if unsynced and self.file_systems else ()
        batch = _Batch(descriptors, staged, held, sorted(self._dirs), self._rows)
        self._dirs, self._staged, self._held, self._rows = set(), [], [], []
        self._held_bytes = 0
        return batch

    def _make_durable(self, batch: _Batch) -> None:
        """Write the held files, sync, rename, fsync the directories (blocking: runs in a
        worker thread). With syncfs, one per file system for the batch; without, each
        held file is fsynced as it is written (staged files only exist with syncfs)."""
        staged = list(batch.staged)
        try:
            for final, data in batch.held:
                temp = TempFile(final)
                staged.append((temp.tmp, final))
                try:
                    temp.finish(data, durable=False, fsync=self.file_systems is None)
                except BaseException:
                    temp.discard()
                    raise
            if self.file_systems is not None:
                self.file_systems.sync(batch.descriptors)
        except BaseException:
            # Not known to be on disk: not renamed, not recorded, downloaded again.
            for temp_path, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(temp_path)
            raise
        for temp_path, final in staged:
            os.replace(temp_path, final)
        _sync.fsync_dirs(batch.dirs)

    def _record(self, rows: list[DoneRow]) -> None:
        manifest = self.manifest
        for race_id, day_id, photo_id, size, path, nbytes, sha256, image in rows:
            manifest.queue_file(race_id, day_id, photo_id, size, status="done", path=path,
                                nbytes=nbytes, sha256=sha256, image=image)  # fmt: skip
        manifest.flush()


def _first_failure(tasks: list[asyncio.Future[None]]) -> BaseException | None:
    """The error of the first of ``tasks`` that failed (each one's is retrieved)."""
    errors = [task.exception() for task in tasks if not task.cancelled()]
    return next((error for error in errors if error is not None), None)
