"""The logical tables segments read, as SQLAlchemy selectables with the native column names
and types (``syncer/schema.py``): the Core tables themselves for the native schema, or, for a
mapped shop, one aliased subquery per table over the shop's table or model SQL that applies
the declared conversions. The compiler reads them from a ``Source`` and still builds ONE select
with bound parameters: model SQL is wrapped as ``text(...).columns(...)``, never spliced with
values (preset options reach it as bound parameters ``:name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    FromClause,
    String,
    Table,
    TypeDecorator,
    case,
    cast,
    column,
    false,
    func,
    null,
    select,
    table,
    text,
    true,
    type_coerce,
)
from sqlalchemy.engine import Dialect

from syncer.schema import COMMERCE_TABLES
from syncer.source.model import AttributeSpec, ColumnSpec, SourceFile, TableSpec
from syncer.source.needs import NEEDS
from syncer.source.person_key import person_key

NATIVE: dict[str, Table] = {t.name: t for t in COMMERCE_TABLES}
LOGICAL = tuple(NATIVE)
COLUMNS: dict[str, tuple[str, ...]] = {n: tuple(c.key for c in t.c) for n, t in NATIVE.items()}


class LocalTime(TypeDecorator[datetime]):
    """A time column stored as local wall-clock time in ``zone``: bounds compared with it are
    converted to that zone (``sqlparts``), values read are returned in UTC."""

    impl = DateTime
    cache_ok = True

    def __init__(self, zone: str) -> None:
        super().__init__()
        self.zone = zone

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        local = value if value.tzinfo else value.replace(tzinfo=ZoneInfo(self.zone))
        return local.astimezone(UTC)


def column_time(col: ColumnElement[Any], at: datetime) -> datetime:
    """``at`` (UTC) as it compares with ``col``: local wall-clock time for a LocalTime."""
    zone = getattr(col.type, "zone", None)
    if zone is None:
        return at
    return at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


@dataclass(frozen=True)
class Source:
    """The shop's database as Syncer's logical tables."""

    tables: Mapping[str, FromClause]
    absent: Mapping[str, str] = field(default_factory=dict)  # table -> why
    unmapped: Mapping[str, str] = field(default_factory=dict)  # "table.column" -> why
    reads: Mapping[str, str] = field(default_factory=dict)  # "table.column" -> what it reads
    by_email: bool = False
    origin: str = "the native schema"
    # declared attributes (docs/source.md "Attributes") and the shop's customers table with
    # its id column, which column / expression attributes read (None: mapped by a model)
    attributes: Mapping[str, AttributeSpec] = field(default_factory=dict)
    customers_table: tuple[str, str] | None = ("customers", "id")

    def table(self, name: str) -> FromClause:
        return self.tables[name]

    @property
    def native(self) -> bool:
        """Whether this is Syncer's own schema (no mapping)."""
        return all(self.tables.get(name) is table for name, table in NATIVE.items())

    @property
    def customers(self) -> FromClause:
        return self.tables["customers"]

    @property
    def person(self) -> ColumnElement[Any]:
        """The customers' key that ``customer_id`` of every other table equals."""
        customers = self.customers
        return customers.c.person if self.by_email else customers.c.id

    def missing(self, field_name: str) -> str | None:
        """Why ``field_name`` is unavailable over this source, or None."""
        for need in NEEDS.get(field_name, ()):
            name = need.split(".")[0]
            if name in self.absent:
                why = self.absent[name]
                return f"needs the {name} table, which {self.origin} declares absent ({why})"
            if need in self.unmapped:
                return f"needs {need}, which {self.origin} does not map ({self.unmapped[need]})"
        return None


def native_source() -> Source:
    """Syncer's own schema (no mapping file): the Core tables, SQL unchanged."""
    return Source(tables=dict(NATIVE))


def build_source(spec: SourceFile, origin: str, *, digest: bool = True) -> Source:
    """``spec`` (preset already applied) as a Source; ``digest=False``: the person key as the
    folded email on every database (what ``syncer source check`` shows), never compared."""
    tables: dict[str, FromClause] = {}
    absent: dict[str, str] = {}
    unmapped: dict[str, str] = {}
    reads: dict[str, str] = {}
    for name in LOGICAL:
        t = spec.tables[name]
        if t.absent is not None:
            absent[name] = t.absent
            continue
        tables[name] = _mapped(name, t, spec, unmapped, reads, digest=digest)
    c = spec.tables["customers"]
    id_spec = c.columns.get("id")
    shop = (spec.prefix + c.table, (id_spec and id_spec.column) or "id") if c.table else None
    return Source(
        tables, absent, unmapped, reads, spec.identity == "email", origin, spec.attributes, shop
    )


def raw_columns(name: str, t: TableSpec, spec: SourceFile) -> dict[str, ColumnSpec]:
    """native column -> its spec, for the columns the mapping gives (not left unmapped)."""
    out: dict[str, ColumnSpec] = {}
    for col in COLUMNS[name]:
        given = t.columns.get(col, ColumnSpec()) if col in t.columns else ColumnSpec()
        if given is None or given.unmapped:
            continue
        if given.requires and spec.options.get(given.requires) in (None, ""):
            continue
        out[col] = given
    return out


def _mapped(
    name: str,
    t: TableSpec,
    spec: SourceFile,
    unmapped: dict[str, str],
    reads: dict[str, str],
    *,
    digest: bool = True,
) -> FromClause:
    native = NATIVE[name]
    given = raw_columns(name, t, spec)
    names = {col: (c.column or col) for col, c in given.items()}
    raw: FromClause
    if t.table is not None:
        shop_table = spec.prefix + t.table
        raw = table(shop_table, *(column(n) for n in dict.fromkeys(names.values())))
        where = shop_table
    else:
        sql = (t.model or "").replace("{prefix}", spec.prefix)
        clause = text(sql)
        binds = {k: v for k, v in spec.options.items() if k in clause._bindparams}
        if binds:
            clause = clause.bindparams(**binds)
        cols = clause.columns(*(column(n) for n in dict.fromkeys(names.values())))
        raw = cols.subquery(f"{name}_model")
        where = "model"
    out: list[ColumnElement[Any]] = []
    for col in COLUMNS[name]:
        kind = native.c[col].type
        if col not in given:
            spec_col = t.columns.get(col)
            why = (spec_col.note if spec_col else None) or "not mapped"
            if spec_col and spec_col.requires:
                why = spec_col.note or f"set options.{spec_col.requires}"
            unmapped[f"{name}.{col}"] = why
            out.append(cast(null(), kind).label(col))
            continue
        c = given[col]
        reads[f"{name}.{col}"] = f"{where}.{names[col]}" + _said(c)
        expr = _convert(raw.c[names[col]], col, kind, c, spec)
        if spec.identity == "email" and col == "customer_id":
            expr = _person_key(raw.c[names[col]], c, digest=digest)
        out.append(expr.label(col))
    if spec.identity == "email" and name == "customers":
        person = _person_key(raw.c[names["email"]], given["email"], digest=digest)
        out.append(person.label("person"))
    return select(*out).select_from(raw).subquery(name)


def _person_key(raw: ColumnElement[Any], c: ColumnSpec, *, digest: bool) -> ColumnElement[Any]:
    """The email as the person key: lower-cased and trimmed, unless the model already is, and
    compared as ``person_key`` (its digest on MariaDB; not with ``digest=False``)."""
    email = raw if c.normalized else func.lower(func.trim(raw))
    return person_key(email) if digest else email


def _said(c: ColumnSpec) -> str:
    parts = []
    if c.money == "decimal":
        parts.append("decimal x 100")
    if c.values:
        parts.append("values mapped")
    if c.true_values:
        parts.append("true: " + "/".join(c.true_values))
    if c.timezone:
        parts.append(c.timezone)
    return f" ({', '.join(parts)})" if parts else ""


def _convert(
    raw: ColumnElement[Any], col: str, kind: Any, c: ColumnSpec, spec: SourceFile
) -> ColumnElement[Any]:
    if c.money == "decimal":
        return cast(func.round(raw * 100), BigInteger)
    if c.values:
        whens = [(raw == k, cast(v, String(40))) for k, v in c.values.items()]
        other = cast(c.other, String(40)) if c.other is not None else cast(raw, String(200))
        return case(*whens, else_=other)
    if c.true_values:
        truthy = [v.lower() for v in c.true_values]
        folded = func.lower(cast(raw, String(200)))
        return case((folded.in_(truthy), true()), else_=false())
    if isinstance(kind, DateTime):
        zone = c.timezone or spec.timezone
        if zone != "UTC":
            return type_coerce(raw, LocalTime(zone))
    return type_coerce(raw, kind)
