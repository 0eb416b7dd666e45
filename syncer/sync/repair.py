"""``--full``: compare the provider's tagged members with the snapshot and repair drift.

1. The provider's tagged addresses (``read_members``, streamed) are staged, lower-cased, in
   ``syncer_provider_tagged``.
2. Tagged on the provider but unknown to the snapshot (tagged by hand, or left over): remove.
   Addresses the snapshot knows in any status are left alone (a rejected member that carries
   the tag anyway is not ours to remove while the segment still wants it).
3. In the snapshot as applied but not tagged (tag removed by hand): add again, with the member's
   current data from the segment query (skipped if the customer has left the segment since).

Both comparisons are SQL anti-joins inside the state database, so memory stays flat; only ids
and addresses are paged through.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, Table, and_, delete, exists, func, insert, select

from providers.base import Destination, Provider
from syncer.state.models import ProviderTagged
from syncer.state.store import MEMBERS, StateStore, chunked
from syncer.sync.diff import APPLIED, Planned
from syncer.sync.members import current_members

TAGGED: Table = ProviderTagged.__table__  # type: ignore[attr-defined]


def stage(store: StateStore, target_id: int, provider: Provider, destination: Destination) -> int:
    """Replace the staged tagged set of ``target_id`` with the provider's; returns its size."""
    with store.engine.begin() as conn:
        conn.execute(delete(TAGGED).where(TAGGED.c.target_id == target_id))
    total = 0
    emails = (e.strip().lower() for e in provider.read_members(destination))
    for chunk in chunked(emails, store.page_size):
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


def _stray(store: StateStore, target_id: int) -> Iterator[str]:
    """Staged addresses the snapshot does not know, ascending."""
    known = exists().where(
        MEMBERS.c.target_id == target_id, func.lower(MEMBERS.c.email) == TAGGED.c.email
    )
    last = ""
    while True:
        q = (
            select(TAGGED.c.email)
            .where(TAGGED.c.target_id == target_id, TAGGED.c.email > last, ~known)
            .order_by(TAGGED.c.email)
            .limit(store.page_size)
        )
        with store.engine.connect() as conn:
            page = list(conn.execute(q).scalars())
        yield from page
        if len(page) < store.page_size:
            return
        last = page[-1]


def _missing(store: StateStore, target_id: int) -> Iterator[int]:
    """Customer ids applied in the snapshot whose address is not tagged, ascending."""
    tagged = exists().where(
        TAGGED.c.target_id == target_id, TAGGED.c.email == func.lower(MEMBERS.c.email)
    )
    last = None
    while True:
        q = select(MEMBERS.c.customer_id).where(
            MEMBERS.c.target_id == target_id, MEMBERS.c.status == APPLIED, ~tagged
        )
        if last is not None:
            q = q.where(MEMBERS.c.customer_id > last)
        q = q.order_by(MEMBERS.c.customer_id).limit(store.page_size)
        with store.engine.connect() as conn:
            page = list(conn.execute(q).scalars())
        yield from page
        if len(page) < store.page_size:
            return
        last = page[-1]


def plan_repairs(
    store: StateStore,
    commerce: Engine,
    target_id: int,
    provider: Provider,
    destination: Destination,
    query: Select[Any],
    *,
    without_consent: str,
    now: datetime,
) -> dict[str, int]:
    """Stage the provider's tagged set and write the repairing changes to the outbox."""
    stage(store, target_id, provider, destination)
    removes = (Planned("remove", None, email, "") for email in _stray(store, target_id))
    counts = dict(store.write_plan(target_id, removes, now))
    readd: list[Planned] = []
    for ids in chunked(_missing(store, target_id), store.page_size):
        for d in current_members(commerce, query, ids):
            if d.consent or without_consent != "skip":
                readd.append(
                    Planned(
                        "add", d.customer_id, d.email, d.fields_hash,
                        d.first_name, d.last_name, d.consent,
                    )
                )  # fmt: skip
        counts["add"] = counts.get("add", 0) + sum(store.write_plan(target_id, readd, now).values())
        readd = []
    with store.engine.begin() as conn:
        conn.execute(delete(TAGGED).where(and_(TAGGED.c.target_id == target_id)))
    return counts
