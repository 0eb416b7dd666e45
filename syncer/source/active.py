"""The source the compiler reads: the native schema unless a mapping was installed.

The CLI installs the one read from the config folder (``syncer.source.load``); tests and
library callers use ``using(source)``. One per process: a sync and its worker read one shop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from syncer.source.tables import Source, native_source

_state: dict[str, Source] = {"source": native_source()}


def active() -> Source:
    return _state["source"]


def install(source: Source) -> None:
    _state["source"] = source


@contextmanager
def using(source: Source) -> Iterator[Source]:
    """``source`` for the duration of the block (the previous one restored after)."""
    before = _state["source"]
    _state["source"] = source
    try:
        yield source
    finally:
        _state["source"] = before
