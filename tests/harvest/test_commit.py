"""Batched commits: a file is recorded done only after its rename is durable.

The harvest renames each finished file into place, then fsyncs the directories of a batch
of renames at once and only then writes their ``done`` rows. These tests check that order,
and that a crash between the rename and the batched manifest write (stood in for by the
directory fsync failing) costs a re-download on the next run, never a wrong "done".
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from runsignup_async.harvester import MANIFEST_NAME, harvest
from runsignup_async.harvester import _commit as commit_module
from runsignup_async.harvester.manifest import Manifest
from runsignup_async.testing import FakeRunSignup

from .conftest import check_files, fast_client, image_files, temp_files


def _done_rows(dest: Path) -> list[str]:
    with sqlite3.connect(dest / MANIFEST_NAME) as db:
        return [row[0] for row in db.execute("SELECT path FROM files WHERE status='done'")]


@pytest.mark.runsignup_fake(seed=31, races=2, photos_per_race_day=40)
async def test_done_rows_follow_the_directory_fsync(
    runsignup_fake: FakeRunSignup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = runsignup_fake
    synced: set[str] = set()
    real_fsync_dirs = commit_module.fsync_dirs
    real_queue_file = Manifest.queue_file

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
        real_queue_file(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(commit_module, "fsync_dirs", fsync_dirs)
    monkeypatch.setattr(Manifest, "queue_file", queue_file)
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), tmp_path)
    assert summary.ok and summary.files_downloaded == 80
    assert len(_done_rows(tmp_path)) == 80


@pytest.mark.runsignup_fake(seed=32, races=2, photos_per_race_day=30)
async def test_crash_between_rename_and_manifest_write_means_redownload(
    runsignup_fake: FakeRunSignup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = runsignup_fake

    def crash(directories: Iterable[str]) -> None:
        raise OSError("simulated crash before the batch was made durable")

    monkeypatch.setattr(commit_module, "fsync_dirs", crash)
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


async def test_a_batch_caught_mid_fsync_by_the_end_of_the_run_is_still_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every harvest ends by cancelling the committer task; when that lands while a
    # batch's directory fsync runs in its thread, the batch must not be lost.
    started = threading.Event()
    release = threading.Event()

    def slow_fsync_dirs(directories: Iterable[str]) -> None:
        started.set()
        release.wait(5)

    monkeypatch.setattr(commit_module, "fsync_dirs", slow_fsync_dirs)
    with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
        committer = commit_module.Committer(manifest, batch=1, interval=60)
        (tmp_path / "a").mkdir()
        committer.renamed(str(tmp_path / "a"), (1, 2, 3, "original", "a/3.jpg", 10, "00"))
        task = asyncio.ensure_future(committer.run())
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert committer.pending == 1  # handed back, not dropped
        monkeypatch.setattr(commit_module, "fsync_dirs", lambda directories: None)
        committer.commit_now()
    assert _done_rows(tmp_path) == ["a/3.jpg"]
