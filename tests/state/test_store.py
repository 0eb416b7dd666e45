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
