"""``harvest(dest="s3://...")`` from the fake RunSignup into moto's S3 server, end to end."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from runsignup_async import RaceDay
from runsignup_async.harvester import HarvestEvent, harvest
from runsignup_async.harvester.run import harvest_into
from runsignup_async.harvester.sinks import S3Sink, bucket_manifest
from runsignup_async.testing import FakeRunSignup, Fault

from .conftest import AWS_SECRET, api_secrets, check_objects, fast_client, give_photos_bad_names
from .s3server import MotoS3

ALL = ("original", "large", "thumbnail")
KEY = r"^photos/\d+/\d+/[A-Za-z0-9_-]+/\d+-(original|large|thumbnail)\.jpg$"


@pytest.mark.runsignup_fake(seed=7, races=3, photos_per_race_day=20)
async def test_byte_identical_objects_then_rerun_makes_no_image_request(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    dest = f"s3://{bucket}/photos"
    events: list[HarvestEvent] = []
    start = len(moto_s3.recorder.seen)
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), dest, sizes=ALL,
                                progress=events.append, s3_endpoint=moto_s3.endpoint)  # fmt: skip
        assert summary.ok and summary.photos_downloaded == 60 and summary.files_downloaded == 180
        # A first run into an empty prefix: one listing (the access check) finds nothing
        # stored, so it lists no race day, reads no manifest and writes each as new.
        first = moto_s3.recorder.seen[start:]
        assert len([s for s in first if s.method == "GET" and "list-type" in s.query]) == 1
        assert [s for s in first if s.method == "GET" and "list-type" not in s.query] == []
        puts = [s for s in first if s.method == "PUT" and "/_manifests/" in s.path]
        assert len(puts) == 3 and all(s.headers.get("If-None-Match") == "*" for s in puts)
        assert check_objects(fake, moto_s3, bucket, "photos", ALL) == 180
        assert all(re.match(KEY, key) for key in moto_s3.image_keys(bucket, "photos"))
        manifests = [k for k in moto_s3.keys(bucket, "photos/") if "/_manifests/" in k]
        assert len(manifests) == 3  # one per race day, beside the images

        before, requests = fake.image_request_count, len(moto_s3.recorder.seen)
        again = await harvest(client, fake.race_days(), dest, sizes=ALL,
                              s3_endpoint=moto_s3.endpoint)  # fmt: skip
    assert fake.image_request_count == before  # zero image requests
    assert again.ok and again.photos_skipped == 60 and again.files_downloaded == 0
    rerun = moto_s3.recorder.seen[requests:]
    assert not [s for s in rerun if s.method == "PUT" and "/_manifests/" not in s.path]
    # Per race day: read its manifest, list its keys, write its manifest (plus one check).
    assert len(rerun) <= 1 + 3 * 3
    assert fake.credential_leaks == []
    assert moto_s3.recorder.leaks(api_secrets(fake)) == []


@pytest.mark.runsignup_fake(seed=8, races=1, photos_per_race_day=3,
                            image_size={"original": 11_000_000})  # fmt: skip
async def test_large_images_stream_as_multipart_and_a_short_one_leaves_no_object(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.truncated(), endpoint="images", times=3)  # every attempt of one
    async with fast_client(fake, download_concurrency=1) as client:
        first = await harvest(client, fake.race_days(), f"s3://{bucket}/photos",
                              s3_endpoint=moto_s3.endpoint)  # fmt: skip
        assert first.photos_failed == 1 and first.photos_downloaded == 2
        assert len(moto_s3.image_keys(bucket, "photos")) == 2
        assert moto_s3.uploads_in_progress(bucket) == 0  # the short one's upload aborted
        parts = [s for s in moto_s3.recorder.seen if "partNumber=" in s.query]
        assert len(parts) >= 3 * 2 and max(len(s.body) for s in parts) <= 5 * 1024 * 1024
        fake.reset_stats()
        second = await harvest(client, fake.race_days(), f"s3://{bucket}/photos",
                               s3_endpoint=moto_s3.endpoint)  # fmt: skip
    assert second.ok and second.photos_downloaded == 1 and fake.image_request_count == 1
    check_objects(fake, moto_s3, bucket, "photos", ("original",))


@pytest.mark.runsignup_fake(seed=6, races=2, photos_per_race_day=5)
async def test_a_failing_image_is_retried_then_reported_and_the_others_complete(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.status(500), endpoint="images", times=1)  # retried within the run
    fake.faults.add(Fault.status(404), endpoint="images", times=1)  # final for this run
    dest = f"s3://{bucket}/photos"
    async with fast_client(fake) as client:
        first = await harvest(client, fake.race_days(), dest, since_last=True,
                              s3_endpoint=moto_s3.endpoint)  # fmt: skip
        assert not first.ok and first.photos_failed == 1 and first.photos_downloaded == 9
        assert "HTTP 404" in str(first.failures[0])
        assert len(moto_s3.image_keys(bucket, "photos")) == 9
        fake.reset_stats()
        second = await harvest(client, fake.race_days(), dest, since_last=True,
                               s3_endpoint=moto_s3.endpoint)  # fmt: skip
    # The failed race day kept no mark, so its photo is listed and fetched again.
    assert second.ok and second.photos_downloaded == 1 and fake.image_request_count == 1
    check_objects(fake, moto_s3, bucket, "photos", ("original",))


@pytest.mark.runsignup_fake(seed=9, races=3, photos_per_race_day=12)
async def test_since_last_on_a_bucket_downloads_only_new_photos(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    dest = f"s3://{bucket}/p"
    async with fast_client(fake) as client:
        first = await harvest(client, fake.race_days(), dest, since_last=True,
                              s3_endpoint=moto_s3.endpoint)  # fmt: skip
        assert first.ok and first.photos_downloaded == 36
        race_id, day_id = fake.race_days()[1]
        fake.add_photos(race_id, day_id, 4)
        fake.reset_stats()
        second = await harvest(client, fake.race_days(), dest, since_last=True,
                               s3_endpoint=moto_s3.endpoint)  # fmt: skip
    assert second.ok and second.photos_downloaded == 4 and fake.image_request_count == 4
    assert second.photos_found < 36
    check_objects(fake, moto_s3, bucket, "p", ("original",))
    # The race day's manifest still holds every photo, old and new.
    day = json.loads(moto_s3.get(bucket, f"p/{bucket_manifest.manifest_key(race_id, day_id)}"))
    assert len(day["photos"]) == 16


@pytest.mark.runsignup_fake(seed=5, races=1, photos_per_race_day=6)
async def test_uploaded_filename_is_never_a_key(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    give_photos_bad_names(fake)
    async with fast_client(fake) as client:
        summary = await harvest(client, fake.race_days(), f"s3://{bucket}/photos",
                                s3_endpoint=moto_s3.endpoint)  # fmt: skip
    assert summary.ok and summary.photos_downloaded == 6
    keys = moto_s3.keys(bucket)
    images = [k for k in keys if "/_manifests/" not in k]
    assert len(images) == 6 and all(re.match(KEY, k) for k in images)


@pytest.mark.runsignup_fake(seed=11, races=2, photos_per_race_day=30)
async def test_cancellation_leaves_only_whole_objects_and_rerun_completes(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    fake = runsignup_fake
    fake.faults.add(Fault.slow(0.02), endpoint="images")
    dest = f"s3://{bucket}/photos"
    async with fast_client(fake) as client:
        task = asyncio.ensure_future(
            harvest(client, fake.race_days(), dest, s3_endpoint=moto_s3.endpoint)
        )
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(moto_s3.image_keys(bucket, "photos")) >= 5:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        partial = moto_s3.image_keys(bucket, "photos")
        assert 0 < len(partial) < 60
        for key in partial:
            photo_id = int(re.findall(r"(\d+)-original\.jpg$", key)[0])
            assert moto_s3.get(bucket, key) == fake.image_bytes(photo_id, "original"), key
        fake.faults.clear()
        fake.reset_stats()
        summary = await harvest(client, fake.race_days(), dest, s3_endpoint=moto_s3.endpoint)
    # Whole objects a cut-short run left are kept: only the rest is fetched.
    assert summary.ok and summary.photos_skipped == len(partial)
    assert fake.image_request_count == 60 - len(partial)
    check_objects(fake, moto_s3, bucket, "photos", ("original",))
    assert AWS_SECRET not in str(fake.credential_leaks)


@pytest.mark.runsignup_fake(seed=12, races=2, photos_per_race_day=5)
async def test_a_race_day_whose_objects_are_gone_is_fetched_again_into_its_manifest(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    """Its listing finds nothing, so its manifest is not read first: written as new, it
    meets the one there, and is merged into it (the mark and the photos kept)."""
    fake = runsignup_fake
    dest = f"s3://{bucket}/p"
    race_id, day_id = fake.race_days()[0]
    key = f"p/{bucket_manifest.manifest_key(race_id, day_id)}"
    async with fast_client(fake) as client:
        first = await harvest(client, fake.race_days(), dest, since_last=True,
                              s3_endpoint=moto_s3.endpoint)  # fmt: skip
        assert first.ok and first.files_downloaded == 10
        before = json.loads(moto_s3.get(bucket, key))
        gone = [
            k for k in moto_s3.image_keys(bucket, "p") if k.startswith(f"p/{race_id}/{day_id}/")
        ]
        assert len(gone) == 5
        for image in gone:
            moto_s3.delete(bucket, image)
        fake.reset_stats()
        start = len(moto_s3.recorder.seen)
        again = await harvest(client, fake.race_days(), dest, s3_endpoint=moto_s3.endpoint)
    assert again.ok and again.files_downloaded == 5 and fake.image_request_count == 5
    writes = [
        s.headers
        for s in moto_s3.recorder.seen[start:]
        if s.method == "PUT" and s.path.endswith(key)
    ]
    assert [w.get("If-None-Match") for w in writes] == ["*", None]  # as new, then merged
    assert "If-Match" in writes[1]
    assert again.photos_skipped == 5  # the other race day's, read from its manifest
    after = json.loads(moto_s3.get(bucket, key))
    assert after["high_water_ts"] == before["high_water_ts"] is not None
    assert after["photos"].keys() == before["photos"].keys()
    assert [e["files"]["original"]["key"] for e in after["photos"].values()] == [
        e["files"]["original"]["key"] for e in before["photos"].values()
    ]
    check_objects(fake, moto_s3, bucket, "p", ("original",))


@pytest.mark.runsignup_fake(seed=9, races=1, photos_per_race_day=4)
async def test_an_unclaimed_object_is_kept_only_if_its_metadata_names_its_size_and_image(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    """A killed run's objects whose manifest record was never written: each says what it
    holds in one metadata value, "<bytes> <image>". Kept only when both hold now."""
    fake = runsignup_fake
    dest = f"s3://{bucket}/p"
    race_id, day_id = fake.race_days()[0]
    manifest = f"p/{bucket_manifest.manifest_key(race_id, day_id)}"
    async with fast_client(fake) as client:
        first = await harvest(client, fake.race_days(), dest, s3_endpoint=moto_s3.endpoint)
        assert first.ok and first.files_downloaded == 4
        doc = json.loads(moto_s3.get(bucket, manifest))
        records = [entry["files"].pop("original") for entry in doc["photos"].values()]
        moto_s3.put(bucket, manifest, json.dumps(doc).encode())  # none claimed any more
        for record in records:  # as the harvest sent it: the count, then the image
            key = f"p/{record['key']}"
            assert moto_s3.metadata(bucket, key) == {
                "runsignup-image": f"{record['bytes']} {record['image']}"
            }
        kept, longer, no_count, other = records
        for record, said in (
            (longer, f"{longer['bytes'] + 1} {longer['image']}"),  # not the size it has
            (no_count, no_count["image"]),  # no length announced: nothing checked
            (other, f"{other['bytes']} /old/moved.jpg 640x480"),  # another image
        ):
            key = f"p/{record['key']}"
            moto_s3.put(bucket, key, moto_s3.get(bucket, key), {"runsignup-image": said})
        fake.reset_stats()
        again = await harvest(client, fake.race_days(), dest, s3_endpoint=moto_s3.endpoint)
    assert again.ok and again.files_downloaded == 3 and fake.image_request_count == 3
    assert again.photos_skipped == 1
    doc = json.loads(moto_s3.get(bucket, manifest))  # all four claimed again
    assert sorted(e["files"]["original"]["key"] for e in doc["photos"].values()) == sorted(
        r["key"] for r in records
    )
    assert moto_s3.metadata(bucket, f"p/{kept['key']}") == {
        "runsignup-image": f"{kept['bytes']} {kept['image']}"
    }
    check_objects(fake, moto_s3, bucket, "p", ("original",))


@pytest.mark.runsignup_fake(seed=10, races=2, photos_per_race_day=3)
async def test_a_sink_open_across_runs_lists_what_the_first_run_stored(
    runsignup_fake: FakeRunSignup, moto_s3: MotoS3, bucket: str
) -> None:
    """A queue worker keeps its sink open across jobs. The prefix was empty when it opened,
    so the first run lists no race day; the next runs must, or they would fetch again
    what the first stored."""
    fake = runsignup_fake
    day, other = fake.race_days()
    async with (
        fast_client(fake) as client,
        S3Sink(f"s3://{bucket}/w", endpoint=moto_s3.endpoint) as sink,
    ):
        runs = []
        for days in ([day], [day, other], [other]):
            fake.reset_stats()
            start = len(moto_s3.recorder.seen)
            summary = await harvest_into(client, sink, [RaceDay(*d) for d in days], {},
                                         sizes=("original",), concurrency=1, progress=None,
                                         since_last=False)  # fmt: skip
            lists = [s for s in moto_s3.recorder.seen[start:] if "list-type" in s.query]
            runs.append((summary.ok, fake.image_request_count, len(lists)))
    # Fetched once each, every run after the first listing each of its race days.
    assert runs == [(True, 3, 0), (True, 3, 2), (True, 0, 1)]
    check_objects(fake, moto_s3, bucket, "w", ("original",))
