"""The image origin: a second host, deterministic JPEG bytes, streaming, credential leaks."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest

from runsignup_async.testing import FakeRunSignup, Fault, image_bytes

PHOTOS = "/v2/photos/get-race-photos.json"


async def test_images_live_on_another_origin(api, fake, day, session) -> None:
    assert fake.image_base_url.split(":")[-1] != fake.base_url.split(":")[-1].split("/")[0]
    photo = (await api.get(PHOTOS, day))["photos"][0]
    for size in ("original", "thumbnail", "large"):
        url = photo[size]["image_url"]
        assert url.startswith(fake.image_base_url + "/images/")
        async with session.get(url) as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
            body = await response.read()
        assert body == fake.image_bytes(photo["photo_id"], size)
        assert body[:3] == b"\xff\xd8\xff" and body[-2:] == b"\xff\xd9"
    assert fake.image_request_count == 3 and fake.credential_leaks == []
    # The API origin serves no images, the image origin no API.
    async with session.get(fake.base_url.replace("/rest", "") + "/images/1-large.jpg") as r:
        assert r.status == 404
    async with session.get(fake.image_base_url + "/rest" + PHOTOS) as r:
        assert r.status == 404


def test_image_bytes_are_deterministic() -> None:
    one = image_bytes(1, 10, "large", 5000)
    assert one == image_bytes(1, 10, "large", 5000) and len(one) == 5000
    assert one != image_bytes(2, 10, "large", 5000) != image_bytes(1, 11, "large", 5000)
    assert b"\xff\xd9" not in one[:-2]
    assert len(image_bytes(1, 1, "original", 0)) == 6


async def test_unknown_photo_or_size_is_404(fake, session) -> None:
    photo_id = next(iter(fake.data.photo_index))
    for path in (f"/images/{photo_id}-huge.jpg", "/images/1-large.jpg", "/images/x-large.jpg"):
        async with session.get(fake.image_base_url + path) as response:
            assert response.status == 404, path


async def test_credential_leaks_are_recorded(fake, session) -> None:
    photo_id = next(iter(fake.data.photo_index))
    url = fake.image_url(photo_id, "thumbnail")
    async with session.get(url, params={"rsu_api_key": "k", "format": "json"}) as response:
        await response.read()
    async with session.get(url, headers={"X-RSU-API-SECRET": "s", "Authorization": "Bearer t"}):
        pass
    async with session.get(url, params={"protected_api_signature": "x"}):
        pass
    names = [leak.names for leak in fake.credential_leaks]
    assert names == [("rsu_api_key",), ("X-RSU-API-SECRET", "Authorization"),
                     ("protected_api_signature",)]  # fmt: skip
    assert fake.credential_leaks[0].path == f"/images/{photo_id}-thumbnail.jpg"


async def test_large_image_streams(session) -> None:
    size = 50 * 1024 * 1024
    async with FakeRunSignup(seed=9, races=1, photos_per_race_day=1, image_size=size) as fake:
        photo_id = next(iter(fake.data.photo_index))
        digest = hashlib.sha256()
        total = 0
        async with session.get(fake.image_url(photo_id, "original")) as response:
            assert response.content_length == size
            async for chunk in response.content.iter_chunked(1 << 20):
                digest.update(chunk)
                total += len(chunk)
        assert total == size
        expected = hashlib.sha256(fake.image_bytes(photo_id, "original")).hexdigest()
        assert digest.hexdigest() == expected


async def test_image_sizes_per_size(session) -> None:
    sizes = {"thumbnail": 100, "large": 300, "original": 900}
    async with FakeRunSignup(seed=9, races=1, photos_per_race_day=1, image_size=sizes) as fake:
        photo_id = next(iter(fake.data.photo_index))
        for size, length in sizes.items():
            async with session.get(fake.image_url(photo_id, size)) as response:
                assert len(await response.read()) == length


@pytest.mark.parametrize("fault", [Fault.truncated(), Fault.reset_after()])
async def test_image_faults_break_the_download(fake, session, fault) -> None:
    fake.faults.add(fault, endpoint="images", times=1)
    url = fake.image_url(next(iter(fake.data.photo_index)), "original")
    with pytest.raises(aiohttp.ClientError):
        async with session.get(url) as response:
            await response.read()
    async with session.get(url) as response:
        assert response.status == 200 and len(await response.read()) == 20_480


async def test_image_status_fault(fake, session) -> None:
    fake.faults.add(Fault.status(503, retry_after=3), endpoint="images", times=1)
    url = fake.image_url(next(iter(fake.data.photo_index)), "large")
    async with session.get(url) as response:
        assert response.status == 503 and response.headers["Retry-After"] == "3"
