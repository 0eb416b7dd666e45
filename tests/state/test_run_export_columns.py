"""The 0004 migration: runs gain ``left_out``, ``exported`` and ``file``; old rows are kept
(``left_out`` 0), and a rerun after an interrupted upgrade adds only what is missing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, MetaData, Table, insert, inspect, text

from syncer.state.migrate import current_revision, head_revision, upgrade


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("syncer_runs")}


def test_upgrade_from_0003_adds_the_columns_and_keeps_old_runs(engine: Engine) -> None:
    upgrade(engine, "0003")
    assert not {"left_out", "exported", "file"} & _columns(engine)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    meta = MetaData()
    targets = Table("syncer_targets", meta, autoload_with=engine)  # as the 0003 schema has them
    runs = Table("syncer_runs", meta, autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(insert(targets).values(id=1, segment="S", destination="d", created_at=at))
        conn.execute(
            insert(runs).values(
                target_id=1, segment="S", destination="d", trigger="cli", full=False, owner="o",
                started_at=at, outcome="ok", adds=1, updates=0, removes=0, rejections=0,
                retries=0, api_calls=1, pending=0,
            )
        )  # fmt: skip
    upgrade(engine)
    assert {"left_out", "exported", "file"} <= _columns(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT adds, left_out, exported, file FROM syncer_runs")).one()
    assert tuple(row) == (1, 0, None, None)


def test_a_rerun_completes_an_interrupted_upgrade(engine: Engine) -> None:
    upgrade(engine, "0003")
    with engine.begin() as conn:  # as if MariaDB had committed the first ADD COLUMN, then died
        conn.execute(text("ALTER TABLE syncer_runs ADD COLUMN left_out INTEGER DEFAULT 0 NOT NULL"))
    upgrade(engine)
    assert {"left_out", "exported", "file"} <= _columns(engine)
    assert current_revision(engine) == head_revision()
