"""Batched commits: a file is renamed only once on disk, and recorded done only after its
rename is on disk.

The harvest either fsyncs and renames each file as it arrives, or stages it and lets the
committer flush a batch with one syncfs before renaming it (``_sync``). Either way the
committer fsyncs the directories of a batch and only then writes their ``done`` rows.
These tests check that order in both modes, and that a crash or a disk error before a
batch is durable costs a re-download on the next run, never a wrong "done".
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from runsignup_async.harvester import MANIFEST_NAME, harvest
from runsignup_async.harvester import _commit as commit_module
from runsignup_async.harvester import _settings as settings
from runsignup_async.harvester import _sync as sync_module
from runsignup_async.harvester._sync import FileSystems
from runsignup_async.harvester.layout import is_temp_name
from runsignup_async.harvester.manifest import Manifest
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import check_files, fast_client, image_files, temp_files


def _done_rows(dest: Path) -> list[str]:
    with sqlite3.connect(dest / MANIFEST_NAME) as db:
        return [row[0] for row in db.execute("SELECT path FROM files WHERE status='done'")]


def _final_of(temp: Path) -> Path:
    # ".<name>.<token>.part" -> "<name>"
    return temp.with_name(temp.name[1:].rsplit(".", 2)[0])


@pytest.mark.runsignup_fake(seed=31, races=2, photos_per_race_day=40)
async def test_done_rows_follow_the_flush_and_the_directory_fsync(
    runsignup_fake: FakeRunSignup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    durability: str,
) -> None:
    fake = runsignup_fake
    synced: set[str] = set()
    flushed: set[Path] = set()  # files that were still temporary when a syncfs ran
    real_fsync_dirs = sync_module.fsync_dirs
    real_sync = FileSystems.sync
    real_queue_file = Manifest.queue_file

    def sync(self: FileSystems, descriptors: Iterable[int]) -> None:
        real_sync(self, descriptors)
        for temp in temp_files(tmp_path):
            assert not _final_of(temp).exists(), "renamed before it was flushed"
            flushed.add(_final_of(temp))

    def fsync_dirs(directories: Iterable[str]) -> None:
        directories = list(directories)
        real_fsync_dirs(directories)
        synced.update(directories)

    def queue_file(self: Manifest, *args: object, **kwargs: object) -> None:
        if kwargs.get("status") == "done":
            path = str(kwargs["path"])
            assert (tmp_path / path).is_file(), "recorded done before it was under its name"
            assert str(tmp_path / os.path.dirname(path)) in synced, "done before its dir fsync"
            # The directories above it, made this run, were fsynced too.
            assert str(tmp_path / path.split("/")[0]) in synced
            assert str(tmp_path) in synced
            if durability == "syncfs":
                assert tmp_path / path in flushed, "renamed and recorded without a syncfs"
        real_queue_file(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync_module, "fsync_dirs", fsync_dirs)
    monkeypatch.setattr(FileSystems, "sync", sync)
    monkeypatch.setattr(Manifest, "queue_file", queue_file)
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), tmp_path)
    assert summary.ok and summary.files_downloaded == 80
    assert len(_done_rows(tmp_path)) == 80


@pytest.mark.runsignup_fake(seed=32, races=2, photos_per_race_day=30)
async def test_crash_between_rename_and_manifest_write_means_redownload(
    runsignup_fake: FakeRunSignup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    durability: str,
) -> None:
    fake = runsignup_fake

    def crash(directories: Iterable[str]) -> None:
        raise OSError("simulated crash before the batch was made durable")

    monkeypatch.setattr(sync_module, "fsync_dirs", crash)
    async with fast_client(fake) as client:
        with pytest.raises(OSError, match="simulated crash"):
            await harvest(client, fake.race_days(), tmp_path)
    # Files renamed into place, whole, but not one claimed done by the manifest.
    assert image_files(tmp_path)
    assert _done_rows(tmp_path) == []
    assert temp_files(tmp_path) == []

    monkeypatch.undo()
    before = fake.image_request_count
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), tmp_path)
        assert summary.ok and summary.files_downloaded == 60  # downloaded again, not lost
        assert fake.image_request_count - before == 60
        assert check_files(fake, tmp_path, ("original",)) == 60
        assert len(_done_rows(tmp_path)) == 60
        # And now a re-run makes no image request at all.
        before = fake.image_request_count
        again = await harvest(client, fake.race_days(), tmp_path)
    assert again.ok and again.photos_skipped == 60
    assert fake.image_request_count == before


@pytest.mark.runsignup_fake(seed=33, races=2, photos_per_race_day=30)
@pytest.mark.usefixtures("durability")
@pytest.mark.parametrize("durability", ["syncfs"], indirect=True)
async def test_a_failed_syncfs_renames_nothing_records_nothing_and_leaves_no_temp(
    runsignup_fake: FakeRunSignup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = runsignup_fake

    def failing_sync(self: FileSystems, descriptors: Iterable[int]) -> None:
        assert descriptors, "a batch of staged files with no file system to sync"
        raise OSError(errno.EIO, "syncfs failed: Input/output error")

    monkeypatch.setattr(FileSystems, "sync", failing_sync)
    async with fast_client(fake) as client:
        with pytest.raises(OSError, match="Input/output error"):
            await harvest(client, fake.race_days(), tmp_path)
    # Not known to be on disk, so not one file under its final name, none claimed.
    assert image_files(tmp_path) == {}
    assert _done_rows(tmp_path) == []
    assert temp_files(tmp_path) == []

    monkeypatch.undo()
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), tmp_path)
    assert summary.ok and summary.files_downloaded == 60
    assert check_files(fake, tmp_path, ("original",)) == 60
    assert len(_done_rows(tmp_path)) == 60


def _stage(directory: Path, name: str, data: bytes = b"jpeg") -> tuple[str, str]:
    temp = directory / f".{name}.0123456789ab.part"
    temp.write_bytes(data)
    assert is_temp_name(temp.name)
    return str(temp), str(directory / name)


def _row(photo_id: int, rel: str) -> commit_module.DoneRow:
    return (1, 2, photo_id, "original", rel, 4, "00", "/images/1.jpg 1x1")


def _on_disk(*paths: str) -> tuple[bytes | None, ...]:
    return tuple(Path(p).read_bytes() if os.path.exists(p) else None for p in paths)


def _no_syncfs(fd: int) -> None:
    os.fstat(fd)  # a real descriptor, still open


class HeldFsync:
    """Stands in for ``fsync_dirs``: holds a batch mid-flush until ``release`` is set,
    then succeeds, or fails when ``fails`` is set."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.fails = False

    def __call__(self, directories: Iterable[str]) -> None:
        self.started.set()
        self.release.wait(5)
        if self.fails:
            raise OSError(errno.EIO, "directory fsync failed")

    async def wait_started(self) -> None:
        await asyncio.to_thread(self.started.wait, 5)


@pytest.fixture
def held_fsync(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> HeldFsync:
    held = HeldFsync()
    monkeypatch.setattr(sync_module, "fsync_dirs", held)
    (tmp_path / "a").mkdir()
    return held


@pytest.mark.parametrize("fails", [False, True], ids=["completes", "fails"])
async def test_a_batch_caught_mid_flush_by_the_end_of_the_run(
    tmp_path: Path, held_fsync: HeldFsync, fails: bool
) -> None:
    # Every harvest ends by cancelling the committer task; when that lands while a
    # batch is made durable in its thread, the thread finishes and the batch is
    # recorded, or its failure surfaces where the run ends: never dropped unseen.
    held_fsync.fails = fails
    with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
        committer = commit_module.Committer(manifest, batch=1, interval=60)
        committer.renamed(str(tmp_path / "a"), _row(3, "a/3.jpg"))
        task = asyncio.ensure_future(committer.run())
        await held_fsync.wait_started()
        task.cancel()
        held_fsync.release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert committer.pending == 0
        if fails:
            with pytest.raises(OSError, match="directory fsync failed"):
                committer.commit_now()
        else:
            committer.commit_now()
    assert _done_rows(tmp_path) == ([] if fails else ["a/3.jpg"])


async def test_staged_files_are_renamed_only_by_the_committer(tmp_path: Path) -> None:
    calls: list[int] = []

    def syncfs(fd: int) -> None:
        _no_syncfs(fd)
        calls.append(fd)

    file_systems = FileSystems(syncfs)
    file_systems.watch(str(tmp_path))
    try:
        with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
            committer = commit_module.Committer(manifest, file_systems, batch=10, interval=60)
            temp, final = _stage(tmp_path, "3-original.jpg", b"whole")
            await committer.staged(temp, final, _row(3, "3-original.jpg"))
            assert _on_disk(temp, final) == (b"whole", None) and calls == []
            committer.commit_now()
            assert len(calls) == 1
            assert _on_disk(temp, final) == (None, b"whole")
        assert _done_rows(tmp_path) == ["3-original.jpg"]
    finally:
        file_systems.close()


async def test_staged_downloads_wait_while_the_backlog_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "COMMIT_BACKLOG", 2)
    file_systems = FileSystems(_no_syncfs)
    file_systems.watch(str(tmp_path))
    try:
        with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
            # A batch of 1 with a backlog of 2 batches: the second staged file waits.
            committer = commit_module.Committer(manifest, file_systems, batch=1, interval=60)
            first = _stage(tmp_path, "1.jpg")
            await asyncio.wait_for(committer.staged(*first, _row(1, "1.jpg")), 1)
            second = _stage(tmp_path, "2.jpg")
            waiting = asyncio.ensure_future(committer.staged(*second, _row(2, "2.jpg")))
            await asyncio.sleep(0.05)
            assert not waiting.done() and committer.pending == 2  # registered, then waiting
            runner = asyncio.ensure_future(committer.run())  # commits: room again
            await asyncio.wait_for(waiting, 5)
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            committer.commit_now()
        assert sorted(_done_rows(tmp_path)) == ["1.jpg", "2.jpg"]
    finally:
        file_systems.close()


@pytest.mark.runsignup_fake(seed=11, races=1, photos_per_race_day=80)
async def test_a_cancelled_harvest_raises_its_cancellation_even_when_the_disk_fails(
    runsignup_fake: FakeRunSignup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last commit, made as the run unwinds, fails: the caller still sees the
    # cancellation it asked for, not an OSError in its place.
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.1), endpoint="images")
    disk_failed = threading.Event()
    real = sync_module.fsync_dirs

    def failing(directories: Iterable[str]) -> None:
        if disk_failed.is_set():
            raise OSError(errno.EIO, "directory fsync failed")
        real(directories)

    monkeypatch.setattr(sync_module, "fsync_dirs", failing)
    async with fast_client(fake) as client:
        task = asyncio.ensure_future(harvest(client, fake.race_days(), tmp_path))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if image_files(tmp_path) or temp_files(tmp_path):
                break
        assert not task.done()
        disk_failed.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # What the failed commit held is not recorded: the next run fetches it again.
    assert len(_done_rows(tmp_path)) < 80
