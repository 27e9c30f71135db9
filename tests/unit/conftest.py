from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core

from runsignup_async import Client, RateLimit, RetryPolicy, V2KeyAuth

BASE = "http://api.test/rest"
KEY = "rsu-key-0123456789"
SECRET = "rsu-secret-abcdefghij"


def url_re(path: str) -> re.Pattern[str]:
    """Matches ``path`` under BASE with any query string."""
    return re.compile("^" + re.escape(BASE + path) + r"(\?.*)?$")


class _Aiohttp314Response(aiohttp.ClientResponse):
    """aiohttp 3.14 made ``stream_writer`` a required argument that aioresponses 0.7.9
    does not pass (pnuckowski/aioresponses#289, fix pending in #288). aiohttp only reads
    its ``output_size``; supply one until aioresponses ships the fix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Any:
    if _NEEDS_STREAM_WRITER:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", _Aiohttp314Response)
    with aioresponses() as m:
        yield m


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(**kw: Any) -> Client:
        kw.setdefault("base_url", BASE)
        kw.setdefault("retry", RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.01))
        kw.setdefault("rate_limit", RateLimit(per_second=10_000, burst=100))
        client = Client(kw.pop("auth", V2KeyAuth(KEY, SECRET)), **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()
