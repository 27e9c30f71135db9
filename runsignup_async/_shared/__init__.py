"""Limits shared by every client of one key, in any process on any host, through Redis.

What is shared and how Redis's absence is handled lives here (``_limiter``), with the Lua
scripts that decide in Redis (``_scripts``). The package imports ``redis`` only when a
client asks for shared limits, so the SDK works without the ``redis`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..auth import Auth
from ..errors import ValidationError
from ._interface import Limiter, LimitsSnapshot

if TYPE_CHECKING:  # _ratelimit imports this package's snapshot type
    from .._ratelimit import RateLimit
    from ._limiter import SharedLimiter

__all__ = ["Limiter", "LimitsSnapshot", "shared_limiter"]


def shared_limiter(
    target: Any, group: Any, auth: Auth | None, limit: RateLimit, max_concurrency: int
) -> SharedLimiter:
    """A ``SharedLimiter`` on ``target`` (a URL or a ``redis.asyncio.Redis``)."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise ValidationError(
            "shared_limits",
            "needs the redis client: pip install 'runsignup-async[redis]'",
        ) from None
    from ._connect import group_name, open_redis
    from ._limiter import SharedLimiter

    name = group_name(group, auth)
    client, shown, owns = open_redis(target)
    return SharedLimiter(limit, max_concurrency, client, name, shown=shown, owns_redis=owns)
