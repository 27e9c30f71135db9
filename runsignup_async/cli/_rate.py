"""``--rate R``: at most R API requests in any one-second window as the API counts them,
for one harvest or a whole fleet of workers.

A token bucket lets ``R x t + burst`` requests through in any window of ``t`` seconds,
so the burst of R that ``--rate`` used to carry let up to 2 R reach the API in the
second after a quiet spell. A key's limit is a count per window, and a throttled answer
(error 14) costs a pause and a retry, so ``--rate`` carries no burst: requests start
``1/R`` apart (GCRA, shared through Redis by a fleet), which puts at most R of them in
any second *as they leave*. They arrive unevenly (the event loop, the network): R + 1
requests spaced ``1/R`` apart span exactly one second when sent, a few milliseconds
less when one of them is held up more than the one R requests later. The spacing
therefore carries ``JITTER_ALLOWANCE`` seconds of headroom per second, so R + 1 requests
take at least ``1 + JITTER_ALLOWANCE`` seconds to send.

The price: the sustained rate is ``R / (1 + JITTER_ALLOWANCE)`` (2% under R), and
after a quiet spell the first requests go out one by one rather than at once. For a
fractional R the window holds the whole number just above it at most. The Python API
keeps ``RateLimit``'s burst for whoever wants bursts.
"""

from __future__ import annotations

from typing import Final

from .. import RateLimit

__all__ = ["JITTER_ALLOWANCE", "RATE_HELP", "rate_limit_of"]

# Seconds by which the arrivals of R + 1 requests may bunch up (one held up this much
# more than the one R requests after it) before the API would count R + 1 in a second.
JITTER_ALLOWANCE: Final = 0.02
RATE_HELP: Final = "at most this many API requests in any one-second window"


def rate_limit_of(rate: float) -> RateLimit:
    return RateLimit(per_second=rate / (1 + JITTER_ALLOWANCE), burst=1)
