"""No secret ever reaches a log line, an exception's text, or a repr."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from runsignup_async import (
    ApiKeyAuth,
    Auth,
    BearerAuth,
    Client,
    ProtectedApiSigner,
    RateLimit,
    RetryPolicy,
    RunSignupError,
    SuperPartnerAuth,
    TempKeyAuth,
    V2KeyAuth,
)
from runsignup_async._redact import redact_headers, redact_url

from .conftest import url_re

KEY = "key-0000AAAA1111"
SECRET = "secret-2222BBBB3333"
SIGNING_SECRET = "signing-4444CCCC5555"

AUTHS: list[Auth] = [
    ApiKeyAuth(KEY, SECRET),
    TempKeyAuth(KEY, SECRET),
    V2KeyAuth(KEY, SECRET),
    SuperPartnerAuth(KEY, SECRET),
    BearerAuth(SECRET),
]

FAILURES: list[dict[str, Any]] = [
    {"payload": {"error": {"error_code": 14, "error_msg": "Request throttled."}}},
    {"payload": {"error": {"error_code": 6, "error_msg": f"bad key {KEY} / {SECRET}"}}},
    {"status": 500, "body": f"<html>trace: api_secret={SECRET}</html>"},
    {"status": 200, "body": f"<?xml version='1.0'?><x>{SECRET}</x>", "content_type": "text/xml"},
    {"status": 200, "body": '{"truncated": "' + SECRET},
    {"exception": aiohttp.ClientOSError(104, "Connection reset by peer")},
    {"exception": asyncio.TimeoutError()},
]


@pytest.mark.parametrize("auth", AUTHS, ids=lambda a: type(a).__name__)
async def test_no_secret_in_logs_or_exceptions(
    auth: Auth,
    mocked: Any,
    make_client: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signer = ProtectedApiSigner("9", SIGNING_SECRET)
    client = make_client(
        auth=auth,
        signer=signer,
        retry=RetryPolicy(max_attempts=2, backoff_initial=0.001),
        rate_limit=RateLimit(per_second=10_000, burst=100, adaptive=False),
    )
    texts: list[str] = [repr(client), repr(auth), str(auth), repr(signer)]
    signatures: list[str] = []

    async def remember(event: Any) -> None:
        texts.append(repr(event))

    client._on_request = remember
    client._on_response = remember
    for failure in FAILURES:
        for method in ("GET", "POST"):
            getattr(mocked, method.lower())(url_re("/x"), repeat=True, **failure)
            with pytest.raises(RunSignupError) as info:
                await client._request(
                    method,
                    "/x",
                    params={"race_id": 1},
                    payload={"a": 1} if method == "POST" else None,
                    signer=signer,
                )
            texts += [str(info.value), repr(info.value)]
            signatures += [
                call.kwargs["params"]["protected_api_signature"]
                for calls in mocked.requests.values()
                for call in calls
            ]
            mocked.clear()
    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    assert caplog.records, "the client logged nothing at DEBUG"
    blob = "\n".join(texts)
    assert len(set(signatures)) > 10  # a fresh signature per attempt
    for secret in (*auth.secret_values(), SIGNING_SECRET, *signatures):
        assert secret not in blob


def test_redact_url_hides_every_credential_parameter() -> None:
    url = (
        "https://h/rest/x?race_id=1&api_key=a1&api_secret=a2&tmp_key=t1&tmp_secret=t2"
        "&rsu_api_key=r1&sp_api_key=s1&protected_api_signature=p1&format=json"
    )
    redacted = redact_url(url)
    for value in ("a1", "a2", "t1", "t2", "r1", "s1", "p1"):
        assert f"={value}" not in redacted
    assert "race_id=1" in redacted and "format=json" in redacted


def test_redact_headers_is_case_insensitive() -> None:
    headers = {"x-rsu-api-secret": "s", "AUTHORIZATION": "Bearer t", "Accept": "application/json"}
    assert redact_headers(headers) == {
        "x-rsu-api-secret": "***",
        "AUTHORIZATION": "***",
        "Accept": "application/json",
    }
