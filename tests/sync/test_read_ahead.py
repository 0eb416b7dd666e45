"""``--full`` reads the provider's tagged pages ahead while it stages them (``read_ahead``):
the same addresses in the same order, the provider's error raised where it happened, bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from providers.errors import RetryableError
from syncer.sync.repair import read_ahead


def counted(n: int, read: list[int]) -> Iterator[str]:
    """``n`` addresses, noting in ``read`` each one the reader has taken."""
    for i in range(n):
        read.append(i)
        yield f"c{i}@example.com"


def test_every_address_in_order_read_at_most_ahead_items_before_taken() -> None:
    read: list[int] = []
    got = []
    for n, email in enumerate(read_ahead(counted(50, read), ahead=4, batch=2)):
        got.append(email)
        # taken, the rest of the batch being taken, the buffer, and the batch being filled
        assert len(read) <= n + 1 + 1 + 4 + 2
    assert got == [f"c{i}@example.com" for i in range(50)]


def test_the_providers_error_is_raised_after_the_pages_before_it() -> None:
    def emails() -> Iterator[str]:
        yield "a@example.com"
        yield "b@example.com"
        raise RetryableError("GET /tags/1/contacts: 503", provider="sendlane")

    got: list[str] = []
    with pytest.raises(RetryableError, match="503"):
        for email in read_ahead(emails(), ahead=10, batch=4):
            got.append(email)
    assert got == ["a@example.com", "b@example.com"]


def test_a_caller_that_stops_early_stops_the_reading() -> None:
    read: list[int] = []
    taken = read_ahead(counted(10_000, read), ahead=20, batch=5)
    assert [next(taken) for _ in range(3)] == ["c0@example.com", "c1@example.com", "c2@example.com"]
    taken.close()  # joins the reading thread
    stopped = len(read)
    assert stopped <= 3 + 4 + 20 + 5 + 5
    time.sleep(0.2)
    assert len(read) == stopped  # the thread has ended
