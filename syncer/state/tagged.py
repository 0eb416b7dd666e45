"""The provider's tagged members, staged for ``--full`` (``syncer_provider_tagged``).

The addresses are staged folded (``rows.fold``), so both comparisons with the snapshot are SQL
anti-joins inside the state database: memory stays flat, only ids and addresses are streamed
through. Each comparison is one query read through a server-side cursor (``streamed``): paged
with ``LIMIT`` instead, the planner walks the staged set in order and probes the snapshot once
per address (a nested loop), which took minutes for 22,000 members on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from providers.batching import chunks
from syncer.state.models import ProviderTagged
from syncer.state.rows import APPLIED, fold
from syncer.state.store import MEMBERS, OUTBOX, StateStore

TAGGED: Table = ProviderTagged.__table__  # type: ignore[attr-defined]


def stage(store: StateStore, target_id: int, emails: Iterable[str]) -> int:
    """Replace the staged tagged set of ``target_id`` with ``emails``; returns its size.

    One statement per page, whatever its size: an address already staged (a later page, or a
    spelling the database's collation holds equal) is skipped by the database itself, so
    staging costs a bulk insert and no per-address work (``_insert_page``)."""
    clear(store, target_id)
    for chunk in chunks((fold(e) for e in emails), store.page_size):
        with store.engine.begin() as conn:
            _insert_page(conn, target_id, sorted(set(chunk)))
    with store.engine.connect() as conn:
        total: int = conn.execute(
            select(func.count()).select_from(TAGGED).where(TAGGED.c.target_id == target_id)
        ).scalar_one()
    if total >= ANALYZE_AFTER:
        analyze(store)
    return total


def _insert_page(conn: Connection, target_id: int, emails: list[str]) -> None:
    """Stage ``emails`` (folded, distinct) in one statement, leaving the staged ones alone."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # The whole page as one array parameter: one row per element, server-side.
        unnested = func.unnest(bindparam("emails", type_=postgresql.ARRAY(Text)))
        rows = select(literal(target_id, Integer), unnested)
        statement = postgresql.insert(TAGGED).from_select(["target_id", "email"], rows)
        conn.execute(statement.on_conflict_do_nothing(), {"emails": emails})
        return
    values = [{"target_id": target_id, "email": e} for e in emails]
    if dialect == "sqlite":
        conn.execute(sqlite.insert(TAGGED).on_conflict_do_nothing(), values)
    elif dialect in ("mysql", "mariadb"):
        # The driver sends the page as one multi-row INSERT; no IGNORE, which would also
        # silence a value the column cannot hold.
        upsert = mysql.insert(TAGGED)
        conn.execute(upsert.on_duplicate_key_update(email=upsert.inserted.email), values)
    else:
        known = conn.execute(
            select(TAGGED.c.email).where(
                TAGGED.c.target_id == target_id, TAGGED.c.email.in_(emails)
            )
        ).scalars()
        fresh = set(emails) - set(known)
        if fresh:
            conn.execute(
                insert(TAGGED), [{"target_id": target_id, "email": e} for e in sorted(fresh)]
            )


ANALYZE_AFTER = 5000  # staged addresses after which the staged table's statistics are refreshed
_ANALYZE = {
    "postgresql": "ANALYZE syncer_provider_tagged",
    "mysql": "ANALYZE TABLE syncer_provider_tagged",
    "mariadb": "ANALYZE TABLE syncer_provider_tagged",
    "sqlite": "ANALYZE syncer_provider_tagged",
}


def analyze(store: StateStore) -> None:
    """Fresh statistics for the staged set (the comparisons' plans read them); a database
    that refuses only costs speed."""
    statement = _ANALYZE.get(store.engine.dialect.name)
    if statement is None:
        return
    with suppress(SQLAlchemyError), store.engine.begin() as conn:
        conn.exec_driver_sql(statement)


def stray(store: StateStore, target_id: int) -> Iterator[str]:
    """Staged addresses the snapshot does not know (in any status) and no outbox row of the
    target carries (this run's plan adds them, or an earlier run's change is still pending:
    its own run settles it), ascending. Addresses are compared folded (``email_key``, folded
    as the staged ones are: SQL's ``lower`` folds only ASCII on SQLite)."""
    known = exists().where(MEMBERS.c.target_id == target_id, MEMBERS.c.email_key == TAGGED.c.email)
    planned = exists().where(OUTBOX.c.target_id == target_id, OUTBOX.c.email_key == TAGGED.c.email)
    q = select(TAGGED.c.email).where(TAGGED.c.target_id == target_id, ~known, ~planned)
    for r in streamed(store, q.order_by(TAGGED.c.email)):
        yield r.email


def _untagged(target_id: int) -> ColumnElement[bool]:
    """Snapshot rows of ``target_id`` applied whose address is not staged."""
    staged = exists().where(TAGGED.c.target_id == target_id, TAGGED.c.email == MEMBERS.c.email_key)
    return (MEMBERS.c.target_id == target_id) & (MEMBERS.c.status == APPLIED) & ~staged


def missing(store: StateStore, target_id: int) -> Iterator[int]:
    """Customer ids applied in the snapshot whose address is not staged and that have no
    outbox row for that address (a planned remove: they are leaving; a planned update:
    ``promote``; a pending change of an earlier address does not count), ascending."""
    planned = exists().where(
        OUTBOX.c.target_id == target_id,
        OUTBOX.c.customer_id == MEMBERS.c.customer_id,
        OUTBOX.c.email_key == MEMBERS.c.email_key,
    )
    q = select(MEMBERS.c.customer_id).where(_untagged(target_id), ~planned)
    for r in streamed(store, q.order_by(MEMBERS.c.customer_id)):
        yield r.customer_id


def promote(store: StateStore, target_id: int, *, after_id: int, consenting_only: bool) -> int:
    """This run's outbox updates (ids above ``after_id``) of members applied in the snapshot
    whose address is not staged become adds (an add carries the tag; the row already holds
    the member's current data); with ``consenting_only``, only those of members who consent.
    Returns how many."""
    untagged = select(MEMBERS.c.customer_id).where(_untagged(target_id))
    statement = update(OUTBOX).where(
        OUTBOX.c.target_id == target_id,
        OUTBOX.c.id > after_id,
        OUTBOX.c.kind == "update",
        OUTBOX.c.customer_id.in_(untagged),
    )
    if consenting_only:
        statement = statement.where(OUTBOX.c.consent.is_(True))
    with store.engine.begin() as conn:
        return int(conn.execute(statement.values(kind="add")).rowcount or 0)


def streamed(store: StateStore, query: Select[Any]) -> Iterator[Any]:
    """The rows of ``query``, ``page_size`` at a time through a server-side cursor (the caller
    writes to other tables between rows, on other connections)."""
    with store.engine.connect() as conn:
        options = conn.execution_options(stream_results=True, yield_per=store.page_size)
        yield from options.execute(query)


def clear(store: StateStore, target_id: int) -> None:
    """Drop the staged set of ``target_id``."""
    with store.engine.begin() as conn:
        conn.execute(delete(TAGGED).where(TAGGED.c.target_id == target_id))
