"""What one account's traffic looked like at an emulator: requests in flight and per second.

The emulators keep one ``AccountTraffic`` per account (per credential), so tests and benchmarks
can check that Syncer stayed within a provider's limits whatever the number of its processes:

- ``peak_in_flight``: the most requests of the account being answered at once (Mailchimp's limit
  is 10 connections);
- ``peak_per_second``: the most requests that arrived within any one second (a sliding window;
  arrival times carry the network's jitter, so an evenly spaced client at exactly N a second can
  read N + 1 here);
- ``over_rate``: requests beyond the provider's "N per T" quota counted the way the emulator
  enforces it (``Quota``: a bucket), whether or not enforcement is on. Zero means the provider
  would have refused none for their rate.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from emulators.quota import Clock, Quota


class AccountTraffic:
    """Counters of one account; not thread-safe (the emulator holds its flight lock)."""

    def __init__(self, quota: Quota | None, clock: Clock = time.monotonic) -> None:
        self.quota = quota
        self.clock = clock
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.peak_per_second = 0
        self.over_rate = 0
        self._arrivals: deque[float] = deque()

    def started(self) -> None:
        now = self.clock()
        self.calls += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self._arrivals.append(now)
        while self._arrivals and self._arrivals[0] <= now - 1.0:
            self._arrivals.popleft()
        self.peak_per_second = max(self.peak_per_second, len(self._arrivals))
        if self.quota is not None and self.quota.admit() is not None:
            self.over_rate += 1

    def ended(self) -> None:
        self.in_flight -= 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "peak_in_flight": self.peak_in_flight,
            "peak_per_second": self.peak_per_second,
            "over_rate": self.over_rate,
        }
