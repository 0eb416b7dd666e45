"""The source the compiler reads: the native schema unless a mapping was installed.

The CLI installs the one read from the config folder (``syncer.source.load``); tests and
library callers use ``using(source)``. One per process: a sync and its worker read one shop.
``here(source)`` replaces it for the current thread (context) alone: a compile over a source of
one call's own (the insights' temporary copies) while other threads compile over the shop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from syncer.source.tables import Source, native_source

_state: dict[str, Source] = {"source": native_source()}
_here: ContextVar[Source | None] = ContextVar("syncer_source_here", default=None)


def active() -> Source:
    source = _here.get()
    return _state["source"] if source is None else source


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


@contextmanager
def here(source: Source) -> Iterator[Source]:
    """``source`` for the duration of the block in this thread (context) only; the process's
    source (``install``, ``using``) stays what every other thread reads."""
    token = _here.set(source)
    try:
        yield source
    finally:
        _here.reset(token)
