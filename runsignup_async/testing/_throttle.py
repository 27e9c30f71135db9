"""Server-side rate limiting: one token bucket per credential key.

The real API's limit is undocumented and its throttle status unverified (FACTS.md), so the
fake can answer either way: error 14 with HTTP 200, or HTTP 429 carrying the same body and
an optional ``Retry-After``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import attrs

__all__ = ["Throttle", "ThrottleState"]

ThrottleMode = Literal["error14", "http429"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"Throttle.{attribute.name} must be > 0")


@attrs.frozen
class Throttle:
    """Allow ``per_second`` requests per key on average, bursts of up to ``burst``."""

    per_second: float = attrs.field(validator=_positive)
    burst: int = attrs.field(default=10, validator=_positive)
    mode: ThrottleMode = attrs.field(
        default="error14", validator=attrs.validators.in_(("error14", "http429"))
    )
    retry_after: float | None = None


@attrs.define
class _Bucket:
    tokens: float
    stamp: float


class ThrottleState:
    """The configured ``Throttle`` (or none) and the buckets it fills."""

    def __init__(self, throttle: Throttle | None = None) -> None:
        self.throttle = throttle
        self._buckets: dict[str, _Bucket] = {}

    def configure(self, throttle: Throttle | None) -> None:
        self.throttle = throttle
        self._buckets.clear()

    def allow(self, key: str) -> bool:
        """Take a token for ``key``; False when its bucket is empty."""
        throttle = self.throttle
        if throttle is None:
            return True
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(throttle.burst), now)
        else:
            bucket.tokens = min(
                float(throttle.burst), bucket.tokens + (now - bucket.stamp) * throttle.per_second
            )
            bucket.stamp = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True
