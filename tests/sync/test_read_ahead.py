"""``--full`` reads the provider's tagged pages ahead while it stages them (``read_ahead``):
the same addresses in the same order, the provider's error raised where it happened, bounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.errors import RetryableError
from syncer.sync.repair import read_ahead


def test_every_address_in_order_read_at_most_ahead_items_before_taken() -> None:
    read: list[int] = []

    def emails() -> Iterator[str]:
        for i in range(50):
            read.append(i)
            yield f"c{i}@example.com"

    got = []
    for n, email in enumerate(read_ahead(emails(), ahead=4)):
        got.append(email)
        assert len(read) <= n + 1 + 4 + 1  # taken, the buffer, and the one being put
    assert got == [f"c{i}@example.com" for i in range(50)]


def test_the_providers_error_is_raised_after_the_pages_before_it() -> None:
    def emails() -> Iterator[str]:
        yield "a@example.com"
        yield "b@example.com"
        raise RetryableError("GET /tags/1/contacts: 503", provider="sendlane")

    got: list[str] = []
    with pytest.raises(RetryableError, match="503"):
        for email in read_ahead(emails(), ahead=10):
            got.append(email)
    assert got == ["a@example.com", "b@example.com"]
