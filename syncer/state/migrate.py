"""Run the packaged Alembic migrations of the state tables, with a Config built in code.

Policy (used by ``syncer sync`` and the scheduler through ``ensure_schema``): a state database
with no ``syncer_`` tables yet is created automatically (new tables only, nothing else touched);
one at an older revision is an error asking for ``syncer db upgrade``, so a schema change on a
shared database is always a deliberate step.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from syncer.errors import ConfigError, DatabaseError

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "syncer_alembic_version"


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
    """The state schema's revision in this database, None if it was never created."""
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    except SQLAlchemyError as err:
        raise DatabaseError(f"cannot read the state schema version: {_first_line(err)}") from err


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the state tables to ``revision``; returns (before, after)."""
    before = current_revision(engine)
    try:
        with engine.begin() as conn:
            cfg = _config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as err:
        raise DatabaseError(f"state schema upgrade failed: {_first_line(err)}") from err
    after = current_revision(engine)
    assert after is not None
    return before, after


def ensure_schema(engine: Engine, *, create_if_empty: bool = True) -> None:
    """Make sure the state tables are current (see the module docstring for the policy)."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None and create_if_empty and not _has_state_tables(engine):
        try:
            upgrade(engine)
        except DatabaseError:
            if current_revision(engine) != head:  # lost a race with another process: fine
                raise
        return
    where = engine.url.render_as_string(hide_password=True)
    raise ConfigError(
        f"the state database {where} is at schema revision {current or 'none'}, "
        f"this syncer needs {head}",
        hint="run `syncer db upgrade` first.",
    )


def _has_state_tables(engine: Engine) -> bool:
    names = inspect(engine).get_table_names()
    return any(n.startswith("syncer_") and n != VERSION_TABLE for n in names)


def _first_line(err: SQLAlchemyError) -> str:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    return text.splitlines()[0] if text else type(err).__name__
