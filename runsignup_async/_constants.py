"""Every tunable default in one place: timeouts, backoff, retry budget, rate limits.

RunSignup documents no numeric rate limit; third-party integrations report "no more than
2 concurrent API calls". The defaults are therefore conservative: raise them for a
partner key that is known to allow more, and let adaptive mode find the real ceiling.
"""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://runsignup.com/rest"

# Timeouts (seconds). A photo page of 100 items is a few hundred KB; 30 s between bytes
# is generous, and the total bounds a call that trickles.
CONNECT_TIMEOUT: Final = 10.0
READ_TIMEOUT: Final = 30.0
TOTAL_TIMEOUT: Final = 60.0

# Retry and backoff.
MAX_ATTEMPTS: Final = 4
BACKOFF_INITIAL: Final = 0.5
BACKOFF_MAX: Final = 20.0
# A server that asks for a longer pause than this gets a RateLimitError/ServerError back
# instead of a silent wait: the caller can decide whether the job may sleep that long.
RETRY_AFTER_MAX: Final = 60.0

# Retry budget per client (the shape of botocore's retry quota): every retry spends
# tokens, every success refunds one, so a dead server is not hammered by every caller.
RETRY_BUDGET: Final = 500
RETRY_COST: Final = 5
TIMEOUT_RETRY_COST: Final = 10
SUCCESS_REFUND: Final = 1

# Client-side rate limit.
RATE_PER_SECOND: Final = 5.0
RATE_BURST: Final = 5
MAX_CONCURRENCY: Final = 2
# Image downloads go to other hosts (S3 in production) and do not count against the API.
DOWNLOAD_CONCURRENCY: Final = 8

# Adaptive (AIMD) control: on a throttle, the rate drops to DECREASE_FACTOR times the rate
# actually achieved; it then grows back by INCREASE_FRACTION of that reduced rate each
# second, never above the configured ceiling, never below MIN_RATE.
DECREASE_FACTOR: Final = 0.8
INCREASE_FRACTION: Final = 0.08
# ...plus at least this many requests/s each second, so a cut to a tiny rate recovers.
INCREASE_FLOOR: Final = 0.5
MIN_RATE: Final = 0.2
# Window over which the achieved send rate is measured: the sends of the last RATE_WINDOW
# seconds, divided by the time since the oldest of them, but by no less than
# RATE_WINDOW_MIN (a handful of sends an instant apart is not a rate).
RATE_WINDOW: Final = 1.0
RATE_WINDOW_MIN: Final = 0.05

# Shared limits (Redis): a lease on an in-flight slot lasts LEASE_SECONDS unless renewed
# (every third of it while the call runs), so a killed process frees its slots by then.
LEASE_SECONDS: Final = 15.0
# A client is counted in its group while it asked for a slot within this many seconds;
# the count sets the local share while Redis is unreachable.
CLIENT_TTL: Final = 60.0
# With every slot of the group taken, a waiting caller asks again after POLL_MIN seconds,
# then less and less often, up to POLL_MAX.
POLL_MIN: Final = 0.002
POLL_MAX: Final = 0.020
# A finished call's lease is kept for this client's next call; when none comes within
# RELEASE_DELAY seconds it is released (with the next acquire, or on its own).
RELEASE_DELAY: Final = 0.002
# A client takes as many tokens in one round trip as its calls would start within
# BATCH_HORIZON seconds at its recent pace (at most BATCH_MAX), none of them due further
# than BATCH_HORIZON ahead, and may spend a token until TOKEN_KEEP after it fell due.
BATCH_HORIZON: Final = 0.020
BATCH_MAX: Final = 32
TOKEN_KEEP: Final = 0.25
# While Redis is unreachable, one call in this many seconds tries it again.
REDIS_RETRY_EVERY: Final = 1.0
# A Redis that answers nothing within this many seconds counts as unreachable.
REDIS_TIMEOUT: Final = 0.5
