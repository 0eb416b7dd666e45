"""The one chunker: ``chunks(items, size)`` cuts any iterable into lists of ``size`` (the last may
be shorter), reading lazily, one chunk ahead at most. Batches of changes, pages of ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
