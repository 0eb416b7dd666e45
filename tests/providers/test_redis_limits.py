"""Per-account limits kept in Redis: every limiter of one account, in any process, shares them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from providers.base import Limits
from providers.http import RateLimiter, shared_limiter, use_limiter_factory
from providers.redis_limits import RedisLimiter, redis_limiter_factory
from tests.redisdb import ScratchRedis, scratch_redis

# Spacing, pauses, leases and in-flight peaks measured in real time: run alone, after the
# parallel part.
pytestmark = pytest.mark.serial
ACCOUNT = "activecampaign:http://x:abc"


@pytest.fixture
def scratch() -> Iterator[ScratchRedis]:
    with scratch_redis() as found:
        yield found


def limiter(scratch: ScratchRedis, rps: float, concurrency: int, **kw) -> RedisLimiter:
    return RedisLimiter(
        scratch.client, ACCOUNT, Limits(100, rps, concurrency), prefix=scratch.prefix, **kw
    )


def test_requests_in_flight_are_capped_across_limiters(scratch: ScratchRedis) -> None:
    workers = [limiter(scratch, 0, 2) for _ in range(3)]  # three processes, one account
    lock, now, peak = threading.Lock(), [0], [0]

    def request(lim: RedisLimiter) -> None:
        with lim.slot():
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.1)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=request, args=(workers[i % 3],)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
    assert workers[0].in_flight() == 0  # every slot given back


def test_request_starts_are_spaced_across_limiters(scratch: ScratchRedis) -> None:
    a, b = limiter(scratch, 10, 5), limiter(scratch, 10, 5)
    started = time.monotonic()
    for _ in range(5):
        a.wait_turn()
        b.wait_turn()
    # ten starts at 10 a second: the last one 0.9 s after the first, whoever makes it
    assert time.monotonic() - started >= 0.85


def test_a_retry_after_pauses_the_account_for_every_limiter(scratch: ScratchRedis) -> None:
    told, other = limiter(scratch, 0, 5), limiter(scratch, 0, 5)
    told.pause(0.5)
    assert other.wait_turn() >= 0.4


def test_a_killed_workers_slots_come_back_after_their_lease(scratch: ScratchRedis) -> None:
    dead = limiter(scratch, 0, 1, lease_seconds=0.3)
    slot = dead.slot()
    slot.__enter__()  # taken and never given back: the process died
    alive = limiter(scratch, 0, 1)
    started = time.monotonic()
    with alive.slot():
        waited = time.monotonic() - started
    assert 0.15 <= waited < 2.0


def test_the_factory_makes_every_client_share_redis(scratch: ScratchRedis) -> None:
    limits = Limits(100, 5, 2)
    use_limiter_factory(redis_limiter_factory(scratch.client, prefix=scratch.prefix))
    try:
        assert isinstance(shared_limiter("acct-1", limits), RedisLimiter)
        assert shared_limiter("acct-1", limits) is shared_limiter("acct-1", limits)
    finally:
        use_limiter_factory(None)
    assert isinstance(shared_limiter("acct-1", limits), RateLimiter)
