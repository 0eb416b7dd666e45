"""``syncer source check``: does the shop's database hold what ``source.yaml`` maps?

Every mapped table and column must exist with a usable type; every model must run. The report
says what each column reads from, which fields are unavailable and why, and a few sample rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, inspect, select
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import SQLAlchemyError

from syncer.source.model import SourceFile
from syncer.source.needs import NEEDS
from syncer.source.tables import COLUMNS, LOGICAL, NATIVE, Source, build_source, raw_columns

SAMPLE_ROWS = 3
NUMERIC = (sqltypes.Numeric, sqltypes.Integer, sqltypes.Float, sqltypes.String, sqltypes.Text)
TIMES = (sqltypes.DateTime, sqltypes.Date, sqltypes.String, sqltypes.Text, sqltypes.TIMESTAMP)


@dataclass
class Report:
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"tables": self.tables, "unavailable": self.unavailable, "problems": self.problems}


def _reason(err: SQLAlchemyError) -> str:
    orig = getattr(err, "orig", None) or err
    return (str(orig).strip().splitlines() or ["error"])[0]


def _usable(kind: Any, native: Any, money: bool) -> bool:
    if isinstance(kind, sqltypes.NullType):
        return True  # SQLite: a column declared without a type
    if money or isinstance(native, sqltypes.Integer):
        return isinstance(kind, NUMERIC)
    if isinstance(native, sqltypes.DateTime):
        return isinstance(kind, TIMES)
    return True


def _check_table(conn: Connection, name: str, spec: SourceFile, report: Report) -> None:
    t = spec.tables[name]
    assert t.table is not None
    shop_table = spec.prefix + t.table
    insp = inspect(conn)
    if not insp.has_table(shop_table):
        report.problems.append(f"tables.{name}: table {shop_table!r} does not exist")
        return
    found = {c["name"].lower(): c for c in insp.get_columns(shop_table)}
    for col, c in raw_columns(name, t, spec).items():
        shop_col = c.column or col
        info = found.get(shop_col.lower())
        if info is None:
            report.problems.append(
                f"tables.{name}.columns.{col}: column {shop_table}.{shop_col} does not exist"
            )
        elif not _usable(info["type"], NATIVE[name].c[col].type, c.money is not None):
            report.problems.append(
                f"tables.{name}.columns.{col}: {shop_table}.{shop_col} is {info['type']}, "
                f"not a usable type for {col}"
            )


def check_source(conn: Connection, spec: SourceFile, source: Source) -> Report:
    """The report for ``source`` (built from ``spec``, preset applied) over ``conn``."""
    report = Report()
    # the samples show the person key as the folded email it is made of, never its digest
    shown = build_source(spec, source.origin, digest=False) if source.by_email else source
    for name in LOGICAL:
        t = spec.tables[name]
        if name in source.absent:
            report.tables[name] = {"absent": source.absent[name]}
            continue
        where = f"{spec.prefix}{t.table}" if t.table is not None else "model"
        columns = {
            col: source.reads.get(f"{name}.{col}")
            or f"not mapped: {source.unmapped.get(f'{name}.{col}', '')}"
            for col in COLUMNS[name]
        }
        entry: dict[str, Any] = {"reads": where, "columns": columns, "sample": []}
        report.tables[name] = entry
        if t.table is not None:
            before = len(report.problems)
            _check_table(conn, name, spec, report)
            if len(report.problems) > before:
                continue
        sub = shown.table(name)
        try:
            rows = conn.execute(select(sub).limit(SAMPLE_ROWS)).mappings().all()
            entry["sample"] = [{k: v for k, v in r.items() if v is not None} for r in rows]
        except SQLAlchemyError as err:
            conn.rollback()
            report.problems.append(f"tables.{name}: reading it failed: {_reason(err)}")
    if source.by_email and "customers" in source.tables and not report.problems:
        c = source.customers.c
        query = select(func.count(), func.count(func.distinct(c.person)))
        total, people = conn.execute(query).one()
        if total != people:
            report.problems.append(
                f"tables.customers: {total - people} row(s) repeat an email; with identity: email "
                "the customers table needs one row per lower-cased, trimmed email"
            )
    for name in NEEDS:
        why = source.missing(name)
        if why is not None:
            report.unavailable[name] = why
    return report
