"""One group's limits in Redis: each operation is one script, one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import attrs
from redis.asyncio import Redis

from .. import _constants as C
from .._ratelimit import RateLimit
from . import _scripts
from ._interface import LimitsSnapshot

__all__ = ["Grant", "RedisLimits", "group_keys"]

GRANTED, PAUSED, CAP_FULL = 0, 1, 2
Arg: TypeAlias = "str | int | float"


def group_keys(group: str) -> list[str]:
    # One hash tag: a cluster keeps a group's keys on one node, as scripts need.
    prefix = f"runsignup-async:limits:{{{group}}}"
    return [f"{prefix}:state", f"{prefix}:leases", f"{prefix}:clients"]


@attrs.frozen
class Grant:
    """The answer to one acquire: a lease and tokens (``status`` GRANTED) or how long to
    wait. ``waits`` are the seconds after ``at`` at which each granted token may be sent."""

    status: int
    wait: float  # seconds: before the first send when granted, else until worth asking again
    at: float  # the group's clock (seconds) when decided
    clients: int
    waits: tuple[float, ...] = ()
    spare: bool = False  # the group's bucket holds tokens still, after these


class RedisLimits:
    """The scripts bound to one group's keys and one client's settings."""

    def __init__(
        self, redis: Redis, group: str, limit: RateLimit, max_concurrency: int, lease: float
    ) -> None:
        self.redis = redis
        self.group = group
        self.keys = group_keys(group)
        self.limit = limit
        self.max_concurrency = max_concurrency
        self.lease_ms = lease * 1000
        self._acquire = redis.register_script(_scripts.ACQUIRE)
        self._renew = redis.register_script(_scripts.RENEW)
        self._throttle = redis.register_script(_scripts.THROTTLE)
        self._snapshot = redis.register_script(_scripts.SNAPSHOT)
        # The acquire's settings, encoded once into one argument: redis-py's cost of a
        # call grows with each argument it encodes and packs.
        settings: list[Arg] = [limit.per_second, limit.burst, max_concurrency, self.lease_ms]
        settings += [*self._adaptive(), C.CLIENT_TTL * 1000, C.BATCH_HORIZON * 1000]
        self._settings = " ".join(repr(value) for value in settings).encode()
        self._keys = [key.encode() for key in self.keys]

    def _adaptive(self) -> list[Arg]:
        return [int(self.limit.adaptive), C.INCREASE_FRACTION, C.INCREASE_FLOOR]

    async def acquire(
        self, lease_id: str | None, client_id: str, release: Sequence[str], tokens: int = 1
    ) -> Grant:
        """Take ``tokens`` tokens (at most: see the horizon) and, unless ``lease_id`` is
        None, a lease for it, after releasing ``release``."""
        args: list[Arg | bytes] = [lease_id or "", client_id, self._settings, tokens, *release]
        status, wait_ms, now_ms, clients, first_ms, interval_ms, granted = await self._acquire(
            keys=self._keys, args=args
        )
        first, interval = float(first_ms) / 1000, float(interval_ms) / 1000
        count = int(granted)
        waits = tuple(max(0.0, first + j * interval) for j in range(count))
        spare = count > 0 and first + count * interval <= 0
        at = float(now_ms) / 1000
        return Grant(int(status), float(wait_ms) / 1000, at, int(clients), waits, spare)

    async def release(self, lease_ids: Sequence[str]) -> None:
        await self.redis.zrem(self.keys[1], *lease_ids)

    async def renew(self, lease_ids: Sequence[str]) -> int:
        renewed = await self._renew(keys=self.keys, args=[self.lease_ms, *lease_ids])
        return int(renewed)

    async def throttle(self, granted_at: float, retry_after: float | None) -> bool:
        """A request granted at ``granted_at`` (group clock) was throttled; True if this
        cut the group's rate."""
        limit = self.limit
        args: list[Arg] = [granted_at * 1000, (retry_after or 0) * 1000]
        args += [limit.per_second, limit.burst]
        args += [*self._adaptive(), C.MIN_RATE, C.DECREASE_FACTOR]
        cut, _rate = await self._throttle(keys=self.keys, args=args)
        return bool(int(cut))

    async def snapshot(self) -> LimitsSnapshot:
        limit = self.limit
        args: list[Arg] = [limit.per_second, limit.burst, *self._adaptive()]
        args.append(C.CLIENT_TTL * 1000)
        rate, tokens, leases, clients, paused = await self._snapshot(keys=self.keys, args=args)
        return LimitsSnapshot(
            shared=True,
            degraded=False,
            rate=float(rate),
            tokens=float(tokens),
            in_flight=int(leases),
            max_concurrency=self.max_concurrency,
            clients=int(clients),
            paused_for=float(paused) / 1000,
        )
