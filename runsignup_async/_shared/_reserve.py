"""What one client holds of its group's limits between round trips to Redis.

A busy client would otherwise ask Redis once a call, and each ask costs it more CPU than
the rest of the call's bookkeeping together. So it keeps two things between calls:

- tokens the group granted it ahead, each with the time it may be sent (GCRA's
  reservations: the group's rate is exact whoever holds them), used in order and dropped
  once ``TOKEN_KEEP`` past due, so a token saved up never adds to a later burst;
- leases of calls that just ended, taken over by this client's next call, and given back
  to the group once idle for ``RELEASE_DELAY`` (the cap counts them meanwhile, so it is
  never exceeded, at worst held a moment longer).

The batch size follows the client's own recent demand: one token when its calls are
sparse (each round trip then asks for exactly what one call needs, as before), more when
it has started several within the horizon.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import attrs

from .. import _constants as C

__all__ = ["Reserve", "Token"]

# A client's demand is its calls of this many horizons, spread evenly: calls that come in
# bursts (workers answered together) are then served by one batch, not one each.
_WINDOW: Final = 5 * C.BATCH_HORIZON


@attrs.frozen
class Token:
    """One granted send: when it may be sent (local clock), and when the group granted
    it (the group's clock). A throttle report names the grant, not the send: a token
    granted before a cut was spaced at the old rate, so its throttle is old news however
    late it was sent."""

    send_at: float
    granted: float


class Reserve:
    """One client's tokens and idle leases. One event loop; no awaits inside."""

    def __init__(self) -> None:
        self._tokens: deque[Token] = deque()
        self._idle: dict[str, float] = {}  # lease id -> idle since (local clock)
        self._starts: deque[float] = deque()
        self.spare = False
        self.epoch = 0  # one more at each throttle

    @property
    def tokens(self) -> int:
        return len(self._tokens)

    def demand(self, now: float) -> int:
        """Note a call starting now; the tokens worth asking for if it must ask Redis:
        as many as this client's calls of the last ``_WINDOW`` would start within the
        horizon, at least one."""
        starts = self._starts
        starts.append(now)
        while starts[0] < now - _WINDOW:
            starts.popleft()
        return min(max(1, math.ceil(len(starts) * C.BATCH_HORIZON / _WINDOW)), C.BATCH_MAX)

    def take_token(self, now: float) -> Token | None:
        tokens = self._tokens
        while tokens and tokens[0].send_at + C.TOKEN_KEEP < now:
            tokens.popleft()
        return tokens.popleft() if tokens else None

    def add_tokens(
        self, epoch: int, now: float, group_now: float, waits: tuple[float, ...], spare: bool
    ) -> None:
        """Tokens granted with these waits to a round trip sent in ``epoch``; ``spare``:
        the group's bucket held more still (its rate does not bind, so reserving ahead
        costs no other client a send). Tokens asked for before a throttle are dropped."""
        if epoch != self.epoch:
            return
        self._tokens.extend(Token(now + wait, group_now) for wait in waits)
        self.spare = spare

    def drop_tokens(self) -> None:
        """A throttle: the tokens granted before it must not be spent after it."""
        self._tokens.clear()
        self.spare = False
        self.epoch += 1

    def take_lease(self) -> str | None:
        # The most recently idle one: the others are the likelier to be given back.
        return self._idle.popitem()[0] if self._idle else None

    def keep_lease(self, lease_id: str, now: float) -> None:
        self._idle[lease_id] = now

    def idle_since(self, now: float, seconds: float) -> list[str]:
        """Take out the leases idle for at least ``seconds``: they go back to the group."""
        stale = [lease for lease, since in self._idle.items() if since <= now - seconds]
        for lease in stale:
            del self._idle[lease]
        return stale

    @property
    def idle(self) -> int:
        return len(self._idle)

    def clear(self) -> list[str]:
        """Drop every token and take out every idle lease."""
        self.drop_tokens()
        leases = list(self._idle)
        self._idle.clear()
        return leases
