"""Per-account limits shared by every process and machine through Redis.

``RedisLimiter`` keeps one provider account's limits for all workers together, with the same
behaviour as the in-process ``providers.http.RateLimiter``:

- **requests in flight**: a sorted set of leases (token -> expiry, Redis server time); a request
  takes a lease while fewer than ``max_concurrency`` are unexpired and gives it back when it
  ends. A lease expires after ``lease_seconds`` (well above a request's timeout), so the slots of
  a worker killed mid-request come back on their own;
- **requests per second**: one key holds the time the account's next request may start; each
  request reserves its turn (``max(now, next)``) and moves it ``1 / requests_per_second`` on, so
  starts are spaced evenly across every worker;
- **Retry-After**: ``pause`` moves that same time on by the seconds the provider asked, so every
  worker's next request of the account waits, not just the one that was told.

Every step is one Lua script reading Redis's own clock (atomic; machines' clocks do not matter).
Keys are ``PREFIX:limits:ACCOUNT:slots`` and ``...:next`` (ACCOUNT is ``account_key``'s value:
provider, base URL and a hash of the credentials, never a secret); both expire when unused.

    use_limiter_factory(redis_limiter_factory(redis.Redis.from_url(url), prefix="syncer"))
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from providers.base import Limits
from providers.http import AccountLimiter, LimiterFactory, Sleep

# KEYS[1] leases; ARGV token, max leases, lease ms -> 1 taken, 0 all taken
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 1
end
return 0
"""

# KEYS[1] next start (ms, server time); ARGV step ms (the spacing, or a pause), mode:
# "turn" reserves a start at max(now, next) and moves next one step after it; "pause" moves next
# to at least now + step. Returns the ms to wait before the reserved start ("0" for a pause).
_ADVANCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local step = tonumber(ARGV[1])
local start = math.max(now, nxt)
local after = start + step
if ARGV[2] == 'pause' then
  start = now
  after = math.max(nxt, now + step)
end
if after > now then
  redis.call('SET', KEYS[1], tostring(after), 'PX', math.ceil(after - now) + 1000)
end
return tostring(start - now)
"""


class RedisLimiter:
    """One account's limits in Redis (see the module docstring). Thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        account: str,
        limits: Limits,
        *,
        prefix: str = "syncer",
        lease_seconds: float = 120.0,
        poll_seconds: float = 0.02,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.interval = 1.0 / limits.requests_per_second if limits.requests_per_second > 0 else 0.0
        self.max_concurrency = max(1, limits.max_concurrency)
        self.lease_ms = int(lease_seconds * 1000)
        self.poll = poll_seconds
        self._sleep = sleep
        base = f"{prefix}:limits:{account}"
        self.slots_key, self.next_key = f"{base}:slots", f"{base}:next"
        self._take: Callable[..., Any] = client.register_script(_TAKE_SLOT)
        self._advance: Callable[..., Any] = client.register_script(_ADVANCE)
        self._client = client

    def wait_turn(self) -> float:
        """Block until this request may start (the account's spacing and pauses, across every
        worker); returns the seconds waited."""
        delay = float(self._advance(keys=[self.next_key], args=[self.interval * 1000, "turn"]))
        delay /= 1000
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)

    def pause(self, seconds: float) -> None:
        """No request of this account starts, in any worker, for ``seconds``."""
        self._advance(keys=[self.next_key], args=[seconds * 1000, "pause"])

    @contextmanager
    def slot(self) -> Iterator[None]:
        token = uuid.uuid4().hex
        args = [token, self.max_concurrency, self.lease_ms]
        while not self._take(keys=[self.slots_key], args=args):
            self._sleep(self.poll * random.uniform(0.5, 1.5))  # jittered: workers do not align
        try:
            self.wait_turn()
            yield
        finally:
            self._client.zrem(self.slots_key, token)

    def in_flight(self) -> int:
        """Unexpired leases now (for tests and diagnostics)."""
        now_s, now_us = self._client.time()
        now_ms = now_s * 1000 + now_us // 1000
        return int(self._client.zcount(self.slots_key, now_ms, "+inf"))


def redis_limiter_factory(
    client: redis.Redis, *, prefix: str = "syncer", lease_seconds: float = 120.0
) -> LimiterFactory:
    """For ``providers.http.use_limiter_factory``: every account's limits kept in Redis."""

    def build(account: str, limits: Limits) -> AccountLimiter:
        return RedisLimiter(client, account, limits, prefix=prefix, lease_seconds=lease_seconds)

    return build
