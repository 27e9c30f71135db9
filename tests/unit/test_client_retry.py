"""What the client retries, for GET and for POST, and how long it waits (aioresponses)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from runsignup_async import (
    APIError,
    APITimeoutError,
    Client,
    InvalidRequestError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    TransportError,
    _shapes,
)

from .conftest import url_re

OK = {"photos": []}
THROTTLED = {"error": {"error_code": 14, "error_msg": "Request throttled."}}


def refused() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="api.test", port=80, ssl=None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]


# Each failure is queued once; a success follows it.
FAILURES: dict[str, dict[str, Any]] = {
    "refused": {"exception": refused()},
    "connect-timeout": {"exception": aiohttp.ConnectionTimeoutError()},
    "read-timeout": {"exception": asyncio.TimeoutError()},
    "disconnected": {"exception": aiohttp.ServerDisconnectedError()},
    "truncated": {"exception": aiohttp.ClientPayloadError("cut")},
    "http408": {"status": 408, "body": ""},
    "http429": {"status": 429, "payload": THROTTLED},
    "http500": {"status": 500, "body": "oops"},
    "http502": {"status": 502, "body": "<html>bad gateway</html>"},
    "http503": {"status": 503, "body": ""},
    "http503-retry-after": {"status": 503, "body": "", "headers": {"Retry-After": "0"}},
    "http504": {"status": 504, "body": ""},
    "error14": {"payload": THROTTLED},
    "error5": {"payload": {"error": {"error_code": 5, "error_msg": "Database error"}}},
}

POST_RETRIED = {"refused", "connect-timeout", "http429", "error14", "http503-retry-after"}


def attempts(mocked: Any, method: str) -> int:
    return sum(len(calls) for (m, _), calls in mocked.requests.items() if m == method)


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_get_retries_each_retryable_condition(
    failure: str, mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), **FAILURES[failure])
    mocked.get(url_re("/p"), payload=OK)
    client = make_client()
    assert await client._request("GET", "/p") == OK
    assert attempts(mocked, "GET") == 2


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_post_is_retried_only_when_provably_unprocessed(
    failure: str, mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.post(url_re("/race"), **FAILURES[failure])
    mocked.post(url_re("/race"), payload={"race_id": 1})
    client = make_client()
    if failure in POST_RETRIED:
        assert await client._request("POST", "/race", payload={"x": 1}) == {"race_id": 1}
        assert attempts(mocked, "POST") == 2
    else:
        with pytest.raises((ServerError, TransportError)):
            await client._request("POST", "/race", payload={"x": 1})
        assert attempts(mocked, "POST") == 1


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ("error14", RateLimitError),
        ("http500", ServerError),
        ("read-timeout", APITimeoutError),
        ("refused", TransportError),
    ],
)
async def test_get_stops_at_max_attempts_and_raises_the_last_error(
    failure: str, error: type[Exception], mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), repeat=True, **FAILURES[failure])
    client = make_client(retry=RetryPolicy(max_attempts=3, backoff_initial=0.001))
    with pytest.raises(error):
        await client._request("GET", "/p")
    assert attempts(mocked, "GET") == 3


async def test_timeout_error_is_also_asyncio_timeout(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), repeat=True, exception=asyncio.TimeoutError())
    client = make_client(retry=RetryPolicy(max_attempts=1))
    with pytest.raises(asyncio.TimeoutError) as info:
        await client._request("GET", "/p")
    assert isinstance(info.value, APITimeoutError)
    assert info.value.request_sent
    assert attempts(mocked, "GET") == 1  # max_attempts=1: no retry at all
    assert client._budget.tokens == client.retry.budget  # and nothing spent on one


@pytest.mark.parametrize(
    "payload",
    [
        {"error": {"error_code": 3, "error_msg": "Invalid parameters"}},
        {"error": {"error_code": 6, "error_msg": "Key authentication failed"}},
        {"error": {"error_code": 216, "error_msg": "URL in use"}},
    ],
)
async def test_client_errors_are_never_retried(
    payload: dict[str, Any], mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), repeat=True, payload=payload)
    with pytest.raises(APIError) as info:
        await make_client()._request("GET", "/p")
    assert info.value.error_code == payload["error"]["error_code"]
    assert attempts(mocked, "GET") == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Down for maintenance</body></html>", "text/html"),
        ('{"photos": [{"photo_id": 1', "application/json"),  # cut short, HTTP 200
    ],
)
async def test_an_undecodable_get_is_retried_then_raised(
    body: str, content_type: str, mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), repeat=True, body=body, content_type=content_type)
    with pytest.raises(ResponseDecodeError) as info:
        await make_client(retry=RetryPolicy(max_attempts=3, backoff_initial=0.001))._request(
            "GET", "/p"
        )
    assert attempts(mocked, "GET") == 3
    assert info.value.snippet  # the last attempt's answer, shown


async def test_a_wrong_shaped_get_is_not_sent_again(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), repeat=True, payload={"photos": [{"photo_id": "1"}]})
    client = make_client(retry=RetryPolicy(max_attempts=3, backoff_initial=0.001))
    with pytest.raises(ResponseDecodeError) as info:
        await client._request("GET", "/p", decode=_shapes.photos_from)
    assert attempts(mocked, "GET") == 1  # the same answer would come back
    assert info.value.path == "$.photos[0].photo_id"
    assert info.value.path in info.value.reason


async def test_an_undecodable_get_that_recovers_returns_the_answer(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), body="<html>502</html>", content_type="text/html")
    mocked.get(url_re("/p"), payload=OK)
    assert await make_client()._request("GET", "/p") == OK
    assert attempts(mocked, "GET") == 2


async def test_an_undecodable_post_is_never_sent_again(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.post(url_re("/race"), repeat=True, body="<html>oops</html>", content_type="text/html")
    with pytest.raises(ResponseDecodeError):
        await make_client()._request("POST", "/race", payload={"x": 1})
    assert attempts(mocked, "POST") == 1


async def test_retry_after_is_honoured(mocked: Any, make_client: Callable[..., Client]) -> None:
    mocked.get(url_re("/p"), status=429, payload=THROTTLED, headers={"Retry-After": "0.3"})
    mocked.get(url_re("/p"), payload=OK)
    client = make_client()
    started = time.monotonic()
    assert await client._request("GET", "/p") == OK
    assert time.monotonic() - started >= 0.3


async def test_retry_after_beyond_the_cap_is_raised_not_slept(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), status=429, payload=THROTTLED, headers={"Retry-After": "120"})
    client = make_client(retry=RetryPolicy(max_retry_after=60))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as info:
        await client._request("GET", "/p")
    assert info.value.retry_after == 120
    assert time.monotonic() - started < 5
    assert attempts(mocked, "GET") == 1


async def test_retry_budget_stops_hammering_a_dead_server(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), repeat=True, status=500, body="down")
    # Budget 10 pays for two retries of cost 5, then none.
    client = make_client(retry=RetryPolicy(max_attempts=4, backoff_initial=0.001, budget=10))
    with pytest.raises(ServerError):
        await client._request("GET", "/p")
    assert attempts(mocked, "GET") == 3
    with pytest.raises(ServerError):
        await client._request("GET", "/p")
    assert attempts(mocked, "GET") == 4  # budget spent: no retry at all


async def test_success_refunds_the_budget(mocked: Any, make_client: Callable[..., Client]) -> None:
    client = make_client(retry=RetryPolicy(backoff_initial=0.001, budget=10))
    mocked.get(url_re("/p"), status=500, body="down")
    mocked.get(url_re("/p"), payload=OK, repeat=True)
    await client._request("GET", "/p")
    assert client._budget.tokens == 6
    for _ in range(10):
        await client._request("GET", "/p")
    assert client._budget.tokens == 10


async def test_cancellation_passes_through_untouched(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    started = asyncio.Event()

    async def hang(url: Any, **kwargs: Any) -> None:
        started.set()
        await asyncio.sleep(30)

    mocked.get(url_re("/p"), callback=hang, repeat=True)
    client = make_client()
    task = asyncio.create_task(client._request("GET", "/p"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert attempts(mocked, "GET") == 1


async def test_invalid_request_error_carries_context(
    mocked: Any, make_client: Callable[..., Client]
) -> None:
    mocked.get(url_re("/p"), payload={"error": {"error_code": 15, "error_msg": "Invalid ID"}})
    with pytest.raises(InvalidRequestError) as info:
        await make_client()._request("GET", "/p", params={"race_id": 99})
    assert info.value.method == "GET"
    assert "race_id=99" in info.value.url
    assert "rsu_api_key=***" in info.value.url
