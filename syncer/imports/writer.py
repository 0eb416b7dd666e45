"""Batched writes for imports: explicit ids, times per database, the external-id mapping.

Rows are dicts of column values; new rows get explicit ids (the largest id + 1, read once per
import: one import at a time per database), so an order and its lines are written together
without reading ids back. Times arrive as naive UTC datetimes; PostgreSQL's ``timestamptz``
columns get them UTC-aware (never read in the session's time zone). Values are always bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text, update

from syncer.db import dialect_of
from syncer.schema import EXTERNAL_IDS

Record = dict[str, Any]


def naive_utc(moment: datetime) -> datetime:
    """A time read back from any database as naive UTC (for comparing with an export's)."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class BatchWriter:
    """Inserts, updates and id mappings for one import, through the caller's transaction."""

    def __init__(self, engine: Engine, source: str) -> None:
        self.dialect = dialect_of(engine)
        self.source = source
        self._next: dict[str, int] = {}

    def next_id(self, conn: Connection, table: Table) -> int:
        if table.name not in self._next:
            largest = conn.execute(select(func.max(table.c.id))).scalar()
            self._next[table.name] = int(largest or 0) + 1
        value = self._next[table.name]
        self._next[table.name] = value + 1
        return value

    def time(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC) if self.dialect == "postgresql" else moment

    def insert(self, conn: Connection, table: Table, rows: Sequence[Record]) -> None:
        if rows:
            conn.execute(insert(table), [self._bind(r) for r in rows])

    def update(self, conn: Connection, table: Table, row_id: int, changes: Record) -> None:
        if changes:
            conn.execute(update(table).where(table.c.id == row_id).values(self._bind(changes)))

    def _bind(self, row: Record) -> Record:
        return {k: self.time(v) if isinstance(v, datetime) else v for k, v in row.items()}

    def mapped(self, conn: Connection, kind: str, keys: Iterable[str]) -> dict[str, int]:
        """external id -> native id, for the ``keys`` already imported."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        t = EXTERNAL_IDS
        query = select(t.c.external_id, t.c.native_id).where(
            t.c.source == self.source, t.c.kind == kind, t.c.external_id.in_(wanted)
        )
        return {r.external_id: r.native_id for r in conn.execute(query)}

    def map_ids(self, conn: Connection, kind: str, pairs: Sequence[tuple[str, int]]) -> None:
        rows = [
            {"source": self.source, "kind": kind, "external_id": key, "native_id": native}
            for key, native in pairs
        ]
        self.insert(conn, EXTERNAL_IDS, rows)

    def finish(self, conn: Connection, tables: Sequence[Table]) -> None:
        """After explicit ids: move PostgreSQL's id sequences past the largest id."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            largest = conn.execute(select(func.max(table.c.id))).scalar() or 0
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                {"t": table.name, "v": largest + 1},
            )
