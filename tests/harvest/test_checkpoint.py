"""``Committer.commit``: what a queue worker waits for before it reports a job done.

A worker keeps its sink (and so its committer) open across jobs: a finished job's last
files must not wait in memory for the next job, nor be left to a batch still in flight.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runsignup_async.harvester import MANIFEST_NAME
from runsignup_async.harvester import _commit as commit_module
from runsignup_async.harvester.manifest import Manifest

from .test_commit import HeldFsync, _done_rows, _on_disk, _row, held_fsync  # noqa: F401


async def test_a_held_image_is_on_disk_and_recorded_once_commit_returns(tmp_path: Path) -> None:
    final = str(tmp_path / "3-original.jpg")
    with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
        committer = commit_module.Committer(manifest, batch=10, interval=60)
        await committer.held(final, [b"who", b"le"], _row(3, "3-original.jpg"))
        assert _on_disk(final) == (None,)  # in memory until a batch takes it
        await committer.commit()
        assert _on_disk(final) == (b"whole",)
        assert _done_rows(tmp_path) == ["3-original.jpg"]


async def test_commit_waits_for_the_batch_another_task_is_making_durable(
    tmp_path: Path,
    held_fsync: HeldFsync,  # noqa: F811  (the fixture)
) -> None:
    with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
        committer = commit_module.Committer(manifest, batch=1, interval=60)
        runner = asyncio.ensure_future(committer.run())
        committer.renamed(str(tmp_path / "a"), _row(3, "a/3.jpg"))
        await held_fsync.wait_started()  # the run loop's batch, held mid-flush
        committing = asyncio.ensure_future(committer.commit())
        await asyncio.sleep(0.05)
        assert not committing.done() and _done_rows(tmp_path) == []
        held_fsync.release.set()
        await asyncio.wait_for(committing, 5)
        assert _done_rows(tmp_path) == ["a/3.jpg"]
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_commit_raises_when_a_batch_in_flight_fails(
    tmp_path: Path,
    held_fsync: HeldFsync,  # noqa: F811  (the fixture)
) -> None:
    held_fsync.fails = True
    with Manifest.open(tmp_path / MANIFEST_NAME) as manifest:
        committer = commit_module.Committer(manifest, batch=1, interval=60)
        runner = asyncio.ensure_future(committer.run())
        committer.renamed(str(tmp_path / "a"), _row(3, "a/3.jpg"))
        await held_fsync.wait_started()
        committing = asyncio.ensure_future(committer.commit())
        held_fsync.release.set()
        with pytest.raises(OSError, match="directory fsync failed"):
            await asyncio.wait_for(committing, 5)
        with pytest.raises(OSError, match="directory fsync failed"):
            await runner  # the run loop ends with it too: the harvest fails
    assert _done_rows(tmp_path) == []
