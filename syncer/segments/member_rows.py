"""The members' own rows, copied once into temporary tables that figures about them read.

    rows = MemberRows()
    query = ...  # compiled over rows.source (``here(rows.source)``): notes the tables read
    with rows.filled(conn, members_select):   # copies of those tables, dropped on exit
        conn.execute(query)

``customers`` holds the members (every column, from ``members_select``: a select of the
customers' own columns), each table keyed by customer (orders, visits, ...) the members' rows
of it, ``order_lines`` the lines of those orders; the catalog (products, collections,
product_collections) is read as it is. A rule compiled over ``rows.source`` gives, for every
member, exactly what it gives over the whole shop: every field reads the customer's
own rows only. So the figures and the other segments' rules over the members read a few
thousand rows each instead of a whole table (which PostgreSQL scans for a join to many
members, costing about one count per figure).

Each copy is a TEMPORARY table of the connection with the native table's columns (on MariaDB
also its primary key and ``(customer_id, ...)`` index, filled by one INSERT ... SELECT; on
PostgreSQL made by CREATE TABLE AS, no key or index: it hashes them), which walks the native index
from the members (PostgreSQL: ``= ANY(ARRAY(...))``, one index scan, where a join would scan
the table), analysed on PostgreSQL and SQLite (joins to it get good plans), and dropped on exit.
Only the tables the queries compiled over ``rows.source`` read are copied (``customers`` and
``orders`` always: the others are restricted through them), so compile them all first.

``filled(..., sample=N)`` keeps N members of a larger segment in the copies (all the others
are restricted through ``customers``), the first N in a fixed scatter of their ids
(``scatter``), after counting the whole segment and its consenting members (``Whole``).

On SQLite only ``customers`` is copied; every other table is a TEMPORARY VIEW of the native
table restricted to the members (``customer_id IN (SELECT id FROM <members>)``), which SQLite
folds into each query and reads through the native ``(customer_id, ...)`` index, as it would
the copy: writing the copies cost more than they saved (Product on sale, half of 100,000
customers: insights 7.2 counts with the copies; README "Insights ÷ count").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    FromClause,
    Index,
    MetaData,
    Select,
    Table,
    any_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from syncer.source.active import active
from syncer.source.tables import NATIVE

PREFIX = "syncer_rows_"
# PostgreSQL's statistics of a copy: a sample of 3,000 rows (not 30,000) is enough for the row
# counts and the spread of ids the join plans need, at a tenth of the cost
STATISTICS_TARGET = 10
CATALOG = ("products", "collections", "product_collections")  # small, nobody's own rows
# every table holding a customer's own rows, in the order they are copied
KEYED = tuple(name for name in NATIVE if name not in CATALOG)


def _copy_of(native: Table, metadata: MetaData) -> Table:
    """A temporary table like ``native``: its columns and primary key, no foreign keys."""
    columns = [
        Column(c.name, c.type, primary_key=c.primary_key, autoincrement=False) for c in native.c
    ]
    return Table(PREFIX + native.name, metadata, *columns, prefixes=["TEMPORARY"])


def _indexes(native: Table, copy: Table) -> list[Index]:
    """``native``'s indexes that lead with the key the compiler joins on, over ``copy``."""
    out = []
    for index in native.indexes:
        names = [c.name for c in index.columns]
        if names[0] == "customer_id" or (native.name == "order_lines" and names == ["order_id"]):
            out.append(Index(f"{copy.name}_{'_'.join(names)}", *(copy.c[n] for n in names)))
    return out


class CreateAs(Executable, ClauseElement):
    """``CREATE TEMPORARY TABLE <table> AS <select>`` (columns in the table's order)."""

    inherit_cache = False

    def __init__(self, table: Table, query: Select[Any]) -> None:
        self.table, self.query = table, query


@compiles(CreateAs)
def _create_as(element: CreateAs, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.preparer.format_table(element.table)
    return f"CREATE TEMPORARY TABLE {name} AS {compiler.process(element.query, **kw)}"


@contextmanager
def postgresql_settings(conn: Connection, values: Mapping[str, str]) -> Iterator[None]:
    """PostgreSQL's settings ``values`` for the statements inside (this transaction's only),
    then as they were; nothing on the other databases. After a failure they are left as set:
    the failed transaction's rollback restores them."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = {}
    for name, value in values.items():
        before[name] = conn.execute(select(func.current_setting(name))).scalar_one()
        conn.execute(select(func.set_config(name, value, True)))
    yield
    for name, value in before.items():
        conn.execute(select(func.set_config(name, value, True)))


def analyse(conn: Connection, copy: Table) -> None:
    """Statistics of ``copy`` (a temporary table) on PostgreSQL and SQLite (joins to it get
    good plans); MariaDB has no use for them here (it walks the copies' indexes)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"ANALYZE {copy.name}"))
    elif conn.dialect.name == "postgresql":
        target = {"default_statistics_target": str(STATISTICS_TARGET)}
        with postgresql_settings(conn, target):
            conn.execute(text(f"ANALYZE {copy.name}"))


def drop_quietly(conn: Connection, tables: Iterable[Table]) -> None:
    """Drop ``tables`` after a statement failed, the failure being what the caller sees: where
    a drop fails too (PostgreSQL refuses every statement of a failed transaction, whose
    rollback drops them; SQLite a table a cursor still reads) the table is left to the next
    call, which drops it before making it again."""
    for table in tables:
        with suppress(SQLAlchemyError):
            table.drop(conn)


def _name(conn: Connection, table: Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)


def _drop_view(conn: Connection, copy: Table) -> None:
    conn.execute(text(f"DROP VIEW IF EXISTS {_name(conn, copy)}"))


def _view(conn: Connection, copy: Table, rows: Select[Any]) -> None:
    """``copy`` as a temporary view of ``rows`` (SQLite): the members' rows read in place,
    through the native ``(customer_id, ...)`` index, when a query reads them."""
    _drop_view(conn, copy)
    sql = rows.compile(dialect=conn.dialect)
    assert not sql.params, sql.params  # identifiers only: the restriction binds no value
    conn.execute(text(f"CREATE TEMPORARY VIEW {_name(conn, copy)} AS {sql}"))


@dataclass(frozen=True)
class Whole:
    """The whole segment, counted before any sampling: its members and how many consent."""

    size: int
    consenting: int


def _whole(conn: Connection, members: Table) -> Whole:
    consenting = func.sum(case((members.c.accepts_marketing, 1), else_=0))
    counted = select(func.count().label("size"), consenting.label("consenting"))
    row = conn.execute(counted.select_from(members)).one()
    return Whole(int(row.size), int(row.consenting or 0))


# The sample's order: multiplicative hashing. An id (modulo 2**31) times the odd constant nearest
# 2**32 / golden ratio, modulo 2**32, is a bijection of the ids below 2**31 (no two members tie)
# that spreads consecutive ids (customers who signed up the same week) evenly over the whole
# range, so the first N in this order are spread evenly over the ids: a fixed, stratified
# sample, not a random one (the same members in every run while the segment is the same). The
# product stays below 2**63, so every database computes the same integers (SQLite would turn an
# overflow into a float).
SCATTER, SCATTER_BELOW, SCATTER_MOD = 2_654_435_769, 2**31, 2**32


def scatter(ids: Any) -> Any:
    """The sampling order of the customer ids ``ids`` (a column): first in order, first kept."""
    below, factor = literal(SCATTER_BELOW, BigInteger), literal(SCATTER, BigInteger)
    mod = literal(SCATTER_MOD, BigInteger)
    return ((cast(ids, BigInteger) % below) * factor) % mod


def _sampled(conn: Connection, members: Table, keep: int) -> None:
    """Delete all but ``keep`` of ``members`` (a copy): those first in ``scatter`` order. The
    cut is read first (one number) so the delete reads the copy once: MariaDB refuses a
    temporary table twice in one statement."""
    order = scatter(members.c.id)
    cut = conn.execute(select(order).order_by(order).offset(keep - 1).limit(1)).scalar_one()
    conn.execute(delete(members).where(order > cut))


class _Noting(Mapping[str, FromClause]):
    """The tables of a source, noting in ``read`` the name of every table asked for."""

    def __init__(self, tables: Mapping[str, FromClause], read: set[str]) -> None:
        self._tables, self.read = tables, read

    def __getitem__(self, name: str) -> FromClause:
        self.read.add(name)
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


class MemberRows:
    """The copies (temporary tables, not created yet) and ``source``: the active source with
    every table keyed by customer replaced by its copy, noting the tables queries compiled
    over it read (``read``), the ones ``filled`` creates."""

    def __init__(self) -> None:
        metadata = MetaData()
        self.copies = {name: _copy_of(NATIVE[name], metadata) for name in KEYED}
        self.read: set[str] = set()
        # each copy under its logical name (``copy AS orders``): the compiler knows a table by it
        aliases = {name: copy.alias(name) for name, copy in self.copies.items()}
        tables = _Noting({**active().tables, **aliases}, self.read)
        self.source = replace(active(), tables=tables)

    @contextmanager
    def filled(
        self, conn: Connection, members: Select[Any], *, sample: int | None = None
    ) -> Iterator[Whole]:
        """The copies of the tables read, holding the members' rows (``members``: a select of
        the native customers' columns, in order), dropped on exit; yields the size and the
        consenting members of the whole segment. ``customers`` and ``orders`` are always
        copied (the other tables are restricted through them). With ``sample``, a segment of
        more members keeps that many of them in the copies (``_sampled``), chosen by id the
        same way on every database and in every run."""
        wanted = {"customers", "orders", *self.read}
        order = ["customers", "orders", *(n for n in KEYED if n not in ("customers", "orders"))]
        created: list[Table] = []
        views: list[Table] = []
        whole = Whole(0, 0)
        try:
            for name in (n for n in order if n in wanted):
                copy = self.copies[name]
                if name != "customers" and conn.dialect.name == "sqlite":
                    views.append(copy)
                    _view(conn, copy, self._restricted(name, conn))
                    continue
                copy.drop(conn, checkfirst=True)
                rows = members if name == "customers" else self._restricted(name, conn)
                if conn.dialect.name == "postgresql":
                    # CREATE TABLE AS: no primary key to maintain (half the time of an INSERT
                    # of a copy went to it; nothing reads it, PostgreSQL hashes the copies),
                    # and the segment's select may run in parallel (as the count does)
                    conn.execute(CreateAs(copy, rows))
                    created.append(copy)
                else:
                    copy.create(conn)
                    created.append(copy)
                    conn.execute(insert(copy).from_select([c.name for c in copy.c], rows))
                if name == "customers":
                    whole = _whole(conn, copy)
                    if sample is not None and whole.size > sample:
                        _sampled(conn, copy, sample)
                if conn.dialect.name != "postgresql":  # PostgreSQL hashes the small copies
                    for index in _indexes(NATIVE[name], copy):
                        index.create(conn)
                analyse(conn, copy)
            yield whole
        except BaseException:
            for copy in reversed(views):
                with suppress(SQLAlchemyError):
                    _drop_view(conn, copy)
            drop_quietly(conn, reversed(created))
            raise
        for copy in reversed(views):
            _drop_view(conn, copy)
        for copy in reversed(created):
            copy.drop(conn)

    def _restricted(self, name: str, conn: Connection) -> Select[Any]:
        """The members' rows of the native table ``name`` (its every column): ``key IN (ids)``;
        on PostgreSQL ``key = ANY(ARRAY(ids))``, one index scan over the ids, where the planner
        takes ``IN`` for a hash join over the whole table."""
        native = NATIVE[name]
        if name == "order_lines":
            key, ids = native.c.order_id, select(self.copies["orders"].c.id)
        else:
            key, ids = native.c.customer_id, select(self.copies["customers"].c.id)
        if conn.dialect.name == "postgresql":
            return select(*native.c).where(key == any_(func.array(ids.scalar_subquery())))
        return select(*native.c).where(key.in_(ids))


__all__ = [
    "CATALOG",
    "KEYED",
    "PREFIX",
    "CreateAs",
    "MemberRows",
    "Whole",
    "analyse",
    "drop_quietly",
    "postgresql_settings",
    "scatter",
]
