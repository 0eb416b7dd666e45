"""Listings read page by page, whatever the provider's paging style.

    by_offset(fetch, size=)   ``limit`` + ``offset``: ``fetch(offset)`` returns a ``Page``; stops
                              at an empty page, a page shorter than ``size`` (when given) or once
                              ``Page.total`` items are read (when the answer says)
    by_page_number(fetch)     ``page`` = 1, 2, ...: stops at an empty page or when ``Page.more``
                              is false (the answer's next-page link is null)
    at_key(body, key, shape)  ``body[key]`` checked as ``shape`` (UnexpectedAnswer naming the key
                              when it is missing or of the wrong shape)

Items are yielded as pages arrive: a caller that stops early makes no further calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from providers.errors import UnexpectedAnswer
from providers.shapes import parse

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None = None  # items in the whole listing, when the answer says
    more: bool = False  # a next page exists (page-number listings)


def by_offset(fetch: Callable[[int], Page[T]], *, size: int | None = None) -> Iterator[T]:
    offset = 0
    while True:
        page = fetch(offset)
        yield from page.items
        offset += len(page.items)
        short = size is not None and len(page.items) < size
        if not page.items or short or (page.total is not None and offset >= page.total):
            return


def by_page_number(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    number = 1
    while True:
        page = fetch(number)
        yield from page.items
        if not page.items or not page.more:
            return
        number += 1


def at_key(body: Mapping[str, Any], key: str, shape: type[T], *, provider: str, what: str) -> T:
    if key not in body:
        raise UnexpectedAnswer(what, f"{key}: Field required", provider=provider)
    return parse(shape, body[key], provider=provider, what=what, at=key)
