"""Starting, stopping, the pytest fixture, the shell entry point, and the credentials."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest

from runsignup_async.auth import ApiKeyAuth, ProtectedApiSigner, V2KeyAuth
from runsignup_async.testing import FakeRunSignup, serve


async def test_start_and_close_are_idempotent() -> None:
    fake = FakeRunSignup(seed=0, races=1)
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.base_url
    await fake.close()
    await fake.start()
    url = fake.base_url
    await fake.start()
    assert fake.base_url == url and url.startswith("http://127.0.0.1:") and url.endswith("/rest")
    await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError):
        _ = fake.image_base_url


async def test_auth_builders_match_the_credentials(fake) -> None:
    c = fake.credentials
    assert isinstance(fake.api_key_auth(), ApiKeyAuth) and fake.api_key_auth().key == c.api_key
    assert isinstance(fake.v2_auth(), V2KeyAuth) and fake.v2_auth().secret == c.rsu_api_secret
    assert fake.super_partner_auth().key == c.sp_api_key
    assert fake.temp_auth().key == c.tmp_key and fake.bearer_auth().token == c.bearer_token
    assert isinstance(fake.signer(), ProtectedApiSigner)
    assert "secret" not in repr(c)


async def test_requests_with_sdk_auth_objects(fake, session) -> None:
    race_id, days_id = fake.race_days()[0]
    for auth in (fake.api_key_auth(), fake.v2_auth()):
        params = {"race_id": str(race_id), "race_event_days_id": str(days_id), "format": "json"}
        headers: dict[str, str] = {}
        auth.apply(params, headers)
        url = fake.base_url + "/v2/photos/get-race-photo-albums.json"
        async with session.get(url, params=params, headers=headers) as response:
            assert "albums" in await response.json()


async def test_the_pytest_fixture(runsignup_fake) -> None:
    assert isinstance(runsignup_fake, FakeRunSignup)
    async with (
        aiohttp.ClientSession() as session,
        session.get(runsignup_fake.base_url + "/nope?format=json") as r,
    ):
        assert (await r.json(content_type=None))["error"]["error_code"] == 1


@pytest.mark.runsignup_fake(seed=11, races=2, photos_per_race_day=4)
async def test_the_pytest_fixture_takes_options(runsignup_fake) -> None:
    assert len(runsignup_fake.race_days()) == 2
    assert len(runsignup_fake.data.photo_index) == 8


async def test_serve_prints_where_to_reach_it() -> None:
    out = io.StringIO()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(out=out, ready=ready, seed=1, races=1))
    await asyncio.wait_for(ready.wait(), 5)
    text = out.getvalue()
    assert "http://127.0.0.1:" in text and "api_key=fake-api-key" in text and "curl" in text
    url = text.split("Try: curl '")[1].split("'")[0]
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert "albums" in await response.json()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_pytest_plugin_imports_light() -> None:
    import runsignup_async.testing.pytest_plugin as plugin

    assert plugin.HAVE_PYTEST_ASYNCIO
