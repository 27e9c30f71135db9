"""What the client asks of a limiter, local or shared, and what a snapshot of one says."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

__all__ = ["Limiter", "LimitsSnapshot"]


class Limiter(Protocol):
    """What ``Client`` asks of a limiter: a slot per attempt, and word of each throttle."""

    def slot(self) -> AbstractAsyncContextManager[float]:
        """Hold a token and an in-flight slot for one attempt; yields when the token was
        granted (on the limiter's clock), which ``on_throttle`` takes back."""
        ...

    def on_throttle(self, granted_at: float, retry_after: float | None = None) -> None:
        """The attempt that ``slot`` yielded ``granted_at`` to was throttled."""
        ...


@attrs.frozen
class LimitsSnapshot:
    """The limits a client works under right now.

    With shared limits these are the group's (every client on the same Redis and group);
    without, or while Redis is unreachable (``degraded``), this client's own.

    ``rate``: requests per second allowed now (below the ceiling after an adaptive cut);
    ``tokens``: requests that may start at once; ``in_flight``: calls holding a slot, of
    ``max_concurrency``; ``clients``: clients seen in the group lately (1 when not shared);
    ``paused_for``: seconds until a server-requested pause ends (0 when none).
    """

    shared: bool
    degraded: bool
    rate: float
    tokens: float
    in_flight: int
    max_concurrency: int
    clients: int
    paused_for: float
