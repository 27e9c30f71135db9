"""The harvester against the real fake server over loopback: every "done when" line."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from runsignup_async import RaceDay
from runsignup_async.harvester import MANIFEST_NAME, HarvestEvent, harvest
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import (
    FINAL,
    all_paths,
    check_files,
    fast_client,
    give_photos_bad_names,
    image_files,
    temp_files,
)

ALL = ("original", "large", "thumbnail")


@pytest.mark.runsignup_fake(seed=7, races=3, photos_per_race_day=30)
async def test_byte_identical_then_rerun_makes_no_image_request(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durability: str
) -> None:
    fake = runsignup_fake
    events: list[HarvestEvent] = []
    async with fast_client(fake) as client:
        summary = await harvest(
            client, fake.race_days(), tmp_path, sizes=ALL, progress=events.append
        )
        assert summary.ok and summary.photos_downloaded == 90 and summary.files_downloaded == 270
        assert check_files(fake, tmp_path, ALL) == 270
        assert all(re.match(FINAL, rel) for rel in image_files(tmp_path))
        assert {e.kind for e in events} >= {"race_day_listed", "photo_downloaded"}
        # Checksums recorded in the manifest match the bytes.
        with sqlite3.connect(tmp_path / MANIFEST_NAME) as db:
            rows = db.execute("SELECT count(*) FROM files WHERE status='done'").fetchone()
        assert rows == (270,)

        before = fake.image_request_count
        again = await harvest(client, fake.race_days(), tmp_path, sizes=ALL)
    assert fake.image_request_count == before  # zero image requests
    assert again.ok and again.photos_skipped == 90 and again.files_downloaded == 0
    assert fake.credential_leaks == []


@pytest.mark.runsignup_fake(seed=3, races=2, photos_per_race_day=10)
async def test_a_file_deleted_or_truncated_on_disk_is_fetched_again(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    async with fast_client(fake) as client:
        await harvest(client, fake.race_days(), tmp_path)
        files = sorted(image_files(tmp_path).values())
        files[0].unlink()
        files[1].write_bytes(b"short")
        fake.reset_stats()
        summary = await harvest(client, fake.race_days(), tmp_path)
    assert fake.image_request_count == 2 and summary.files_downloaded == 2
    check_files(fake, tmp_path, ("original",))


@pytest.mark.runsignup_fake(seed=11, races=2, photos_per_race_day=40, image_size=1_500_000)
async def test_cancellation_leaves_no_partial_file_and_rerun_completes(
    runsignup_fake: FakeRunSignup, tmp_path: Path, durability: str
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.02), endpoint="images")
    async with fast_client(fake) as client:
        task = asyncio.ensure_future(harvest(client, fake.race_days(), tmp_path))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(image_files(tmp_path)) >= 5 and temp_files(tmp_path):
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert temp_files(tmp_path) == []
        partial = image_files(tmp_path)
        assert 0 < len(partial) < 80
        for rel, path in partial.items():
            photo_id, size = re.findall(r"(\d+)-(\w+)\.jpg$", rel)[0]
            assert path.read_bytes() == fake.image_bytes(int(photo_id), size), rel
        fake.faults.clear()
        summary = await harvest(client, fake.race_days(), tmp_path)
    # A file renamed just as the cancel landed is whole but may lack its manifest row:
    # it is fetched again, never trusted unchecked.
    assert summary.ok and summary.photos_skipped <= len(partial)
    check_files(fake, tmp_path, ("original",))


@pytest.mark.runsignup_fake(seed=5, races=1, photos_per_race_day=6)
async def test_uploaded_filename_is_never_a_path(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    give_photos_bad_names(fake)
    dest = tmp_path / "a" / "dest"
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), dest)
    assert summary.ok and summary.photos_downloaded == 6
    outside = [p for p in all_paths(tmp_path) if dest not in p.parents and p != dest]
    assert outside == [tmp_path / "a"]
    assert all(re.match(FINAL, rel) for rel in image_files(dest))
    with sqlite3.connect(dest / MANIFEST_NAME) as db:
        stored = {row[0] for row in db.execute("SELECT uploaded_filename FROM photos")}
    assert "../../x.jpg" in stored  # kept as metadata


@pytest.mark.runsignup_fake(seed=9, races=3, photos_per_race_day=12)
async def test_since_last_downloads_only_new_photos(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    async with fast_client(fake) as client:
        first = await harvest(client, fake.race_days(), tmp_path, since_last=True)
        assert first.ok and first.photos_downloaded == 36
        race_id, day_id = fake.race_days()[1]
        new = fake.add_photos(race_id, day_id, 4)
        fake.reset_stats()
        second = await harvest(client, fake.race_days(), tmp_path, since_last=True)
    assert second.ok and second.photos_downloaded == 4
    assert fake.image_request_count == 4
    # Only photos at or after each day's mark were listed, not the whole history.
    assert second.photos_found < 36
    check_files(fake, tmp_path, ("original",))
    assert all(any(f"/{pid}-original.jpg" in rel for rel in image_files(tmp_path)) for pid in new)


@pytest.mark.runsignup_fake(seed=4, races=3, photos_per_race_day=8)
async def test_a_failing_race_is_reported_and_the_others_complete(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    races = [*fake.race_days(), (999_999, 1)]
    async with fast_client(fake) as client:
        summary = await harvest(client, races, tmp_path, since_last=True)
    assert not summary.ok
    assert summary.race_days_failed == 1 and summary.race_days_listed == 3
    assert summary.photos_downloaded == 24
    (failure,) = summary.failures
    assert failure.race_id == 999_999 and failure.photo_id is None
    assert "error 15" in str(failure)
    check_files(fake, tmp_path, ("original",))


@pytest.mark.runsignup_fake(seed=6, races=2, photos_per_race_day=5)
async def test_image_failures_are_retried_reported_and_resumed(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.truncated(), endpoint="images", times=1)  # retried within the run
    fake.faults.add(Fault.status(404), endpoint="images", times=1)  # final for this run
    async with fast_client(fake) as client:
        first = await harvest(client, fake.race_days(), tmp_path, since_last=True)
        assert not first.ok and first.photos_failed == 1 and first.photos_downloaded == 9
        assert "HTTP 404" in str(first.failures[0])
        assert temp_files(tmp_path) == []
        fake.reset_stats()
        second = await harvest(client, fake.race_days(), tmp_path, since_last=True)
    # The failed race day kept no mark, so its photo is listed and fetched again.
    assert second.ok and second.photos_downloaded == 1 and fake.image_request_count == 1
    check_files(fake, tmp_path, ("original",))


async def test_bad_sizes_are_refused_before_any_request(tmp_path: Path) -> None:
    from runsignup_async import Client, ValidationError

    async with Client() as client:
        with pytest.raises(ValidationError, match="sizes"):
            await harvest(client, [(1, 2)], tmp_path, sizes=("huge",))


@pytest.mark.runsignup_fake(seed=5, races=2, photos_per_race_day=5)
async def test_a_destination_spelled_with_dot_dot_records_true_relative_paths(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    fake = runsignup_fake
    (tmp_path / "elsewhere").mkdir()
    dest = tmp_path / "elsewhere" / ".." / "photos"
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), dest)
    assert summary.ok and summary.files_downloaded == 10
    with sqlite3.connect(tmp_path / "photos" / MANIFEST_NAME) as db:
        paths = [row[0] for row in db.execute("SELECT path FROM files")]
    assert len(paths) == 10
    assert all(re.match(FINAL, rel) and (tmp_path / "photos" / rel).is_file() for rel in paths)


@pytest.mark.runsignup_fake(seed=8, races=2, photos_per_race_day=10)
async def test_since_last_keeps_the_callers_bound_and_objects(
    runsignup_fake: FakeRunSignup, tmp_path: Path
) -> None:
    # No race day has a mark yet: the caller's own uploaded_since still holds, and the
    # RaceDay objects the caller passed are left as they were.
    fake = runsignup_fake
    race_id, day_id = fake.race_days()[0]
    stamps = sorted(int(p["uploaded_ts"]) for p in fake.photos(race_id, day_id))
    since = datetime.fromtimestamp(stamps[5], tz=timezone.utc)
    day = RaceDay(race_id, day_id, uploaded_since=since)
    async with fast_client(fake) as client:
        summary = await harvest(client, [day], tmp_path, since_last=True)
    assert day.uploaded_since == since
    newer = [s for s in stamps if s >= stamps[5]]
    assert summary.ok and summary.photos_found == len(newer) < len(stamps)
    assert fake.image_request_count == len(newer)


@pytest.mark.runsignup_fake(seed=12, races=2, photos_per_race_day=30)
async def test_cancelling_surfaces_the_cancellation_not_a_commit_error(
    runsignup_fake: FakeRunSignup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing is committed while the run goes on (a huge batch, a long interval), and the
    # disk fails as the interrupted run records what it downloaded: the caller still gets
    # its CancelledError, and the commit failure is logged.
    from runsignup_async.harvester import _settings, _sync

    monkeypatch.setattr(_settings, "COMMIT_BATCH", 1_000_000)
    monkeypatch.setattr(_settings, "COMMIT_INTERVAL", 3600)
    failing = False

    def fsync_dirs(*args: object, **kwargs: object) -> None:
        if failing:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(_sync, "fsync_dirs", fsync_dirs)
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.01), endpoint="images")
    downloaded: list[HarvestEvent] = []

    def progress(event: HarvestEvent) -> None:
        if event.kind == "photo_downloaded":
            downloaded.append(event)

    async with fast_client(fake) as client:
        task = asyncio.ensure_future(harvest(client, fake.race_days(), tmp_path, progress=progress))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(downloaded) >= 5:  # downloaded, not yet recorded (no commit runs)
                break
        failing = True
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "recording its last downloads failed" in caplog.text
    assert temp_files(tmp_path) == []
