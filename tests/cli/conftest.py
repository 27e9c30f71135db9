"""A fake server on its own event loop thread, so the CLI's ``main()`` can asyncio.run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from runsignup_async.testing import FakeRunSignup


@pytest.fixture
def fake() -> Iterator[FakeRunSignup]:
    loop = asyncio.new_event_loop()
    server = FakeRunSignup(seed=13, races=2, photos_per_race_day=12)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def v2_env(fake: FakeRunSignup, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API", "RSU_API", "SP_API", "TMP", "SIGNER"):
        monkeypatch.delenv(f"RUNSIGNUP_{name}_KEY", raising=False)
    monkeypatch.delenv("RUNSIGNUP_BEARER_TOKEN", raising=False)
    monkeypatch.setenv("RUNSIGNUP_RSU_API_KEY", fake.credentials.rsu_api_key)
    monkeypatch.setenv("RUNSIGNUP_RSU_API_SECRET", fake.credentials.rsu_api_secret)
