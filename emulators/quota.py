"""A request quota: the providers' "N requests per T seconds", as a token bucket.

The emulators use it to answer over-quota calls the way the provider does (ActiveCampaign: 5
requests a second and 100 bulk imports a minute; Sendlane: 240 requests a minute). A bucket holds
up to N calls and refills at N per T seconds, so evenly spaced traffic at the documented rate is
never refused while a burst beyond N is. How the providers count exactly (bucket, fixed or sliding
window) is not published; a bucket is the lenient reading of "N per T". The clock is injected so
tests move time forward instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]


class Quota:
    """At most ``limit`` calls at once, refilled at ``limit`` per ``seconds``. Not thread-safe:
    the emulators call it while holding their own lock."""

    def __init__(self, limit: int, seconds: float, clock: Clock = time.monotonic) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError(f"a quota needs limit >= 1 and seconds > 0, got {limit}/{seconds}")
        self.limit = limit
        self.rate = limit / seconds
        self.clock = clock
        self._tokens = float(limit)
        self._stamp: float | None = None

    def admit(self) -> float | None:
        """Take one call from the quota and return None, or return the seconds until one is
        available (nothing is taken then: refused calls do not use up the quota)."""
        now = self.clock()
        if self._stamp is not None:
            self._tokens = min(self.limit, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.rate

    def clear(self) -> None:
        self._tokens = float(self.limit)
        self._stamp = None


def whole_seconds(wait: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
