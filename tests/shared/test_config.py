"""What ``Client(shared_limits=...)`` accepts and refuses, before any call is sent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from runsignup_async import (
    ApiKeyAuth,
    BearerAuth,
    Client,
    RateLimit,
    V2KeyAuth,
    ValidationError,
)
from runsignup_async._shared._connect import group_name

from .conftest import RedisServer, redis_binary

KEY, SECRET = "key-id-0123456789", "very-secret-value-42"


def test_a_group_name_needs_shared_limits() -> None:
    with pytest.raises(ValidationError) as caught:
        Client(V2KeyAuth(KEY, SECRET), shared_limits_key="workers")
    assert caught.value.field == "shared_limits_key"


def test_the_default_group_is_a_hash_of_the_key_id_never_of_a_secret() -> None:
    group = group_name(None, V2KeyAuth(KEY, SECRET))
    assert KEY not in group and SECRET not in group
    assert group == group_name(None, V2KeyAuth(KEY, "another-secret-value"))
    assert group != group_name(None, V2KeyAuth("another-key-id-000", SECRET))
    assert group != group_name(None, ApiKeyAuth(KEY, SECRET))  # another kind of key
    assert group_name("workers", V2KeyAuth(KEY, SECRET)) == "workers"


@pytest.mark.parametrize("auth", [BearerAuth("bearer-token-value"), None])
def test_without_a_key_id_the_group_must_be_named(auth: BearerAuth | None) -> None:
    with pytest.raises(ValidationError) as caught:
        Client(auth, shared_limits="redis://127.0.0.1:6379/0")
    assert caught.value.field == "shared_limits_key"
    assert "bearer-token-value" not in str(caught.value)


@pytest.mark.parametrize("group", ["", "  ", "x" * 201, 42])
def test_a_bad_group_name_is_refused(group: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Client(V2KeyAuth(KEY, SECRET), shared_limits="redis://h:6379/0",
               shared_limits_key=group)  # type: ignore[arg-type]  # fmt: skip
    assert caught.value.field == "shared_limits_key"


@pytest.mark.parametrize(
    "url", ["http://:pa55word-xyz@127.0.0.1:6379/0", "redis://:pa55word-xyz@127.0.0.1:6379x/0"]
)
def test_a_malformed_url_is_refused_with_its_password_redacted(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Client(V2KeyAuth(KEY, SECRET), shared_limits=url)
    assert caught.value.field == "shared_limits"
    assert ":***@127.0.0.1:6379" in str(caught.value)
    assert "pa55word-xyz" not in str(caught.value)


def test_a_shared_limits_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"redis\.asyncio\.Redis, got int"):
        Client(V2KeyAuth(KEY, SECRET), shared_limits=6379)  # type: ignore[arg-type]


def test_without_the_redis_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ValidationError) as caught:
        Client(V2KeyAuth(KEY, SECRET), shared_limits="redis://127.0.0.1:6379/0")
    assert caught.value.field == "shared_limits"
    assert "pip install 'runsignup-async[redis]'" in str(caught.value)


async def test_a_refused_password_is_a_validation_error_at_start(tmp_path: Path) -> None:
    server = RedisServer(redis_binary(), tmp_path)
    server.start("--requirepass", "the-right-one")
    try:
        url = f"redis://:wrong-one-123@127.0.0.1:{server.port}/0"
        client = Client(V2KeyAuth(KEY, SECRET), shared_limits=url)
        with pytest.raises(ValidationError) as caught:
            await client.__aenter__()
        await client.aclose()
    finally:
        server.stop()
    message = str(caught.value)
    assert caught.value.field == "shared_limits"
    assert f"redis://:***@127.0.0.1:{server.port}/0" in message
    assert "wrong-one-123" not in message


async def test_a_database_redis_does_not_have_is_refused_at_start(
    redis_server: RedisServer,
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/999"
    with pytest.raises(ValidationError, match=f"127.0.0.1:{redis_server.port}/999"):
        async with Client(V2KeyAuth(KEY, SECRET), shared_limits=url):
            pass


async def test_a_redis_instance_of_the_callers_is_used_and_left_open(
    redis_server: RedisServer, group: str
) -> None:
    mine = Redis.from_url(redis_server.url)
    try:
        limit = RateLimit(per_second=5.0, burst=2)
        async with Client(V2KeyAuth(KEY, SECRET), rate_limit=limit, shared_limits=mine,
                          shared_limits_key=group) as client:  # fmt: skip
            seen = await client.limits_snapshot()
        assert seen.shared and not seen.degraded and seen.rate == 5.0
        assert await mine.ping()  # still open
    finally:
        await mine.aclose()
