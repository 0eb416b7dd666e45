"""Test Redis: the queue and the shared limits' tests run when SYNCER_TEST_REDIS_URL is set.

SYNCER_TEST_REDIS_URL  e.g. redis://127.0.0.1:6379/0

Without the variable those tests skip and say which variable to set. With it set, a Redis that
does not answer fails the test: CI must never pass by skipping. Each use gets a key prefix of its
own (``t<random>``), and its keys are deleted afterwards, so concurrent runs never share keys.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis

ENV = "SYNCER_TEST_REDIS_URL"


@dataclass(frozen=True)
class ScratchRedis:
    client: redis.Redis
    url: str  # the server's URL, as set
    prefix: str  # every key of this test starts with it

    @property
    def queue_url(self) -> str:
        """``syncer ... --queue`` for this test: the server with this test's prefix."""
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}prefix={self.prefix}"


@contextmanager
def scratch_redis() -> Iterator[ScratchRedis]:
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"Redis tests skipped: set {ENV} (e.g. redis://127.0.0.1:6379/0) to run them")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as err:  # a set URL that does not answer is a failure, never a skip
        pytest.fail(f"{ENV}={url} is set but Redis does not answer: {err}")
    prefix = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield ScratchRedis(client, url, prefix)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
