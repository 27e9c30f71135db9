"""Worker subprocesses sharing one local directory: its files and its SQLite manifest
written by several processes at once, and a worker SIGKILLed among them."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sqlite3
from pathlib import Path

import pytest
from saq.job import Status

from runsignup_async import harvest
from runsignup_async.errors import DestinationBusyError
from runsignup_async.harvester.layout import MANIFEST_NAME
from runsignup_async.testing import FakeRunSignup, Fault
from runsignup_async.workers import enqueue_harvest, follow_harvest

from .conftest import CLI, Workers, env_for
from .test_workers import jobs_of, until

from harvest.conftest import check_files, fast_client, image_files, temp_files  # isort: skip
from shared.conftest import RedisServer  # isort: skip

DAYS, PHOTOS = 20, 30  # 10 races of 2 race days


def local_args(own_redis: RedisServer, dest: Path) -> list[str]:
    return ["--redis", own_redis.url, "--dest", str(dest), "--concurrency", "2",
            "--download-concurrency", "4", "--sweep-every", "1"]  # fmt: skip


def manifest_rows(dest: Path) -> tuple[list[tuple[object, ...]], int, list[object]]:
    """The manifest's file rows, its photo count and its race days' marks."""
    with sqlite3.connect(dest / MANIFEST_NAME) as db:
        files = db.execute(
            "SELECT race_id, race_event_days_id, photo_id, size, status, path, bytes, sha256"
            " FROM files"
        ).fetchall()
        photos = db.execute("SELECT count(*) FROM photos").fetchone()[0]
        marks = [row[0] for row in db.execute("SELECT high_water_ts FROM race_days")]
    return files, photos, marks


@pytest.mark.runsignup_fake(seed=25, races=10, days_per_race=2, photos_per_race_day=PHOTOS,
                            max_page_size=5, latency=0.1)  # fmt: skip
async def test_workers_sharing_a_directory_store_every_photo_once_and_a_killed_one_loses_nothing(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, workers: Workers, tmp_path: Path
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.05), endpoint="images")  # race days last long enough to overlap
    dest = tmp_path / "season"
    queued = await enqueue_harvest(own_redis.url, fake.race_days(), dest, heartbeat=2,
                                   retry_delay=0.1)  # fmt: skip
    doomed = await workers.start(fake, *local_args(own_redis, dest))
    await until(lambda: len(image_files(dest)) >= 10)
    for _ in range(2):
        await workers.start(fake, *local_args(own_redis, dest))
    # The three write at once (more race days running than one worker's 2): kill the first.
    seen = len(image_files(dest))
    await until(lambda: len(image_files(dest)) >= seen + 40)
    running = {j.key for j in await jobs_of(own_redis, str(dest), fake)  # type: ignore[attr-defined]
               if j.status == Status.ACTIVE}  # type: ignore[attr-defined]  # fmt: skip
    assert len(running) > 2, running
    doomed.send_signal(signal.SIGKILL)
    await doomed.wait()
    summary = await asyncio.wait_for(follow_harvest(queued), 120)
    logs = await workers.stop_all()
    assert summary.ok, summary.failures
    assert (summary.race_days, summary.race_days_listed) == (DAYS, DAYS)
    assert all("downloaded" in log for log in logs[1:]), logs  # the survivors both worked

    stored = check_files(fake, dest, ("original",))  # each photo once, byte-identical
    assert stored == DAYS * PHOTOS
    assert temp_files(dest) == []  # the killed worker's leftovers were cleared
    jobs = await jobs_of(own_redis, str(dest), fake)
    retried = {j.key for j in jobs if j.attempts > 1}  # type: ignore[attr-defined]
    assert retried and retried <= running  # the killed worker's race days, and only them
    assert all(j.status == Status.COMPLETE for j in jobs)  # type: ignore[attr-defined]
    # Fetched again: at most the images of the race days the killed worker held.
    assert stored <= fake.image_request_count <= stored + len(retried) * PHOTOS

    # The manifest: one done row per file, naming it whole; every photo; every mark.
    files, photos, marks = manifest_rows(dest)
    assert len(files) == len({row[:4] for row in files}) == stored
    for *_, status, path, nbytes, sha256 in files:
        data = (dest / str(path)).read_bytes()
        assert status == "done"
        assert (len(data), hashlib.sha256(data).hexdigest()) == (nbytes, sha256)
    assert photos == stored
    assert len(marks) == DAYS and None not in marks


@pytest.mark.runsignup_fake(seed=26, races=2, days_per_race=2, photos_per_race_day=5,
                            latency=0.05)  # fmt: skip
async def test_a_local_harvest_is_refused_while_workers_hold_the_directory(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, workers: Workers, tmp_path: Path
) -> None:
    fake = runsignup_fake
    dest = tmp_path / "season"
    queued = await enqueue_harvest(own_redis.url, fake.race_days(), dest)
    await workers.start(fake, *local_args(own_redis, dest))
    summary = await asyncio.wait_for(follow_harvest(queued), 60)
    assert summary.ok
    # The worker waits for more jobs, holding the directory: a local run there would
    # clear its temporary files and write its race days too.
    before = fake.request_counts.total()
    async with fast_client(fake) as client:
        with pytest.raises(DestinationBusyError, match="harvest workers"):
            await harvest(client, fake.race_days(), dest)
    assert fake.request_counts.total() == before  # refused before listing anything
    await workers.stop_all()
    async with fast_client(fake) as client:  # the workers gone, the directory is free
        summary = await harvest(client, fake.race_days(), dest)
    assert summary.ok and summary.photos_skipped == len(fake.race_days()) * 5


@pytest.mark.runsignup_fake(seed=27, races=3, days_per_race=2, photos_per_race_day=4)
async def test_harvest_queue_with_bare_race_ids_queues_their_race_days_and_reports_an_unknown_race(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, workers: Workers, tmp_path: Path
) -> None:
    fake = runsignup_fake
    dest = tmp_path / "season"
    race_ids = sorted({race_id for race_id, _ in fake.race_days()})
    unknown = max(race_ids) + 1000
    await workers.start(fake, *local_args(own_redis, dest))
    races = [f"--race={race_id}" for race_id in [*race_ids, unknown]]
    harvest_cmd = await asyncio.create_subprocess_exec(
        *CLI, "harvest", *races, "--queue", own_redis.url, "--dest", str(dest), "--quiet",
        "--base-url", fake.base_url, "--rate", "50",
        env=env_for(fake), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(harvest_cmd.communicate(), 120)
    assert harvest_cmd.returncode == 1, err.decode()  # a race could not be read
    days = len(fake.race_days())
    assert f"queued {days} race days for {dest}" in err.decode()
    summary = out.decode()
    assert f"race days: {days}/{days + 1} listed, 1 failed" in summary, summary
    assert str(unknown) in summary
    assert check_files(fake, dest, ("original",)) == days * 4  # every race day of each race
    assert fake.request_counts["get-race"] == len(race_ids) + 1  # one read of each race
