"""The provider's tagged members, staged for ``--full`` (``syncer_provider_tagged``).

The addresses are staged folded (``rows.fold``), so both comparisons with the snapshot are SQL
anti-joins inside the state database: memory stays flat, only ids and addresses are paged
through (``store.keyset``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Table, delete, exists, func, insert, select

from providers.batching import chunks
from syncer.state.models import ProviderTagged
from syncer.state.rows import APPLIED, fold
from syncer.state.store import MEMBERS, StateStore, keyset

TAGGED: Table = ProviderTagged.__table__  # type: ignore[attr-defined]


def stage(store: StateStore, target_id: int, emails: Iterable[str]) -> int:
    """Replace the staged tagged set of ``target_id`` with ``emails``; returns its size."""
    clear(store, target_id)
    total = 0
    for chunk in chunks((fold(e) for e in emails), store.page_size):
        fresh = set(chunk)
        with store.engine.begin() as conn:
            known = conn.execute(
                select(TAGGED.c.email).where(
                    TAGGED.c.target_id == target_id, TAGGED.c.email.in_(fresh)
                )
            ).scalars()
            fresh -= set(known)
            if fresh:
                conn.execute(
                    insert(TAGGED), [{"target_id": target_id, "email": e} for e in sorted(fresh)]
                )
        total += len(fresh)
    return total


def stray(store: StateStore, target_id: int) -> Iterator[str]:
    """Staged addresses the snapshot does not know (in any status), ascending."""
    known = exists().where(
        MEMBERS.c.target_id == target_id, func.lower(MEMBERS.c.email) == TAGGED.c.email
    )
    q = select(TAGGED.c.email).where(TAGGED.c.target_id == target_id, ~known)
    for r in keyset(store.engine, q, TAGGED.c.email, store.page_size, after=""):
        yield r.email


def missing(store: StateStore, target_id: int) -> Iterator[int]:
    """Customer ids applied in the snapshot whose address is not staged, ascending."""
    tagged = exists().where(
        TAGGED.c.target_id == target_id, TAGGED.c.email == func.lower(MEMBERS.c.email)
    )
    q = select(MEMBERS.c.customer_id).where(
        MEMBERS.c.target_id == target_id, MEMBERS.c.status == APPLIED, ~tagged
    )
    for r in keyset(store.engine, q, MEMBERS.c.customer_id, store.page_size):
        yield r.customer_id


def clear(store: StateStore, target_id: int) -> None:
    """Drop the staged set of ``target_id``."""
    with store.engine.begin() as conn:
        conn.execute(delete(TAGGED).where(TAGGED.c.target_id == target_id))
