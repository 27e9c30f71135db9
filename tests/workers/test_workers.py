"""A harvest shared by worker subprocesses through SAQ on a real redis-server, into
moto's S3 server, from the embedded fake RunSignup."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pytest
from saq.job import Status
from saq.queue.redis import RedisQueue

from runsignup_async import Client
from runsignup_async import _constants as C
from runsignup_async.testing import FakeRunSignup, Throttle
from runsignup_async.workers import enqueue_harvest, follow_harvest
from runsignup_async.workers._queue import connect, job_key

from .conftest import CLI, Workers, env_for

from harvest.conftest import check_objects  # isort: skip  (on the path from conftest)
from harvest.s3server import MotoS3  # isort: skip
from shared.conftest import RedisServer, free_port  # isort: skip

PREFIX = "season"
DAYS = 20  # 10 races of 2 race days


def worker_args(own_redis: RedisServer, moto: MotoS3, dest: str, *extra: str) -> list[str]:
    return ["--redis", own_redis.url, "--dest", dest, "--s3-endpoint", moto.endpoint,
            "--concurrency", "2", "--download-concurrency", "4", "--sweep-every", "1",
            *extra]  # fmt: skip


async def jobs_of(own_redis: RedisServer, dest: str, fake: FakeRunSignup) -> list[object]:
    queue: RedisQueue = await connect(own_redis.url, dest)
    try:
        return list(await queue.jobs(job_key(r, d) for r, d in fake.race_days()))
    finally:
        await queue.disconnect()


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait until ``condition()`` holds (polled every 50 ms), or fail the test."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not true after {seconds:g} s: {condition}")


async def listing_requests(fake: FakeRunSignup) -> int:
    """The API requests that list the first race day whole; the fake's counters zeroed."""
    async with Client(fake.v2_auth(), base_url=fake.base_url) as client:
        async for _ in client.photos.iter_many(fake.race_days()[:1]):
            pass
    pages = fake.request_counts["get-race-photos"]
    fake.reset_stats()
    return pages


@pytest.mark.runsignup_fake(seed=21, races=10, days_per_race=2, photos_per_race_day=12)
async def test_two_workers_harvest_twenty_race_days_once_each_within_the_shared_limits(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, moto_s3: MotoS3, bucket: str,
    workers: Workers,
) -> None:  # fmt: skip
    fake = runsignup_fake
    assert len(fake.race_days()) == DAYS
    # The fleet's shared rate (40/s) is under the fake's limit; two workers each at 40/s
    # on their own would go over it.
    fake.set_throttle(Throttle(per_second=50, burst=50))
    dest = f"s3://{bucket}/{PREFIX}"
    for _ in range(2):
        await workers.start(fake, *worker_args(own_redis, moto_s3, dest, "--rate", "40"))
    races = [f"--race={r}:{d}" for r, d in fake.race_days()]
    harvest = await asyncio.create_subprocess_exec(
        *CLI, "harvest", *races, "--queue", own_redis.url, "--dest", dest, "--quiet",
        env=env_for(fake), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(harvest.communicate(), 120)
    logs = await workers.stop_all()
    assert harvest.returncode == 0, err.decode()
    summary = out.decode()
    assert f"race days: {DAYS}/{DAYS} listed, 0 failed" in summary
    stored = check_objects(fake, moto_s3, bucket, PREFIX, ("original",))
    assert stored == DAYS * 12
    # Every image fetched once, every race day listed by one worker only.
    assert fake.image_request_count == stored
    assert f"{stored} downloaded, 0 already done" in summary
    assert all("downloaded" in log for log in logs), logs  # both workers took jobs
    assert fake.throttled_count == 0
    assert 1 <= fake.max_in_flight["get-race-photos"] <= C.MAX_CONCURRENCY
    # Each race day's job completed on its first attempt.
    jobs = await jobs_of(own_redis, dest, fake)
    assert [(j.status, j.attempts) for j in jobs] == [(Status.COMPLETE, 1)] * DAYS  # type: ignore[attr-defined]


@pytest.mark.runsignup_fake(
    seed=22, races=10, days_per_race=2, photos_per_race_day=30, max_page_size=5, latency=0.1
)
async def test_a_sigkilled_worker_s_job_is_taken_up_again_and_only_missing_images_fetched(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, moto_s3: MotoS3, bucket: str,
    workers: Workers,
) -> None:  # fmt: skip
    fake = runsignup_fake
    dest = f"s3://{bucket}/{PREFIX}"
    pages = await listing_requests(fake)  # of one race day (all have as many photos)
    queued = await enqueue_harvest(own_redis.url, fake.race_days(), dest, heartbeat=2,
                                   retry_delay=0.1)  # fmt: skip
    assert queued.enqueued == DAYS
    doomed = await workers.start(fake, *worker_args(own_redis, moto_s3, dest))
    # The victim has stored images and is in the middle of race days: kill it there.
    await until(
        lambda: (
            bool(moto_s3.image_keys(bucket, PREFIX)) and fake.request_counts["get-race-photos"] > 3
        )
    )
    running = [j for j in await jobs_of(own_redis, dest, fake) if j.status == Status.ACTIVE]  # type: ignore[attr-defined]
    assert running, "no job was running when the worker was to be killed"
    doomed.send_signal(signal.SIGKILL)
    await doomed.wait()
    await workers.start(fake, *worker_args(own_redis, moto_s3, dest))
    summary = await asyncio.wait_for(follow_harvest(queued), 120)
    assert summary.ok, summary.failures
    assert (summary.race_days, summary.race_days_listed) == (DAYS, DAYS)
    stored = check_objects(fake, moto_s3, bucket, PREFIX, ("original",))
    jobs = await jobs_of(own_redis, dest, fake)
    retried = [j for j in jobs if j.attempts > 1]  # type: ignore[attr-defined]
    assert {j.key for j in retried} == {j.key for j in running}  # type: ignore[attr-defined]
    assert all(j.status == Status.COMPLETE for j in jobs)  # type: ignore[attr-defined]
    # Refetched: at most the images in flight when the worker died (4 at a time).
    assert stored <= fake.image_request_count <= stored + 4
    # Listed again: at most the race days that were running.
    listed = fake.request_counts["get-race-photos"]
    assert DAYS * pages <= listed <= (DAYS + len(running)) * pages


@pytest.mark.runsignup_fake(
    seed=23, races=10, days_per_race=2, photos_per_race_day=10, max_page_size=5, latency=0.05
)
async def test_enqueueing_the_same_harvest_twice_while_it_runs_doubles_no_work(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, moto_s3: MotoS3, bucket: str,
    workers: Workers,
) -> None:  # fmt: skip
    fake = runsignup_fake
    dest = f"s3://{bucket}/{PREFIX}"
    pages = await listing_requests(fake)
    first = await enqueue_harvest(own_redis.url, fake.race_days(), dest)
    await workers.start(fake, *worker_args(own_redis, moto_s3, dest))
    await until(lambda: fake.request_counts["get-race-photos"] > 0)  # the first are running
    again = await enqueue_harvest(own_redis.url, fake.race_days(), dest)
    assert (first.enqueued, again.enqueued, again.already_queued) == (DAYS, 0, DAYS)
    summary = await asyncio.wait_for(follow_harvest(again), 120)
    assert summary.ok and summary.race_days_listed == DAYS
    stored = check_objects(fake, moto_s3, bucket, PREFIX, ("original",))
    assert fake.image_request_count == stored
    assert fake.request_counts["get-race-photos"] == DAYS * pages  # each race day listed once


async def test_a_worker_with_a_wrong_dest_exits_with_one_line(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, moto_s3: MotoS3, bucket: str,
    workers: Workers,
) -> None:  # fmt: skip
    fake = runsignup_fake
    await enqueue_harvest(own_redis.url, fake.race_days()[:1], f"s3://{bucket}/{PREFIX}")
    proc = await workers.start(fake, *worker_args(own_redis, moto_s3, f"s3://{bucket}/elsewhere"))
    assert await asyncio.wait_for(proc.wait(), 30) == 1
    assert proc.stderr is not None
    lines = (await proc.stderr.read()).decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"no harvest is queued for s3://{bucket}/elsewhere" in lines[0]
    assert f"s3://{bucket}/{PREFIX}" in lines[0]
    assert fake.request_counts.total() == 0


async def test_a_worker_with_an_unreachable_redis_exits_with_one_line(
    runsignup_fake: FakeRunSignup, workers: Workers, tmp_path: object
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    proc = await workers.start(runsignup_fake, "--redis", url, "--dest", str(tmp_path))
    assert await asyncio.wait_for(proc.wait(), 30) == 1
    assert proc.stderr is not None
    lines = (await proc.stderr.read()).decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"runsignup-async worker: QueueError: cannot reach the job queue at {url}"
    )


@pytest.mark.runsignup_fake(seed=24, races=2, days_per_race=2, photos_per_race_day=5)
async def test_a_race_day_that_keeps_failing_ends_failed_after_its_attempts_and_the_others_go_on(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, moto_s3: MotoS3, bucket: str,
    workers: Workers,
) -> None:  # fmt: skip
    fake = runsignup_fake
    dest = f"s3://{bucket}/{PREFIX}"
    race_id = fake.race_days()[0][0]
    missing = (race_id, 999_999)  # no such race day: the fake refuses its listing
    days = [*fake.race_days(), missing]
    queued = await enqueue_harvest(own_redis.url, days, dest, attempts=2, retry_delay=0.1)
    await workers.start(fake, *worker_args(own_redis, moto_s3, dest))
    summary = await asyncio.wait_for(follow_harvest(queued), 120)
    assert not summary.ok
    assert (summary.race_days, summary.race_days_listed, summary.race_days_failed) == (5, 4, 1)
    assert [(f.race_id, f.race_event_days_id, f.photo_id) for f in summary.failures] == [
        (*missing, None)
    ]
    assert "listing failed" in str(summary.failures[0])
    assert check_objects(fake, moto_s3, bucket, PREFIX, ("original",)) == 4 * 5
    jobs = {j.key: j.attempts for j in await jobs_of(own_redis, dest, fake)}  # type: ignore[attr-defined]
    assert set(jobs.values()) == {1}  # the race days that work ran once
    queue = await connect(own_redis.url, dest)
    try:
        failed = await queue.job(job_key(*missing))
    finally:
        await queue.disconnect()
    assert failed is not None and failed.attempts == 2


@pytest.mark.runsignup_fake(
    seed=25, races=2, days_per_race=2, photos_per_race_day=30, max_page_size=5, latency=0.1
)
async def test_a_sigterm_hands_the_running_jobs_back_and_another_worker_finishes_them(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, moto_s3: MotoS3, bucket: str,
    workers: Workers,
) -> None:  # fmt: skip
    fake = runsignup_fake
    dest = f"s3://{bucket}/{PREFIX}"
    queued = await enqueue_harvest(own_redis.url, fake.race_days(), dest, retry_delay=0.1)
    stopping = await workers.start(fake, *worker_args(own_redis, moto_s3, dest, "--grace", "0"))
    await until(lambda: fake.request_counts["get-race-photos"] >= 2)  # listing its first
    running = [j for j in await jobs_of(own_redis, dest, fake) if j.status == Status.ACTIVE]  # type: ignore[attr-defined]
    assert running, "no job was running when the worker was stopped"
    stopping.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(stopping.wait(), 30) == 0
    # Handed back at once (no heartbeat to wait for): queued again, not running, not lost.
    after = {j.key: j for j in await jobs_of(own_redis, dest, fake)}  # type: ignore[attr-defined]
    statuses = {after[job.key].status for job in running}  # type: ignore[attr-defined]
    assert Status.QUEUED in statuses and Status.ACTIVE not in statuses, statuses
    await workers.start(fake, *worker_args(own_redis, moto_s3, dest))
    summary = await asyncio.wait_for(follow_harvest(queued), 120)
    assert summary.ok and summary.race_days_listed == 4
    check_objects(fake, moto_s3, bucket, PREFIX, ("original",))


async def test_detach_queues_and_exits_and_harvest_status_shows_where_it_stands(
    runsignup_fake: FakeRunSignup, own_redis: RedisServer, bucket: str
) -> None:
    fake = runsignup_fake
    dest = f"s3://{bucket}/{PREFIX}"
    days = fake.race_days()

    async def cli(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *CLI, *args, env=env_for(fake),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    races = [f"--race={r}:{d}" for r, d in days]
    code, _, err = await cli("harvest", *races, "--queue", own_redis.url, "--dest", dest,
                             "--detach")  # fmt: skip
    assert code == 0, err
    assert f"queued {len(days)} race days for {dest} (0 already queued or running)" in err
    code, out, err = await cli("harvest-status", "--queue", own_redis.url)
    assert code == 0, err
    assert out.splitlines() == [
        f"{dest}: {len(days)} queued, 0 running, 0 done, 0 failed; 0 workers"
    ]
    assert fake.request_counts.total() == 0  # race days given whole: no API call to queue
    code, _, err = await cli("harvest", *races, "--dest", dest, "--detach")
    assert code == 1 and "--detach goes with --queue" in err
