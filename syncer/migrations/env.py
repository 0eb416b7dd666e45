"""Alembic environment for the state tables, driven from ``syncer.state.migrate``.

The connection comes in through ``config.attributes["connection"]``; only ``syncer_`` tables are
considered, and the version is kept in ``syncer_alembic_version`` so a commerce database that
has its own Alembic history is left alone. The caller holds the schema lock and the transaction
(``syncer.state.migrate``); every migration creates only what is missing, so running it again
completes a state that an interrupted run left half-done (MariaDB commits each DDL on its own).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from syncer.state.models import STATE_TABLES

VERSION_TABLE = "syncer_alembic_version"


def _include(obj: object, name: str | None, type_: str, reflected: bool, _other: object) -> bool:
    if type_ == "table":
        return bool(name and name.startswith("syncer_") and name != VERSION_TABLE)
    return True


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run the state migrations with `syncer db upgrade`")
    target = STATE_TABLES[0].metadata
    context.configure(
        connection=connection,
        target_metadata=target,
        version_table=VERSION_TABLE,
        include_object=_include,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
