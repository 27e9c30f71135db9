"""The Lua scripts that keep a group's limits in Redis.

Every script reads the time from Redis (``TIME``), never from a host, so the hosts'
clocks do not matter. Times are milliseconds as floats; a float goes back to Python as a
string, because Redis truncates a Lua number to an integer on the way out.

Keys (one hash tag, so a cluster keeps them on one node):

- ``KEYS[1]`` the state hash: ``tat`` (GCRA's theoretical arrival time), ``paused``
  (no grant before this), ``cut_rate``/``cut_at`` (the adaptive rate's last cut), and a
  two-window count of grants (``w_start``, ``w_cur``, ``w_prev``, ``w_full``) from which
  the group's achieved rate is read;
- ``KEYS[2]`` the leases: a sorted set of lease ids scored by their expiry;
- ``KEYS[3]`` the clients seen: a sorted set of client ids scored by when last seen.

The rate is GCRA with reservations: a grant may name a send time a little in the future
(when the group's next token falls due), so a waiting caller sleeps once instead of
polling. A busy client takes several tokens in one round trip (each with its own send
time, none further ahead than a short horizon) and keeps a lease between its calls, so
the group's rate and cap stay exact while Redis is asked less than once a call.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ACQUIRE", "RENEW", "SNAPSHOT", "THROTTLE"]

# Shared by the scripts: the clock, the adaptive rate, and the achieved rate.
_COMMON: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000

local function current_rate(ceiling, adaptive, cut_rate, cut_at, inc_fraction, inc_floor)
  if adaptive == 0 or cut_rate == nil or cut_rate >= ceiling then
    return ceiling
  end
  local slope = math.max(cut_rate * inc_fraction, inc_floor)
  return math.min(ceiling, cut_rate + slope * math.max(0, now - cut_at) / 1000)
end

local function achieved_rate(w_start, w_cur, w_prev, w_full)
  if w_start == nil then
    return 0
  end
  local into = math.max(0, now - w_start) / 1000
  if into >= 2 then
    return 0
  end
  if into >= 1 then
    return w_cur * (2 - into)
  end
  if w_full == 1 then
    return w_prev * (1 - into) + w_cur
  end
  return w_cur / math.max(into, 0.05)
end
"""

# ARGV: 1 a new lease's id ('' when the client reuses a lease it holds), 2 client id,
# 3 the client's settings as one space-separated string (ceiling per s, burst, cap, lease
# ms, adaptive 0/1, increase fraction, increase floor, client ttl ms, horizon ms: one
# argument, because the client's cost of a call grows with each), 4 tokens wanted (0:
# none), 5.. leases of this client to release first.
# Returns {status, ms, group time, clients seen, first ms, interval ms, tokens}: status 0
# granted (the j-th token, from 0, may be sent max(0, first + j * interval) ms after the
# group time), 1 paused (ms: until the pause ends), 2 cap full (ms: until a lease
# expires). Tokens beyond the first are granted only while their send time lies within
# the horizon, so a batch never reserves the rate far ahead.
ACQUIRE: Final = (
    _COMMON
    + """
local settings = {}
for value in string.gmatch(ARGV[3], '%S+') do
  settings[#settings + 1] = tonumber(value)
end
local ceiling, burst, cap, lease_ms = settings[1], settings[2], settings[3], settings[4]
local client_ttl, horizon = settings[8], settings[9]
local lease, want = ARGV[1], tonumber(ARGV[4])
for i = 5, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
end
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - client_ttl)
redis.call('PEXPIRE', KEYS[3], client_ttl)
local clients = redis.call('ZCARD', KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)

local s = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'cut_rate', 'cut_at',
  'w_start', 'w_cur', 'w_prev', 'w_full')
local paused = tonumber(s[2]) or 0
if now < paused then
  return {1, tostring(paused - now), tostring(now), clients, '0', '0', 0}
end
if lease ~= '' and redis.call('ZCARD', KEYS[2]) >= cap then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, tostring(tonumber(first[2]) - now), tostring(now), clients, '0', '0', 0}
end

local first, interval, granted, send = 0, 0, 0, now
if want > 0 then
  local rate = current_rate(ceiling, settings[5], tonumber(s[3]), tonumber(s[4]),
    settings[6], settings[7])
  interval = 1000 / rate
  local tat = math.max(tonumber(s[1]) or now, now)
  first = tat - (burst - 1) * interval - now
  send = now + math.max(0, first)
  granted = 1
  while granted < want and first + granted * interval <= horizon do
    granted = granted + 1
  end
  tat = tat + granted * interval

  -- Count the grants in the window their first send time falls in.
  local w_start = tonumber(s[5]) or send
  local w_cur = tonumber(s[6]) or 0
  local w_prev = tonumber(s[7]) or 0
  local w_full = tonumber(s[8]) or 0
  local windows = math.floor((send - w_start) / 1000)
  if windows >= 1 then
    if windows == 1 then w_prev = w_cur else w_prev = 0 end
    w_cur = 0
    w_full = 1
    w_start = w_start + windows * 1000
  end
  w_cur = w_cur + granted

  redis.call('HSET', KEYS[1], 'tat', tostring(tat), 'w_start', tostring(w_start),
    'w_cur', w_cur, 'w_prev', w_prev, 'w_full', w_full)
  -- An idle group's state goes away by itself.
  redis.call('PEXPIRE', KEYS[1], math.max(60000, math.ceil(tat - now) + 60000))
end
if lease ~= '' then
  redis.call('ZADD', KEYS[2], send + lease_ms, lease)
  -- Never shorten the set's life below a reservation's lease further ahead.
  local ttl = math.ceil(send - now + lease_ms) + 1000
  if redis.call('PTTL', KEYS[2]) < ttl then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
return {0, tostring(math.max(0, first)), tostring(now), clients, tostring(first),
  tostring(interval), granted}
"""
)

# ARGV: 1 lease ms, 2.. lease ids. Pushes each still-held lease's expiry forward.
RENEW: Final = (
    _COMMON
    + """
local expiry = now + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[2], 'XX', 'CH', 'GT', expiry, ARGV[i])
end
if renewed > 0 then
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]) + 1000)
end
return renewed
"""
)

# ARGV: 1 when the group granted the throttled request's token, 2 Retry-After ms (0:
# none), 3 ceiling, 4 burst, 5 adaptive, 6 increase fraction, 7 increase floor, 8 min
# rate, 9 decrease factor.
# Returns {1 when this throttle cut the rate else 0, the rate now}.
THROTTLE: Final = (
    _COMMON
    + """
local granted = tonumber(ARGV[1])
local retry_after = tonumber(ARGV[2])
local ceiling = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local adaptive = tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'cut_rate', 'cut_at',
  'w_start', 'w_cur', 'w_prev', 'w_full')
local tat = math.max(tonumber(s[1]) or now, now)
if retry_after > 0 then
  local paused = math.max(tonumber(s[2]) or 0, now + retry_after)
  tat = math.max(tat, paused)
  redis.call('HSET', KEYS[1], 'paused', tostring(paused), 'tat', tostring(tat))
end
local cut_at = tonumber(s[4])
local rate = current_rate(ceiling, adaptive, tonumber(s[3]), cut_at,
  tonumber(ARGV[6]), tonumber(ARGV[7]))
-- One cut per round: a request granted before the last cut was spaced at the old rate,
-- so its throttle is the same news again, whichever client brings it and however late
-- it was sent. A request granted since was spaced at the cut rate: its throttle is news.
if adaptive == 0 or (cut_at ~= nil and granted <= cut_at) then
  redis.call('PEXPIRE', KEYS[1], math.max(60000, math.ceil(tat - now) + 60000))
  return {0, tostring(rate)}
end
local min_rate = tonumber(ARGV[8])
local achieved = achieved_rate(tonumber(s[5]), tonumber(s[6]) or 0, tonumber(s[7]) or 0,
  tonumber(s[8]) or 0)
local cut = math.max(min_rate, math.min(rate, math.max(achieved, min_rate)) * tonumber(ARGV[9]))
-- The cut takes effect right after the sends granted already (at the old rate), with
-- no saved-up burst: the next grant is sent when the old rate's next would have been,
-- the one after 1/cut later. (Keeping tat would let the new rate's wider burst window
-- slip grants in among the old ones, a burst just when the server has none to give.)
local next_send = math.max(now, tat - (burst - 1) * 1000 / rate)
tat = next_send + (burst - 1) * 1000 / cut
redis.call('HSET', KEYS[1], 'cut_rate', tostring(cut), 'cut_at', tostring(now),
  'tat', tostring(tat))
redis.call('PEXPIRE', KEYS[1], math.max(60000, math.ceil(tat - now) + 60000))
return {1, tostring(cut)}
"""
)

# ARGV: 1 ceiling, 2 burst, 3 adaptive, 4 increase fraction, 5 increase floor,
# 6 client ttl ms. Returns {rate, tokens, leases in use, clients seen, paused ms}.
SNAPSHOT: Final = (
    _COMMON
    + """
local ceiling = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'cut_rate', 'cut_at')
local rate = current_rate(ceiling, tonumber(ARGV[3]), tonumber(s[3]), tonumber(s[4]),
  tonumber(ARGV[4]), tonumber(ARGV[5]))
local tat = math.max(tonumber(s[1]) or now, now)
local tokens = math.max(0, burst - (tat - now) * rate / 1000)
local leases = redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
local clients = redis.call('ZCOUNT', KEYS[3], now - tonumber(ARGV[6]), '+inf')
local paused = math.max(0, (tonumber(s[2]) or 0) - now)
return {tostring(rate), tostring(tokens), leases, clients, tostring(paused)}
"""
)
