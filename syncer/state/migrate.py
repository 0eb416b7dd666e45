"""Run the packaged Alembic migrations of the state tables, with a Config built in code.

Policy (used by ``syncer sync`` and the scheduler through ``ensure_schema``): a state database
with no version row yet is created automatically (new tables only, nothing else touched), and a
half-created one (an interrupted first run: some ``syncer_`` tables, no version row, or tables
missing under the current version) is completed the same way, keeping the rows of the tables
that exist; one at an older or unknown revision is an error asking for ``syncer db upgrade``,
so a schema change on a shared database is always a deliberate step.

Creating or upgrading holds a lock, so several processes making their first run at once
serialise: SQLite ``BEGIN IMMEDIATE`` and PostgreSQL ``pg_advisory_xact_lock``, each around one
transaction (their DDL is transactional, so a crash leaves nothing half-done); MariaDB
``GET_LOCK`` (its DDL commits statement by statement, so the migrations only create what is
missing and a rerun completes what a crash left).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, delete, inspect, table, text
from sqlalchemy.exc import SQLAlchemyError

from syncer.db import dialect_of, mask_url
from syncer.errors import ConfigError, DatabaseError
from syncer.state.models import STATE_TABLES

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "syncer_alembic_version"
LOCK_NAME = "syncer_state_schema"  # MariaDB GET_LOCK name (with the database name appended)
LOCK_KEY = 0x73796E63  # PostgreSQL advisory lock key ("sync")
LOCK_WAIT_SECONDS = 120


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The state schema's revision in this database, None if it was never created (or the
    version table is there but empty)."""
    try:
        with engine.connect() as conn:
            return _revision(conn)
    except SQLAlchemyError as err:
        raise DatabaseError(f"cannot read the state schema version: {_first_line(err)}") from err


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the state tables to ``revision`` under the schema lock, completing a half-created
    state on the way; returns (before, after)."""
    try:
        with _schema_lock(engine) as conn:
            before = _revision(conn)
            if before == head_revision() and _missing_tables(conn):
                # The version row claims head but tables are gone: the migrations only create
                # what is missing, so running them again from the start completes the state.
                conn.execute(delete(table(VERSION_TABLE)))
            cfg = _config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            after = _revision(conn)
    except SQLAlchemyError as err:
        raise DatabaseError(f"state schema upgrade failed: {_first_line(err)}") from err
    except CommandError as err:
        raise ConfigError(
            f"state schema upgrade failed: {err}",
            hint=f"this syncer knows revisions up to {head_revision()}.",
        ) from err
    assert after is not None
    return before, after


def ensure_schema(engine: Engine, *, create_if_empty: bool = True) -> None:
    """Make sure the state tables are current (see the module docstring for the policy)."""
    current = current_revision(engine)
    head = head_revision()
    if current == head and not _missing(engine):
        return
    if current in (None, head) and create_if_empty:
        upgrade(engine)  # under the lock; a process that got there first leaves nothing to do
        return
    if create_if_empty:
        # An older revision may be another process's first run half-way (MariaDB commits each
        # revision as it goes): wait for the schema lock, then look again.
        with _schema_lock(engine):
            pass
        if current_revision(engine) == head and not _missing(engine):
            return
        current = current_revision(engine)
    raise ConfigError(
        f"the state database {mask_url(engine.url)} is at schema revision "
        f"{current or 'none'}, this syncer needs {head}",
        hint="run `syncer db upgrade` first.",
    )


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection holding the state schema lock, committed on success, rolled back on error."""
    with engine.connect() as conn:
        kind = dialect_of(engine)
        name = f"{LOCK_NAME}:{engine.url.database or ''}"[:64]
        if kind == "sqlite":
            # The write lock now (waiting up to the busy timeout), and every DDL in this one
            # transaction: the driver opens none by itself before CREATE TABLE.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif kind == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        elif kind == "mysql":
            got = conn.execute(
                text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": LOCK_WAIT_SECONDS}
            ).scalar()
            if got != 1:
                raise DatabaseError(
                    f"waited {LOCK_WAIT_SECONDS}s for another process creating or upgrading the "
                    f"state schema in {mask_url(engine.url)}; run `syncer db upgrade` again"
                )
        try:
            yield conn
            conn.commit()
        finally:
            if kind == "mysql":  # a lost connection has released it already
                with suppress(SQLAlchemyError):
                    conn.rollback()
                    conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                    conn.commit()


def _revision(conn: Connection) -> str | None:
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def _missing_tables(conn: Connection | Engine) -> set[str]:
    """State tables of this syncer's models that the database does not have."""
    return {t.name for t in STATE_TABLES} - set(inspect(conn).get_table_names())


def _missing(engine: Engine) -> set[str]:
    try:
        return _missing_tables(engine)
    except SQLAlchemyError as err:
        raise DatabaseError(f"cannot list the state tables: {_first_line(err)}") from err


def _first_line(err: SQLAlchemyError) -> str:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    return mask_url(text.splitlines()[0]) if text else type(err).__name__
