"""The staged tagged set of ``--full`` (``syncer.state.tagged``) on each backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, insert, select

from syncer.state import tagged
from syncer.state.migrate import upgrade
from syncer.state.store import MEMBERS, TARGETS, StateStore

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def store_with(engine: Engine, applied: list[int], page_size: int = 3) -> StateStore:
    upgrade(engine)
    with engine.begin() as conn:
        for t in (1, 2):
            conn.execute(insert(TARGETS).values(id=t, segment="s", destination=f"d{t}",
                                                created_at=NOW))  # fmt: skip
        if not applied:
            return StateStore(engine, page_size=page_size)
        conn.execute(
            insert(MEMBERS),
            [{"target_id": 1, "customer_id": i, "email": f"C{i}@x.test",
              "email_key": f"c{i}@x.test",  # folded, as the store writes it
              "fields_hash": "h", "status": "applied", "updated_at": NOW} for i in applied],
        )  # fmt: skip
    return StateStore(engine, page_size=page_size)


def staged(engine: Engine, target_id: int) -> list[str]:
    q = select(tagged.TAGGED.c.email).where(tagged.TAGGED.c.target_id == target_id)
    with engine.connect() as conn:
        return sorted(conn.execute(q).scalars())


def test_staging_keeps_each_folded_address_once_across_pages(engine: Engine) -> None:
    store = store_with(engine, [])
    tagged.stage(store, 2, ["other@x.test"])
    emails = ["b@x.test", "A@x.test", "b@x.test", " a@X.test ", "c@x.test", "B@x.TEST", "d@x.test"]
    assert tagged.stage(store, 1, emails) == 4  # pages of 3: duplicates within and across
    assert staged(engine, 1) == ["a@x.test", "b@x.test", "c@x.test", "d@x.test"]
    assert tagged.stage(store, 1, ["e@x.test"]) == 1  # staging again replaces the set
    assert staged(engine, 1) == ["e@x.test"] and staged(engine, 2) == ["other@x.test"]
    assert tagged.stage(store, 1, []) == 0 and staged(engine, 1) == []


def test_staging_writes_each_page_in_one_statement_and_reads_nothing_back(engine: Engine) -> None:
    store = store_with(engine, [])
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "syncer_provider_tagged" in statement:
            statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        tagged.stage(store, 1, [f"p{i}@x.test" for i in range(7)] + ["P0@x.test"])  # 3 pages
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements.count("INSERT") == 3
    assert statements.count("SELECT") == 1  # the size, once, at the end; no per-page check
    assert len(staged(engine, 1)) == 7


def test_comparisons_with_the_snapshot_after_staging(engine: Engine) -> None:
    store = store_with(engine, [1, 2, 3, 4, 5])
    tagged.stage(store, 1, ["c1@x.test", "C2@X.TEST", "stranger@x.test", "c9@x.test"])
    assert list(tagged.stray(store, 1)) == ["c9@x.test", "stranger@x.test"]
    assert list(tagged.missing(store, 1)) == [3, 4, 5]
    tagged.clear(store, 1)
    assert staged(engine, 1) == []
