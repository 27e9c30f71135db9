"""Which Redis and which group: the URL or instance given, and the group's name.

A group is every client that shares one key's limits. By default it is named from a
hash of the credentials' key id (never from a secret), so clients of one key find each
other with no setting beyond the Redis URL.
"""

from __future__ import annotations

import hashlib
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .. import _constants as C
from .._redact import redact_userinfo
from ..auth import ApiKeyAuth, Auth, SuperPartnerAuth, TempKeyAuth, V2KeyAuth
from ..errors import ValidationError

__all__ = ["describe", "group_name", "open_redis"]

_KEYED = (ApiKeyAuth, SuperPartnerAuth, TempKeyAuth, V2KeyAuth)
MAX_GROUP_LENGTH = 200


def open_redis(target: Any) -> tuple[Redis, str, bool]:
    """The Redis client, how to name it in messages, and whether we made (and so close) it."""
    if isinstance(target, Redis):
        return target, describe(target), False
    if not isinstance(target, str):
        raise ValidationError(
            "shared_limits",
            f"expected a redis:// URL or a redis.asyncio.Redis, got {type(target).__name__}",
        )
    shown = redact_userinfo(target)
    try:
        client = Redis.from_url(
            target,
            socket_timeout=C.REDIS_TIMEOUT,
            socket_connect_timeout=C.REDIS_TIMEOUT,
            # A failed command is not retried here: the limiter goes on alone at once and
            # tries Redis again later, so an API call never waits on Redis's recovery.
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:
        problem = str(exc).replace(target, shown)
        raise ValidationError(
            "shared_limits", f"{shown} is not a usable Redis URL ({problem}); expected"
            " redis://[:PASSWORD@]HOST:PORT/DB, rediss://... or unix://PATH"
        ) from None  # fmt: skip
    return client, shown, True


def describe(client: Redis) -> str:
    """``redis://host:port/db`` of an instance, never its password."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"


def group_name(group: Any, auth: Auth | None) -> str:
    if group is not None:
        if not isinstance(group, str) or not group.strip() or len(group) > MAX_GROUP_LENGTH:
            raise ValidationError(
                "shared_limits_key",
                f"must be a non-empty string of at most {MAX_GROUP_LENGTH} characters,"
                f" got {group!r}",
            )
        return group
    if not isinstance(auth, _KEYED):
        raise ValidationError(
            "shared_limits_key",
            "is needed with BearerAuth or no credentials: name the group of clients that"
            " share one key's limits (shared_limits_key='...')",
        )
    digest = hashlib.sha256(f"{type(auth).__name__}:{auth.key}".encode()).hexdigest()
    return f"key-{digest[:16]}"
