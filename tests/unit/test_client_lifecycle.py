"""The client owns its session, knows whether it is open, and closes exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from runsignup_async import (
    Client,
    ClientClosedError,
    RequestEvent,
    ResponseEvent,
    ServerError,
    V2KeyAuth,
    ValidationError,
)

from .conftest import BASE, KEY, SECRET, url_re


async def test_async_with_opens_and_closes_its_own_session() -> None:
    async with Client(V2KeyAuth(KEY, SECRET), base_url=BASE) as client:
        session = client._session
        assert session is not None and not session.closed
        assert not client.closed
    assert session.closed
    assert client.closed


async def test_aclose_is_idempotent_and_use_after_close_is_a_clear_error() -> None:
    client = Client(V2KeyAuth(KEY, SECRET), base_url=BASE)
    await client.aclose()
    await client.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await client._request("GET", "/p")
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_a_client_never_used_creates_no_session() -> None:
    client = Client(V2KeyAuth(KEY, SECRET), base_url=BASE)
    await client.aclose()
    assert client._session is None


async def test_a_session_passed_in_is_never_closed(mocked: Any) -> None:
    mocked.get(url_re("/p"), payload={"ok": 1})
    async with aiohttp.ClientSession() as session:
        async with Client(V2KeyAuth(KEY, SECRET), base_url=BASE, session=session) as client:
            assert await client._request("GET", "/p") == {"ok": 1}
        assert client.closed
        assert not session.closed


async def test_a_caller_session_closed_under_us_is_reported(mocked: Any) -> None:
    session = aiohttp.ClientSession()
    client = Client(V2KeyAuth(KEY, SECRET), base_url=BASE, session=session)
    await session.close()
    assert client.closed
    with pytest.raises(ClientClosedError):
        await client._request("GET", "/p")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"download_concurrency": -1}, "download_concurrency"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_configuration_is_refused_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Client(V2KeyAuth(KEY, SECRET), **kwargs)
    assert info.value.field == field


def test_auth_must_be_an_auth_object() -> None:
    with pytest.raises(ValidationError, match="auth"):
        Client(("key", "secret"))  # type: ignore[arg-type]


def test_repr_is_redacted_and_says_open_or_closed() -> None:
    client = Client(V2KeyAuth(KEY, SECRET), base_url=BASE + "/")
    assert client.base_url == BASE
    text = repr(client)
    assert KEY not in text and SECRET not in text
    assert "open" in text


async def test_hooks_see_every_attempt_with_redacted_urls(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    seen: list[Any] = []

    async def record(event: RequestEvent | ResponseEvent) -> None:
        seen.append(event)

    mocked.get(url_re("/p"), status=500, body="down")
    mocked.get(url_re("/p"), payload={"ok": 1})
    client = make_client(on_request=record, on_response=record)
    await client._request("GET", "/p", params={"race_id": 3})
    kinds = [(type(e).__name__, e.attempt) for e in seen]
    assert kinds == [
        ("RequestEvent", 1),
        ("ResponseEvent", 1),
        ("RequestEvent", 2),
        ("ResponseEvent", 2),
    ]
    failed, succeeded = seen[1], seen[3]
    assert failed.status == 500 and isinstance(failed.error, ServerError)
    assert succeeded.status == 200 and succeeded.error is None
    for event in seen:
        assert KEY not in event.url and "race_id=3" in event.url


async def test_trace_configs_reach_the_owned_session(mocked: Any) -> None:
    started: list[str] = []

    async def on_start(session: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        started.append(params.method)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with Client(V2KeyAuth(KEY, SECRET), base_url=BASE, trace_configs=[trace]) as client:
        assert client._session is not None
        assert trace in client._session.trace_configs
