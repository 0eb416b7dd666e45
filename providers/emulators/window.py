"""A sliding-window request counter: the providers' "N requests per T seconds" quotas.

The emulators use it to answer over-quota calls the way the provider does (ActiveCampaign: 5
requests a second and 100 bulk imports a minute; Sendlane: 240 requests a minute). The clock is
injected so tests move time forward instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class SlidingWindow:
    """At most ``limit`` admitted events in any ``seconds``-long window. Not thread-safe: the
    emulators call it while holding their own lock."""

    def __init__(self, limit: int, seconds: float, clock: Clock = time.monotonic) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError(f"a window needs limit >= 1 and seconds > 0, got {limit}/{seconds}")
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._events: deque[float] = deque()

    def admit(self) -> float | None:
        """Record one event and return None, or return the seconds until one would be admitted
        (the event is then not recorded: refused calls do not use up the quota)."""
        now = self.clock()
        while self._events and self._events[0] <= now - self.seconds:
            self._events.popleft()
        if len(self._events) < self.limit:
            self._events.append(now)
            return None
        return max(self._events[0] + self.seconds - now, 0.0)

    def clear(self) -> None:
        self._events.clear()


def whole_seconds(wait: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
