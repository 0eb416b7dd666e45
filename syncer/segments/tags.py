"""Tags select segments: ``syncer segments list --tag T``, ``syncer sync --tag T`` and the
worker's ``syncer schedule --tag T`` take the segments carrying ANY of the tags given (compared
without case, as written in the files' ``tags:``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from syncer.errors import ConfigError


class Tagged(Protocol):
    @property
    def tags(self) -> Sequence[str]: ...


def has_any_tag(segment: Tagged, tags: Iterable[str]) -> bool:
    """True if ``segment`` carries one of ``tags`` (no tags given: every segment does)."""
    wanted = {t.strip().casefold() for t in tags}
    return not wanted or any(t.strip().casefold() in wanted for t in segment.tags)


def known_tags(segments: Iterable[Tagged]) -> list[str]:
    """Every tag the segments carry, sorted, each once (first spelling kept)."""
    found: dict[str, str] = {}
    for seg in segments:
        for tag in seg.tags:
            found.setdefault(tag.strip().casefold(), tag.strip())
    return sorted(found.values(), key=str.casefold)


def check_tags(segments: Iterable[Tagged], tags: Iterable[str]) -> None:
    """ConfigError (one line, listing the known tags) if no segment carries one of ``tags``."""
    known = known_tags(segments)
    folded = {t.casefold() for t in known}
    for tag in tags:
        if tag.strip().casefold() not in folded:
            raise ConfigError(
                f"no segment has the tag {tag!r}",
                hint=f"known tags: {', '.join(known) or 'none (add `tags:` to a segment file)'}",
            )
