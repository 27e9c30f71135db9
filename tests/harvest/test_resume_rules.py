"""What a re-run takes for done, on both sinks by the same tests: only a file recorded whole
from the image the listing names now, at the size it has now."""

from __future__ import annotations

from typing import Any

import pytest

from runsignup_async.harvester import harvest
from runsignup_async.harvester.sinks import image_identity
from runsignup_async.testing import FakeRunSignup

from .conftest import fast_client
from .dests import Dest

pytestmark = pytest.mark.runsignup_fake(seed=3, races=2, photos_per_race_day=6)


def test_an_image_is_known_by_its_path_and_dimensions_not_its_host_or_signature() -> None:
    url = "https://rsu-photos.s3.amazonaws.com/v3/race_21_6568_d375.jpg"
    same = image_identity(url, 1600, 1067)
    assert same == image_identity(url + "?X-Amz-Signature=abc#top", 1600, 1067)
    assert same == image_identity(url.replace("rsu-photos.s3", "cdn.example"), 1600, 1067)
    assert same != image_identity(url.replace("d375", "d376"), 1600, 1067)  # a new upload
    assert same != image_identity(url, 1600, 1068)  # an edit


async def _harvest(fake: FakeRunSignup, dest: Dest) -> Any:
    async with fast_client(fake) as client:
        return await harvest(client, fake.race_days(), dest.url, **dest.options)


async def _rerun_fetches(fake: FakeRunSignup, dest: Dest, files: int) -> Any:
    """Harvest again: it must fetch exactly ``files`` images, and succeed."""
    fake.reset_stats()
    again = await _harvest(fake, dest)
    assert again.ok and again.files_downloaded == files and fake.image_request_count == files
    return again


def _first_photo(fake: FakeRunSignup) -> tuple[int, int, int, str]:
    """(race_id, day_id, photo_id, key of its original) of the first race day's first."""
    race_id, day_id = fake.race_days()[0]
    photo = fake.photos(race_id, day_id)[0]
    key = f"{race_id}/{day_id}/{photo['album_id']}/{photo['photo_id']}-original.jpg"
    return race_id, day_id, photo["photo_id"], key


async def test_a_photo_whose_image_was_re_edited_is_fetched_again(
    runsignup_fake: FakeRunSignup, dest: Dest
) -> None:
    fake = runsignup_fake
    await _harvest(fake, dest)
    race_id, day_id, photo_id, _key = _first_photo(fake)
    before = dest.record(race_id, day_id, photo_id, "original")["image"]
    # The image is re-edited: the listing gives new dimensions.
    fake.edit_photo(photo_id, width=fake.data.photo_index[photo_id].width + 7)
    await _rerun_fetches(fake, dest, 1)
    listed = fake.photos(race_id, day_id)[0]["original"]
    after = dest.record(race_id, day_id, photo_id, "original")
    assert after["image"] != before and after["image"].endswith(
        f" {listed['width']}x{listed['height']}"
    )
    dest.check(fake, ("original",))


async def test_a_file_recorded_from_another_image_url_is_fetched_again(
    runsignup_fake: FakeRunSignup, dest: Dest
) -> None:
    fake = runsignup_fake
    await _harvest(fake, dest)
    race_id, day_id, photo_id, _key = _first_photo(fake)
    dest.stale(race_id, day_id, photo_id, "original", "/old/moved.jpg 640x480")
    await _rerun_fetches(fake, dest, 1)
    record = dest.record(race_id, day_id, photo_id, "original")
    assert record["image"].startswith(f"/images/{photo_id}-original.jpg ")
    dest.check(fake, ("original",))


async def test_a_file_no_record_claims_is_fetched_again_even_at_the_right_size(
    runsignup_fake: FakeRunSignup, dest: Dest
) -> None:
    fake = runsignup_fake
    await _harvest(fake, dest)
    race_id, day_id, photo_id, key = _first_photo(fake)
    # A killed run's leftover: bytes of the right length, from who knows where.
    good = dest.read(key)
    assert good is not None
    dest.overwrite(key, bytes(len(good)))
    dest.drop_record(race_id, day_id, photo_id, "original")
    await _rerun_fetches(fake, dest, 1)
    assert dest.read(key) == good
    assert dest.record(race_id, day_id, photo_id, "original")["bytes"] == len(good)
    dest.check(fake, ("original",))


async def test_a_truncated_or_deleted_file_is_fetched_again(
    runsignup_fake: FakeRunSignup, dest: Dest
) -> None:
    fake = runsignup_fake
    await _harvest(fake, dest)
    race_id, day_id = fake.race_days()[1]
    photos = fake.photos(race_id, day_id)[:2]
    keys = [f"{race_id}/{day_id}/{p['album_id']}/{p['photo_id']}-original.jpg" for p in photos]
    dest.overwrite(keys[0], b"short")
    dest.delete(keys[1])
    await _rerun_fetches(fake, dest, 2)
    dest.check(fake, ("original",))


async def test_a_whole_file_no_manifest_claims_is_kept_only_where_it_says_what_it_holds(
    runsignup_fake: FakeRunSignup, dest: Dest
) -> None:
    """A killed run's last whole file, its manifest record never written. An object
    carries its own record (its metadata, put with its bytes): kept. A local file has
    none: fetched again."""
    fake = runsignup_fake
    await _harvest(fake, dest)
    race_id, day_id, photo_id, key = _first_photo(fake)
    dest.drop_record(race_id, day_id, photo_id, "original")
    fake.reset_stats()
    again = await _harvest(fake, dest)
    refetched = 1 if dest.kind == "directory" else 0
    assert again.ok and fake.image_request_count == refetched
    assert again.files_downloaded == refetched and again.photos_skipped == 12 - refetched
    # Recorded again either way, for photos-by-bib and the next run.
    assert dest.record(race_id, day_id, photo_id, "original")["key"] == key
    dest.check(fake, ("original",))
