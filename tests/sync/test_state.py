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
