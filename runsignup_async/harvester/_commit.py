"""Making downloads durable in batches, and only then recording them done.

A download ends with its file fsynced and renamed into place (``download``); the rename
itself survives a power cut only once its directory is fsynced. Doing that per file costs
a journal commit per file, so the committer collects renamed files and, every
``COMMIT_BATCH`` files or ``COMMIT_INTERVAL`` seconds, fsyncs each directory touched once
(plus the parents of directories this run created), then queues the files' ``done`` rows
and writes everything the manifest has queued in one transaction.

The order is what keeps the manifest honest: a ``done`` row is written only after its
file's directory fsync, so a crash at any point leaves files the manifest does not claim
(downloaded again on the next run), never a claim without its file.
"""

from __future__ import annotations

import asyncio
import contextlib

from . import _settings as S
from .download import fsync_dirs
from .manifest import Manifest

__all__ = ["Committer"]

# (race_id, race_event_days_id, photo_id, size, path relative to dest, bytes, sha256)
DoneRow = tuple[int, int, int, str, str, int, str]


class Committer:
    """Collects renamed files; ``run()`` is the task that commits them in batches."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        batch: int = S.COMMIT_BATCH,
        interval: float = S.COMMIT_INTERVAL,
    ) -> None:
        self.manifest = manifest
        self.batch = batch
        self.interval = interval
        self._dirs: set[str] = set()
        self._rows: list[DoneRow] = []
        self._wake = asyncio.Event()

    def created(self, *directories: str) -> None:
        """Directories whose entries changed (made this run): fsynced with the next batch."""
        self._dirs.update(directories)

    def renamed(self, directory: str, row: DoneRow) -> None:
        """A file is complete under its final name in ``directory``; not yet durable."""
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
            dirs, rows = self._take()
            if dirs:
                try:
                    await asyncio.to_thread(fsync_dirs, dirs)
                except asyncio.CancelledError:
                    # Every run ends by cancelling this task, often mid-batch: hand the
                    # batch back so that commit_now() fsyncs and records it. Dropping it
                    # would leave downloaded files out of the manifest of a good run.
                    self._dirs.update(dirs)
                    self._rows[:0] = rows
                    raise
            self._record(rows)

    def commit_now(self) -> None:
        """Commit what is pending, blocking: at the end of a run, or as it is interrupted."""
        dirs, rows = self._take()
        if dirs:
            fsync_dirs(dirs)
        self._record(rows)

    def _take(self) -> tuple[list[str], list[DoneRow]]:
        dirs, rows = sorted(self._dirs), self._rows
        self._dirs, self._rows = set(), []
        return dirs, rows

    def _record(self, rows: list[DoneRow]) -> None:
        manifest = self.manifest
        for race_id, day_id, photo_id, size, path, nbytes, sha256 in rows:
            manifest.queue_file(race_id, day_id, photo_id, size, status="done", path=path,
                                nbytes=nbytes, sha256=sha256)  # fmt: skip
        manifest.flush()
