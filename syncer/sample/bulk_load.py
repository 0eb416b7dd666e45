"""Fast bulk inserts of plain row tuples into commerce tables, per database.

PostgreSQL uses ``COPY ... FROM STDIN`` (psycopg 3); SQLite and MariaDB/MySQL use the driver's
``executemany`` on one prepared INSERT (PyMySQL rewrites it into multi-row INSERTs). Rows are
tuples in the order of ``columns``; column and table names come from the schema, values are
always passed as parameters.

Timestamps arrive as naive UTC datetimes. SQLite stores them as text, written in exactly the
format SQLAlchemy uses so compiled queries compare them correctly; PostgreSQL's columns are
``timestamptz``, so they are sent as UTC-aware values (never read in the session's time zone).

On PostgreSQL a large load runs with the tables' secondary indexes and foreign keys set aside
(``defer_indexes``) and rebuilt once at the end (``restore``): maintaining them row by row cost
most of the load's time and grew faster than the data (a B-tree larger than memory, a trigger per
row and foreign key).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from syncer.db import dialect_of

Row = tuple[Any, ...]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def _postgres_value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # timestamptz columns: never the session's time zone
    return value


# (name, definition) of a table's foreign keys and of its indexes that back no constraint
_FOREIGN_KEYS = (
    "SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"
)
_SECONDARY_INDEXES = (
    "SELECT CAST(CAST(i.indexrelid AS regclass) AS text), pg_get_indexdef(i.indexrelid)"
    " FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) AND NOT EXISTS ("
    "SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid"
    " AND k.contype IN ('p', 'u', 'x')) ORDER BY 1"
)


def _catalogue(conn: Connection, query: str, table: Table) -> list[Row]:
    """PostgreSQL's catalogue ``query`` about ``table`` (``:t``, resolved on the search path)."""
    return [tuple(r) for r in conn.execute(text(query), {"t": table.name})]


class BulkWriter:
    """Writes row tuples into tables through one connection (the caller owns the transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = dialect_of(engine)
        self._sql: dict[tuple[str, tuple[str, ...]], tuple[str, bool]] = {}

    def write(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: list[Row]
    ) -> None:
        """Insert ``rows`` (tuples ordered like ``columns``) into ``table``."""
        if not rows:
            return
        if self.dialect == "postgresql":
            self._copy(conn, table, columns, rows)
            return
        sql, positional = self._insert_sql(table, columns)
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            if self.dialect == "sqlite":
                rows = [tuple(_sqlite_value(v) for v in row) for row in rows]
            if positional:
                cursor.executemany(sql, rows)
            else:
                cursor.executemany(sql, [dict(zip(columns, row, strict=True)) for row in rows])
        finally:
            cursor.close()

    def _insert_sql(self, table: Table, columns: Sequence[str]) -> tuple[str, bool]:
        key = (table.name, tuple(columns))
        if key not in self._sql:
            stmt = insert(table).values({c: None for c in columns})
            compiled = stmt.compile(dialect=self.engine.dialect, column_keys=list(columns))
            if compiled.positional:
                order = list(compiled.positiontup or [])
                if order != list(columns):
                    raise ValueError(f"unexpected parameter order for {table.name}: {order}")
            self._sql[key] = (compiled.string, compiled.positional)
        return self._sql[key]

    def _copy(
        self, conn: Connection, table: Table, columns: Sequence[str], rows: list[Row]
    ) -> None:
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(tuple(_postgres_value(v) for v in row))

    def defer_indexes(self, conn: Connection, tables: Sequence[Table]) -> list[str]:
        """PostgreSQL: drop the tables' secondary indexes and foreign keys; return the DDL that
        recreates them, for ``restore`` after the load (other databases: nothing, ``[]``).

        The DDL comes from the catalogue (``pg_get_indexdef``, ``pg_get_constraintdef``), so what
        is rebuilt is exactly what was there; indexes behind a primary key or unique constraint
        stay. Should the load fail, ``syncer data generate --reset`` starts from a new schema.
        """
        if self.dialect != "postgresql":
            return []
        recreate: list[str] = []
        for table in tables:
            qualified = _catalogue(conn, "SELECT CAST(CAST(:t AS regclass) AS text)", table)[0][0]
            for name, definition in _catalogue(conn, _FOREIGN_KEYS, table):
                conn.exec_driver_sql(f"ALTER TABLE {qualified} DROP CONSTRAINT {name}")
                recreate.append(f"ALTER TABLE {qualified} ADD CONSTRAINT {name} {definition}")
            for name, definition in _catalogue(conn, _SECONDARY_INDEXES, table):
                conn.exec_driver_sql(f"DROP INDEX {name}")
                recreate.insert(0, definition)  # indexes first, then the keys
        return recreate

    def restore(self, conn: Connection, recreate: Sequence[str]) -> None:
        """Run the DDL ``defer_indexes`` returned (with memory enough to sort in one pass)."""
        if not recreate:
            return
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in recreate:
            conn.exec_driver_sql(statement)

    def finish(self, conn: Connection, tables: Sequence[Table]) -> None:
        """After explicit ids: move PostgreSQL's id sequences past the largest id."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            if "id" not in table.c:
                continue
            largest = conn.execute(select(func.max(table.c.id))).scalar() or 0
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                {"t": table.name, "v": largest + 1},
            )

    def analyze(self, tables: Sequence[Table]) -> None:
        """Refresh the planner's statistics after a bulk load (in its own transaction).

        Without them SQLite may drive a segment's EXISTS subqueries from the wrong index and
        take minutes instead of milliseconds on 100,000 customers. PostgreSQL's tables are
        vacuumed too (VACUUM cannot run in a transaction): their visibility maps are set, so
        index-only scans work from the start and no background vacuum of the new rows runs
        later, in the middle of whatever is measured or synced next.
        """
        quote = self.engine.dialect.identifier_preparer.quote
        names = ", ".join(quote(t.name) for t in tables)
        if self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {names}")
            return
        with self.engine.begin() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql(f"ANALYZE TABLE {names}").all()
