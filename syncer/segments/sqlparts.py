"""SQL building blocks the compiler shares: text matching that behaves the same on SQLite,
PostgreSQL and MariaDB, integer intervals, and customer-set membership forms.

Text: every letter is compared in its Unicode lower case (``syncer.db.fold_case``, one letter at a
time): the value is folded in Python and bound; the column is folded by the database, with
``lower()`` on PostgreSQL (the database's UTF-8 character type), ``lower()`` under the server's
newest Unicode collation on MariaDB/MySQL, then compared under a binary NO PAD collation so
accents and trailing spaces count as they do elsewhere, and on SQLite by ``lower()`` for ASCII
text and otherwise ``syncer_fold`` (the same Python function, registered on every connection by
``syncer.db``). LIKE patterns escape
``%``, ``_`` and the escape character ``/``: a value is always literal.

Times: on SQLite a time column is text, so ``moment(column)`` reads it as UTC in the one form
that compares as text (the form SQLAlchemy writes and binds); other ISO forms go through
``syncer_utc``. Elsewhere the column is a timestamp and is left as it is. A column against a
bound time (``since`` / ``until`` / ``before``) reads the column only for rows stored within a
day or two of the bound: every ISO form starts with its local date, and offsets are under 15
hours, so the text alone decides for every other row (as fast as a plain comparison).

Membership: a condition over another table is either "the customer is in this set" or "the
customer is not in it". Positive forms are ``customers.id IN (grouped subquery)`` or a
correlated ``EXISTS``; negative forms are always ``NOT EXISTS`` (an anti-join on PostgreSQL),
never ``NOT IN`` (which PostgreSQL cannot hash once the set outgrows work_mem).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    FromClause,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from syncer.db import fold_case
from syncer.source.active import active
from syncer.source.tables import column_time

ESCAPE = "/"

Interval = tuple[int | None, int | None]  # inclusive bounds; None = unbounded


class folded(FunctionElement[str]):
    """``expr`` with every letter in its lower case, compared byte for byte (see above)."""

    name = "folded"
    inherit_cache = True
    type = String()


@compiles(folded)
def _folded_default(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    return f"lower({compiler.process(inner, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    col = compiler.process(inner, **kw)
    ascii_only = f"length({col}) = length(CAST({col} AS BLOB))"  # SQLite's lower() is enough
    return f"(CASE WHEN {ascii_only} THEN lower({col}) ELSE syncer_fold({col}) END)"


@compiles(folded, "mysql")
@compiles(folded, "mariadb")
def _folded_mysql(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    dialect = compiler.dialect
    if getattr(dialect, "is_mariadb", False):
        version = getattr(dialect, "server_version_info", None) or (10, 10)
        case = "utf8mb4_uca1400_ai_ci" if tuple(version) >= (10, 10) else "utf8mb4_unicode_520_ci"
        exact = "utf8mb4_nopad_bin"
    else:
        case, exact = "utf8mb4_0900_ai_ci", "utf8mb4_bin"
    text = f"CONVERT({compiler.process(inner, **kw)} USING utf8mb4) COLLATE {case}"
    return f"lower({text}) COLLATE {exact}"


class moment(FunctionElement[Any]):
    """A time column as a comparable UTC time (see above)."""

    name = "moment"
    inherit_cache = True
    type = DateTime(timezone=True)


@compiles(moment)
def _moment_default(element: moment, compiler: SQLCompiler, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    return compiler.process(inner, **kw)


def _sqlite_moment(col: str) -> str:
    # the form SQLAlchemy writes is compared as it is (no Python call per row)
    written = f"{col} LIKE '____-__-__ __:__:__.______'"
    return f"(CASE WHEN {written} THEN {col} ELSE syncer_utc({col}) END)"


@compiles(moment, "sqlite")
def _moment_sqlite(element: moment, compiler: SQLCompiler, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    return _sqlite_moment(compiler.process(inner, **kw))


class _TimeTest(FunctionElement[bool]):
    """``column <op> at`` for a time column and a bound UTC time (see above)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: never rendered as "(...) = 1" on MariaDB
    sql_op: ClassVar[str]
    lower: ClassVar[bool]  # a lower bound (the rows at or after ``at``)
    ranged: ClassVar[bool] = True  # offer SQLite's planner an index range on the column

    def __init__(self, column: ColumnElement[Any], at: datetime) -> None:
        local = column_time(column, at)  # a column of local times: the bound in its zone
        day = local.date()
        near = [(day + timedelta(days=d)).isoformat() for d in (-1, 2)]
        super().__init__(
            column,
            bindparam(None, local, type_=DateTime(timezone=local.tzinfo is not None)),
            *(bindparam(None, d, type_=String()) for d in near),
        )


class since(_TimeTest):
    name = "since"
    sql_op, lower = ">=", True
    inherit_cache = True


class after(_TimeTest):
    name = "after"
    sql_op, lower = ">", True
    inherit_cache = True


class until(_TimeTest):
    name = "until"
    sql_op, lower = "<=", False
    inherit_cache = True


class before(_TimeTest):
    name = "before"
    sql_op, lower = "<", False
    inherit_cache = True


class until_unranged(until):
    """``until`` for a test (nearly) every row passes: an index range would only cost lookups."""

    name = "until_unranged"
    ranged = False
    inherit_cache = True


class on_postgresql(FunctionElement[bool]):
    """``default``, compiled as ``postgresql`` instead for PostgreSQL: two forms of one test
    (the same rows), the second shaped for PostgreSQL's planner."""

    name = "on_postgresql"
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True

    def __init__(self, default: ColumnElement[bool], postgresql: ColumnElement[bool]) -> None:
        super().__init__(default, postgresql)


@compiles(on_postgresql)
def _on_postgresql_default(element: on_postgresql, compiler: SQLCompiler, **kw: Any) -> str:
    default, _postgresql = element.clauses.clauses
    return compiler.process(default, **kw)


@compiles(on_postgresql, "postgresql")
def _on_postgresql(element: on_postgresql, compiler: SQLCompiler, **kw: Any) -> str:
    _default, postgresql = element.clauses.clauses
    return compiler.process(postgresql, **kw)


class latest_until(_TimeTest):
    """In a GROUP BY: the group's latest time is at or before ``at``."""

    name = "latest_until"
    sql_op, lower = "<=", False
    inherit_cache = True


class latest_after(_TimeTest):
    """In a GROUP BY: the group's latest time is after ``at``."""

    name = "latest_after"
    sql_op, lower = ">", False
    inherit_cache = True


@compiles(_TimeTest)
def _time_default(element: _TimeTest, compiler: SQLCompiler, **kw: Any) -> str:
    col, at, _lo, _hi = (compiler.process(c, **kw) for c in element.clauses.clauses)
    if isinstance(element, latest_until | latest_after):
        col = f"max({col})"
    return f"({col} {element.sql_op} {at})"


@compiles(latest_until, "sqlite")
@compiles(latest_after, "sqlite")
def _latest_sqlite(element: _TimeTest, compiler: SQLCompiler, **kw: Any) -> str:
    # every row at or before ``at`` / some row after it, each row read as in ``until``
    col, at, lo, hi = (compiler.process(c, **kw) for c in element.clauses.clauses)
    exact = f"{_sqlite_moment(col)} <= {at}"
    row_until = f"CASE WHEN {col} >= {hi} THEN 0 WHEN {col} < {lo} THEN 1 ELSE {exact} END"
    if isinstance(element, latest_until):
        return f"(min({row_until}) = 1)"
    return f"(min({row_until}) = 0)"


@compiles(_TimeTest, "sqlite")
def _time_sqlite(element: _TimeTest, compiler: SQLCompiler, **kw: Any) -> str:
    col, at, lo, hi = (compiler.process(c, **kw) for c in element.clauses.clauses)
    exact = f"{_sqlite_moment(col)} {element.sql_op} {at}"
    # a plain range the index can use, then the exact test for the rows near the bound only
    if element.lower:  # stored on or after day + 2: later; before day - 1: earlier
        sure, near = f"{col} >= {hi}", f"{col} >= {lo}"
    else:
        sure, near = f"{col} < {lo}", f"{col} < {hi}"
    if element.ranged:
        return f"({near} AND CASE WHEN {sure} THEN 1 ELSE {exact} END)"
    return f"(CASE WHEN {sure} THEN 1 WHEN {near} THEN {exact} ELSE 0 END)"


def _param(value: str) -> ColumnElement[str]:
    return bindparam(None, fold_case(value), type_=String())


def text_in(column: ColumnElement[Any], values: Sequence[str]) -> ColumnElement[bool]:
    """``column`` equals one of ``values``, ignoring case; false when NULL."""
    left = folded(column)
    tests = [left == _param(v) for v in values]
    return and_(column.is_not(None), or_(*tests) if len(tests) > 1 else tests[0])


# the letters other than its capital whose lower case is an ASCII letter (U+0130, Kelvin sign)
OTHER_CAPITALS = {"i": "\u0130", "k": "\u212a"}
MAX_SPELLINGS = 64  # beyond this many, no IN list: the folded comparison alone


def spellings(value: str) -> list[str] | None:
    """Every text whose folded form is ``value``'s (``GOLD``, ``Gold``, ``gOLD``, ...) when that
    form is ASCII and has at most ``MAX_SPELLINGS`` of them; else None."""
    folded = fold_case(value) or ""
    if not folded.isascii():
        return None
    choices = [
        [ch, ch.upper(), *OTHER_CAPITALS.get(ch, "")] if ch.isalpha() else [ch] for ch in folded
    ]
    if math.prod(len(c) for c in choices) > MAX_SPELLINGS:
        return None
    return ["".join(p) for p in itertools.product(*choices)]


def text_in_indexed(column: ColumnElement[Any], values: Sequence[str]) -> ColumnElement[bool]:
    """``text_in``, with ``column IN (every spelling of the values)`` first when there are few:
    an index on the column can take that list (and the planner's statistics know it), where it
    cannot take the folded comparison. Exactly the same rows as ``text_in``."""
    every: list[str] = []
    for value in values:
        spelled = spellings(value)
        if spelled is None:
            return text_in(column, values)
        every.extend(spelled)
    every = list(dict.fromkeys(every))
    if len(every) > MAX_SPELLINGS:
        return text_in(column, values)
    return and_(column.in_(every), text_in(column, values))


def escape_like(value: str) -> str:
    return value.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def text_like(column: ColumnElement[Any], op: str, value: str) -> ColumnElement[bool]:
    """starts_with / ends_with / contains, ignoring case; false when NULL."""
    body = escape_like(fold_case(value) or "")
    pattern = {"starts_with": f"{body}%", "ends_with": f"%{body}", "contains": f"%{body}%"}[op]
    bound = bindparam(None, pattern, type_=String())
    return and_(column.is_not(None), folded(column).like(bound, escape=ESCAPE))


def has_text(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """A value that is neither NULL nor empty."""
    return and_(column.is_not(None), func.length(column) > 0)


# --- integer intervals -------------------------------------------------------------------
def op_interval(op: str, value: Any) -> tuple[Interval, bool]:
    """A comparison as an inclusive interval over integers, and whether it is negated (ne)."""
    if op == "eq":
        return (value, value), False
    if op == "ne":
        return (value, value), True
    if op == "gt":
        return (value + 1, None), False
    if op == "ge":
        return (value, None), False
    if op == "lt":
        return (None, value - 1), False
    if op == "le":
        return (None, value), False
    if op == "between":
        return (value[0], value[1]), False
    raise ValueError(f"not a numeric operator: {op}")


def complement(intervals: Sequence[Interval]) -> list[Interval]:
    """The integers outside ``intervals`` (sorted, disjoint inputs)."""
    out: list[Interval] = []
    cursor: int | None = None  # next integer not yet covered; None = minus infinity
    for lo, hi in intervals:
        if lo is not None and (cursor is None or lo > cursor):
            out.append((cursor, lo - 1))
        if hi is None:
            return out
        cursor = hi + 1 if cursor is None else max(cursor, hi + 1)
    out.append((cursor, None))
    return out


def accepted(op: str, value: Any, negate: bool) -> list[Interval]:
    """The integers a numeric condition accepts (after ``ne`` and an outer ``not``)."""
    interval, neg = op_interval(op, value)
    if interval[0] is not None and interval[1] is not None and interval[0] > interval[1]:
        intervals: list[Interval] = []
    else:
        intervals = [interval]
    return complement(intervals) if neg != negate else intervals


def contains(intervals: Sequence[Interval], n: int) -> bool:
    return any((lo is None or lo <= n) and (hi is None or n <= hi) for lo, hi in intervals)


def in_intervals(expr: ColumnElement[Any], intervals: Sequence[Interval]) -> ColumnElement[bool]:
    tests: list[ColumnElement[bool]] = []
    for lo, hi in intervals:
        parts: list[ColumnElement[bool]] = []
        if lo is not None:
            parts.append(expr >= lo)
        if hi is not None:
            parts.append(expr <= hi)
        tests.append(and_(*parts) if parts else true())
    if not tests:
        return false()
    return or_(*tests) if len(tests) > 1 else tests[0]


# --- membership ----------------------------------------------------------------------------
def any_row(
    source: FromClause, customer_id: ColumnElement[int], where: Sequence[ColumnElement[bool]]
) -> ColumnElement[bool]:
    """The customer has at least one row of ``source`` matching ``where`` (correlated EXISTS).

    Over a source keyed by email (``syncer.source``) it is ``person IN (customer ids of the
    matching rows)`` instead, which MariaDB evaluates once where it re-evaluates the EXISTS over
    the mapped models per customer; its negation is exact too (no NULL id in the list, and a
    person without a key has no rows). The ids are grouped (``HAVING count(*) > 0``, true of
    every group): MariaDB then computes the set once and looks each person up in it, where
    it would otherwise make the IN a semi-join that indexes the whole materialized people
    table by email (1 to 3 s at 100,000 customers) to look a person up per matching row."""
    source_now = active()
    person = source_now.person
    if source_now.by_email:
        ids = select(customer_id).select_from(source).where(customer_id.is_not(None), *where)
        ids = ids.group_by(customer_id).having(func.count() > 0)
        return and_(person.is_not(None), person.in_(ids))
    return exists(select(1).select_from(source).where(customer_id == person, *where))


def grouped(
    source: FromClause,
    customer_id: ColumnElement[int],
    where: Sequence[ColumnElement[bool]],
    having: ColumnElement[bool],
    *,
    accept_empty: bool,
) -> ColumnElement[bool]:
    """Customers whose rows pass ``having``; with ``accept_empty`` also those with no rows.

    The positive form is ``id IN (SELECT customer_id ... GROUP BY ... HAVING ...)``; the form
    that accepts customers without rows excludes the customers whose rows fail ``having``.
    """
    person = active().person
    base = select(customer_id.label("customer_id")).select_from(source).where(*where)
    if not accept_empty:
        return person.in_(base.group_by(customer_id).having(having))
    failing = base.group_by(customer_id).having(not_(having)).subquery()
    return not_(exists(select(1).select_from(failing).where(failing.c.customer_id == person)))
