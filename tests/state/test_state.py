from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from syncer.errors import ConfigError
from syncer.state.migrate import (
    VERSION_TABLE,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
)
from syncer.state.models import STATE_TABLES


def test_upgrade_creates_prefixed_tables_and_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) is None
    before, after = upgrade(engine)
    assert (before, after) == (None, head_revision())
    names = set(inspect(engine).get_table_names())
    assert {t.name for t in STATE_TABLES} | {VERSION_TABLE} <= names
    assert all(n.startswith("syncer_") for n in names)
    assert upgrade(engine) == (head_revision(), head_revision())


def test_migrations_match_the_models(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_object": lambda _o, name, type_, _r, _c: (
                    type_ != "table"
                    or (bool(name) and name.startswith("syncer_") and name != VERSION_TABLE)
                ),
            },
        )
        diffs = compare_metadata(ctx, STATE_TABLES[0].metadata)
    assert diffs == []


def test_ensure_schema_creates_on_an_empty_database(engine: Engine) -> None:
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()


def test_ensure_schema_refuses_an_old_revision(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'old'"))
    with pytest.raises(ConfigError, match="syncer db upgrade"):
        ensure_schema(engine)


def test_statistics_refresh_makes_snapshot_pages_index_range_scans(engine: Engine) -> None:
    """After a big run the state tables' statistics are refreshed; without them PostgreSQL
    reads each snapshot page with a sort of every remaining row (quadratic in the audience)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from syncer.state.store import MEMBERS, TARGETS, StateStore

    upgrade(engine)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(TARGETS).values(id=1, segment="s", destination="d", created_at=now))
        conn.execute(
            insert(MEMBERS),
            [{"target_id": 1, "customer_id": i, "email": f"c{i}@x.test", "fields_hash": "h",
              "status": "applied", "updated_at": now} for i in range(1, 20001)],
        )  # fmt: skip
    store = StateStore(engine)
    assert store.analyze() is True
    page = (
        select(MEMBERS)
        .where(MEMBERS.c.target_id == 1, MEMBERS.c.customer_id > 100)
        .order_by(MEMBERS.c.customer_id)
        .limit(1000)
    )
    if engine.dialect.name == "postgresql":
        sql = str(page.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
        assert "Sort" not in plan, plan
    assert len(list(store.snapshot(1))) == 20000


def test_upgrade_folds_the_addresses_of_an_existing_snapshot_and_outbox(engine: Engine) -> None:
    """Rows written before the folded-address key existed get it from the migration."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from syncer.state.store import MEMBERS, OUTBOX, TARGETS

    upgrade(engine, "0001")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    old = {"target_id": 1, "customer_id": 7, "email": "Riley.Hall@Example.COM", "fields_hash": "h"}
    with engine.begin() as conn:
        conn.execute(insert(TARGETS).values(id=1, segment="s", destination="d", created_at=now))
        conn.execute(insert(MEMBERS).values(status="applied", updated_at=now, **old))
        conn.execute(
            insert(OUTBOX).values(kind="remove", consent=False, attempts=0, created_at=now, **old)
        )
    assert upgrade(engine) == ("0001", head_revision())
    with engine.connect() as conn:
        assert conn.execute(select(MEMBERS.c.email_key)).scalar_one() == "riley.hall@example.com"
        assert conn.execute(select(OUTBOX.c.email_key)).scalar_one() == "riley.hall@example.com"
