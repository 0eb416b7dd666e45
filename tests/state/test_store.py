"""The store's helpers: one keyset pager for every paged read, one chunker."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from syncer.state.migrate import upgrade
from syncer.state.store import MEMBERS, TARGETS, keyset

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def fill(engine: Engine, ids: list[int]) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(TARGETS).values(id=1, segment="s", destination="d", created_at=NOW))
        conn.execute(
            insert(MEMBERS),
            [{"target_id": 1, "customer_id": i, "email": f"c{i}@x.test", "fields_hash": "h",
              "status": "applied", "updated_at": NOW} for i in ids],
        )  # fmt: skip


def test_keyset_pages_through_every_row_ascending_from_after(engine: Engine) -> None:
    fill(engine, [8, 3, 5, 1, 2, 7, 4, 6])  # a multiple of the page size, inserted unsorted
    q = select(MEMBERS.c.customer_id, MEMBERS.c.email).where(MEMBERS.c.target_id == 1)
    key = MEMBERS.c.customer_id
    assert [r.customer_id for r in keyset(engine, q, key, 4)] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [r.customer_id for r in keyset(engine, q, key, 3, after=3)] == [4, 5, 6, 7, 8]
    assert list(keyset(engine, q.where(key > 100), key, 4)) == []


def test_keyset_reads_each_page_afresh_so_the_caller_may_write_between_pages(
    engine: Engine,
) -> None:
    fill(engine, [1, 2, 3, 4, 5])
    q = select(MEMBERS.c.customer_id).where(MEMBERS.c.target_id == 1)
    seen = []
    for r in keyset(engine, q, MEMBERS.c.customer_id, 2):
        seen.append(r.customer_id)
        if r.customer_id == 2:  # written after the first page was read: the next page sees it
            with engine.begin() as conn:
                conn.execute(
                    insert(MEMBERS).values(target_id=1, customer_id=9, email="c9@x.test",
                                           fields_hash="h", status="applied", updated_at=NOW)
                )  # fmt: skip
    assert seen == [1, 2, 3, 4, 5, 9]


def test_a_targets_outbox_mark_stays_below_its_new_rows_whatever_other_targets_delete(
    engine: Engine,
) -> None:
    """Several workers share the state database: while one plans target 1, another settles
    (deletes) target 2's rows. The rows target 1 writes after taking its mark are all above it
    (SQLite reuses the ids of deleted rows past the largest one left)."""
    from sqlalchemy import delete

    from syncer.state.store import OUTBOX, StateStore

    upgrade(engine)
    store = StateStore(engine)

    def rows(target: int, n: int) -> list[dict[str, object]]:
        return [{"target_id": target, "kind": "add", "customer_id": i, "email": f"c{i}@x.test",
                 "fields_hash": "h", "created_at": NOW} for i in range(n)]  # fmt: skip

    with engine.begin() as conn:
        for t in (1, 2):
            conn.execute(insert(TARGETS).values(id=t, segment=f"s{t}", destination="d",
                                                created_at=NOW))  # fmt: skip
        conn.execute(insert(OUTBOX), rows(2, 3))
    mark = store.max_outbox_id(1)
    with engine.begin() as conn:
        conn.execute(delete(OUTBOX).where(OUTBOX.c.target_id == 2))  # the other worker settled
        conn.execute(insert(OUTBOX), rows(1, 2))
    assert sum(store.pending_counts(1, after_id=mark).values()) == 2


def test_a_targets_id_is_read_once_then_known_without_asking_the_database(
    engine: Engine,
) -> None:
    """A worker looks a target up before its run (is it waiting?) and again to lock it; the
    second lookup (and every later run's) answers from what the store already knows."""
    from sqlalchemy import event

    from syncer.state.store import StateStore

    upgrade(engine)
    store = StateStore(engine)
    asked: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM syncer_targets" in statement:
            asked.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert store.find_target("s", "d") is None  # unknown: asked, not remembered
        created = store.target("s", "d", NOW)
        assert len(asked) == 2
        assert store.find_target("s", "d") == created
        assert store.target("s", "d", NOW) == created
        assert len(asked) == 2
        other = StateStore(engine)  # another process: reads the same id from the table
        assert other.find_target("s", "d") == created
        assert len(asked) == 3
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _settle_applied(store: object, rows: list[tuple[int, str, str, str]], status: str) -> None:
    """Settle one batch: per (customer, kind, address, fields hash) the provider's answer."""
    from providers.base import Change, ChangeKind, Member, Outcome, OutcomeStatus
    from syncer.state.rows import OutboxRow
    from syncer.state.store import StateStore

    assert isinstance(store, StateStore)
    pairs = []
    for n, (cid, kind, email, h) in enumerate(rows, 1):
        row = OutboxRow(n, kind, cid, email, "F", "L", True, h, None, 0, {"city": f"c{cid}"})
        change = Change(ChangeKind(kind), Member(email=email, customer_id=str(cid)))
        pairs.append((row, Outcome(change, OutcomeStatus(status), provider_ref=f"ref-{cid}")))
    store.settle(1, pairs, NOW, max_attempts=5)


def test_a_settled_answer_replaces_the_customers_snapshot_row_whole(engine: Engine) -> None:
    """A batch mixing new customers and customers with a snapshot row: each ends with one row,
    every column from the latest answer (address, folded address, hash, status, ref, values)."""
    from syncer.state.store import StateStore

    fill(engine, [1, 2])
    store = StateStore(engine)
    _settle_applied(store, [(2, "update", "New.Two@X.test", "h2"), (3, "add", "c3@x.test", "h3")],
                    "accepted")  # fmt: skip
    t = MEMBERS.c
    with engine.connect() as conn:
        rows = conn.execute(select(MEMBERS).order_by(t.customer_id)).all()
    assert [
        (r.customer_id, r.email, r.email_key, r.fields_hash, r.status, r.provider_ref,
         r.field_values)
        for r in rows
    ] == [
        (1, "c1@x.test", None, "h", "applied", None, None),
        (2, "New.Two@X.test", "new.two@x.test", "h2", "accepted", "ref-2", '{"city": "c2"}'),
        (3, "c3@x.test", "c3@x.test", "h3", "accepted", "ref-3", '{"city": "c3"}'),
    ]  # fmt: skip


def test_settling_writes_the_snapshot_without_deleting_rows_first(engine: Engine) -> None:
    """The snapshot rows of a batch are upserted on the primary key. A DELETE of the batch's
    customers first was planned by PostgreSQL from the snapshot's statistics, which on a first
    sync are an empty table's, and then scanned every row of the target per batch (quadratic)."""
    from sqlalchemy import event

    from syncer.state.store import StateStore

    fill(engine, [1])
    store = StateStore(engine)
    store.analyze()
    seen: list[str] = []

    def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", spy)
    try:
        _settle_applied(store, [(1, "update", "c1@x.test", "h1"), (2, "add", "c2@x.test", "h2")],
                        "applied")  # fmt: skip
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert not [s for s in seen if s.startswith("DELETE FROM SYNCER_MEMBERS")]
    assert [s for s in seen if s.startswith("INSERT INTO SYNCER_MEMBERS")]
    with engine.connect() as conn:
        got = conn.execute(select(MEMBERS.c.customer_id, MEMBERS.c.fields_hash)).all()
    assert sorted(got) == [(1, "h1"), (2, "h2")]
