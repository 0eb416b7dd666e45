"""Shared helpers for provider tests: a recording sleep, a fast HTTP client, ``responses``.

``Sleeps`` records every wait the code under test asks for (retries, polls) without waiting, so a
test can assert that a Retry-After was honoured. ``fast_client`` builds an ``HttpClient`` whose
rate limiter neither spaces requests nor sleeps (the limiter has its own tests), with retries
recorded in the given ``Sleeps``. Other provider test modules may add fixtures at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import responses

from providers.base import Limits
from providers.http import Classifier, HttpClient, RateLimiter


class Sleeps(list[float]):
    """A fake sleep: records the seconds asked for and moves a fake clock, returns at once."""

    now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    @property
    def waits(self) -> list[float]:
        """The waits that were not zero (a Retry-After pause is waited in the rate limiter)."""
        return [s for s in self if s > 0]


def fast_client(
    provider: str,
    base_url: str,
    *,
    headers: Mapping[str, str],
    classify: Classifier,
    sleeps: Sleeps,
    limits: Limits,
    **kw: Any,
) -> HttpClient:
    return HttpClient(
        provider,
        base_url,
        headers=headers,
        limits=limits,
        sleep=sleeps,
        classify=classify,
        limiter=RateLimiter(0, max(1, limits.max_concurrency), clock=sleeps.clock, sleep=sleeps),
        **kw,
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """``responses`` in strict mode: every registered answer must be used by the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
