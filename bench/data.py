"""The benchmark databases: sample data generated once per (database, size) and reused.

SQLite: one file per size under ``var/bench/`` (``SYNCER_BENCH_DATA_DIR`` moves it).
PostgreSQL: one schema per size (``syncer_bench_<size>``) reached through
``?options=-csearch_path=...``; state databases get
their own scratch schemas, created and dropped by the run. A marker table records the seed,
size and ``as_of`` of the data, so a later run with the same three reuses it (1,000,000
customers take minutes to generate) and any other value regenerates it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from syncer.db import make_engine
from syncer.errors import ConfigError
from syncer.sample.shop import generate
from syncer.schema import create_commerce_schema, drop_commerce_schema

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("SYNCER_BENCH_DATA_DIR") or ROOT / "var" / "bench")
SEED = 20240601
AS_OF = datetime(2025, 6, 1, tzinfo=UTC)
POSTGRES_VARS = ("SYNCER_BENCH_POSTGRES_URL", "SYNCER_TEST_POSTGRES_URL")
DATABASES = ("sqlite", "postgresql")

_META = MetaData()
MARKER = Table(
    "bench_marker",
    _META,
    Column("seed", Integer, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("as_of", String(40), nullable=False),
)


@dataclass(frozen=True)
class Database:
    """One benchmark backend: ``kind`` is sqlite or postgresql; ``server`` the PG server URL."""

    kind: str
    server: str | None = None

    def commerce_url(self, size: int) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{VAR / f'commerce-{size}.db'}"
        return self._schema_url(f"syncer_bench_{size}")

    def _schema_url(self, schema: str) -> str:
        assert self.server is not None
        url = make_url(self.server).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def create_schema(self, schema: str, *, fresh: bool) -> None:
        """Create PostgreSQL schema ``schema`` (dropped first when ``fresh``)."""
        assert self.server is not None
        if not schema.replace("_", "").isalnum():
            raise ConfigError(f"schema name {schema!r} must be letters, digits and _")
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if fresh:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        finally:
            admin.dispose()

    def drop_schema(self, schema: str) -> None:
        assert self.server is not None
        admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()

    @contextmanager
    def scratch_state(self, label: str) -> Iterator[str]:
        """A URL to an empty state database, removed on exit."""
        if self.kind == "sqlite":
            path = VAR / f"state-{label}.db"
            _remove_sqlite(path)
            try:
                yield f"sqlite:///{path}"
            finally:
                _remove_sqlite(path)
            return
        schema = f"syncer_bench_state_{label}".replace("-", "_")
        self.create_schema(schema, fresh=True)
        try:
            yield self._schema_url(schema)
        finally:
            self.drop_schema(schema)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def postgres_server() -> str | None:
    for var in POSTGRES_VARS:
        url = os.environ.get(var)
        if url:
            return url
    return None


def databases(wanted: list[str]) -> list[Database]:
    """The backends to measure: SQLite always when asked, PostgreSQL when its URL is set."""
    out: list[Database] = []
    for kind in wanted:
        if kind not in DATABASES:
            raise ConfigError(f"--databases: unknown {kind!r}; use {', '.join(DATABASES)}")
        if kind == "postgresql":
            server = postgres_server()
            if server is None:
                print("postgresql skipped: set SYNCER_BENCH_POSTGRES_URL (or SYNCER_TEST_...)")
                continue
            out.append(Database(kind, server))
        else:
            out.append(Database(kind))
    return out


def _marker_matches(engine: Engine, size: int) -> bool:
    try:
        with engine.connect() as conn:
            row = conn.execute(select(MARKER)).first()
    except SQLAlchemyError:
        return False
    return row is not None and tuple(row) == (SEED, size, AS_OF.isoformat())


def prepare(db: Database, size: int, *, log: bool = True) -> str:
    """The commerce URL for ``size`` customers on ``db``, generating the data if needed."""
    VAR.mkdir(parents=True, exist_ok=True)
    if db.kind == "postgresql":
        db.create_schema(f"syncer_bench_{size}", fresh=False)
    url = db.commerce_url(size)
    engine = make_engine(url)
    try:
        if _marker_matches(engine, size):
            return url
        if log:
            print(f"{db.kind}: generating {size:,} customers (seed {SEED}, as of {AS_OF:%Y-%m-%d})")
        started = time.perf_counter()
        _META.drop_all(engine)
        drop_commerce_schema(engine)
        create_commerce_schema(engine)
        generate(engine, customers=size, seed=SEED, as_of=AS_OF)
        _META.create_all(engine)
        with engine.begin() as conn:
            conn.execute(MARKER.insert().values(seed=SEED, customers=size, as_of=AS_OF.isoformat()))
        if log:
            print(f"{db.kind}: {size:,} customers in {time.perf_counter() - started:.0f}s")
        return url
    finally:
        engine.dispose()
