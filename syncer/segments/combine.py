"""The conditions of one group compiled together, so that a table is read once where it can be.

``junction(items, conjunction=..., as_of=...)`` is the AND (or OR) of ``items``: clauses already
compiled, or ``(condition, negate)`` pairs still to compile. Conditions that cannot be merged
are compiled by ``conditions.condition_sql`` as before. The merges, all exact:

* AND of aggregates over the same table and window (``orders gt 2`` and ``total_spent gt 500``;
  ``visits gt 10`` and ``days_since_last_visit lt 7``) becomes ONE
  ``id IN (SELECT customer_id ... GROUP BY customer_id HAVING a AND b)``. When the fields count
  different rows (all orders / orders not cancelled) each aggregate picks its own rows with a
  CASE, so a field with no rows of its own still counts 0 as the catalog says. The grouped
  subquery only holds customers with at least one row, so the merge is made only when at least
  one of the conditions cannot match a customer without rows: the AND drops those customers
  anyway, and for every other customer each HAVING test is the field's exact definition.
  Windows that nest (all time and the last 30 days) share the widest one's rows: a count or
  sum over a narrower window picks its rows with a CASE (``visits ge 1`` in 30 days next to
  ``preferred_device``: one read of visits).
  Over a source keyed by email, where every read of the orders evaluates the shop's orders
  model, an item bought or a coupon used (``has`` / ``has_not``) joins that GROUP BY too: the
  orders that count for it (not cancelled, ``id IN (SELECT order_id FROM order_lines WHERE
  product ...)``, a set computed once) number above 0, or 0 (``purchased_product has`` next to
  ``days_since_last_order``: one read of the orders where there were two).
* OR of ``EXISTS`` over the same rows (``purchased_product has A`` / ``has B`` in one window:
  one EXISTS with both values; ``email_clicks ge 1`` / ``email_conversions ge 1``: one EXISTS
  with either filter), and dually AND of ``NOT EXISTS`` (``has_not A`` and ``has_not B``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, case, func, not_, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.selectable import NamedFromClause

from syncer.segments.catalog import FIELDS, ValueType
from syncer.segments.conditions import condition_sql
from syncer.segments.model import Condition, TimeRange, as_utc
from syncer.segments.predicates import (
    COUNTED,
    Rows,
    counted_ok,
    days_having,
    days_source,
    in_span,
    is_scalar,
    item_rows,
    measure,
    natural,
    order_tests,
    preferred_having,
    up_to,
    window_span,
)
from syncer.segments.sqlparts import any_row, contains, grouped, in_intervals
from syncer.source.active import active

Bool = ColumnElement[bool]
Item = Bool | tuple[Condition, bool]
ALL_TIME = TimeRange(None, None, True)
TIME_COLUMN = {"orders": "placed_at", "visits": "at", "cart_events": "at", "email_events": "at"}
ITEM_VALUE_OPS = ("has", "has_not", "in", "not_in")


@dataclass(frozen=True)
class Aggregate:
    """One condition as a HAVING test over a customer's rows of ``table`` in ``span``."""

    table: FromClause
    span: TimeRange
    own_rows: str | None  # the count / money field whose filters pick its rows (None: all)
    having: Callable[[bool], Bool]  # True: the rows are already only its own
    empty: bool  # matches customers with no rows
    within: Callable[[list[Bool]], Bool] | None = None  # the test over the rows passing these


def covers(wide: TimeRange, narrow: TimeRange) -> bool:
    """Every time in ``narrow`` is in ``wide``."""
    if wide.start is not None and (narrow.start is None or narrow.start < wide.start):
        return False
    if wide.end is None:
        return True
    if narrow.end is None:
        return False
    if narrow.end == wide.end:
        return wide.end_inclusive or not narrow.end_inclusive
    return narrow.end < wide.end


@dataclass(frozen=True)
class Exists:
    """One condition as "the customer has a row" (``positive``) or "has none" over rows that
    conditions with the same ``key`` can share: the rows any of their ``shares`` pick."""

    key: tuple[object, ...]
    positive: bool
    share: tuple[Any, ...]  # item values, or row filters
    rows: Callable[[list[tuple[Any, ...]]], Rows]


def _name(table: FromClause) -> str:
    """The logical table's name (the native table, or the mapped subquery's alias)."""
    return table.name if isinstance(table, NamedFromClause) else ""


def _span(cond: Condition, now: datetime) -> TimeRange:
    return window_span(cond, now)


def aggregate_of(cond: Condition, now: datetime, negate: bool) -> Aggregate | None:
    """``cond`` as a HAVING test, or None for fields that are no aggregate."""
    if is_scalar(cond.field):
        return None
    spec = FIELDS[cond.field]
    if spec.value_type in (ValueType.COUNT, ValueType.MONEY):
        counted = COUNTED[cond.field]
        ok = counted_ok(cond, negate)
        field = cond.field

        def having(filtered: bool) -> Bool:
            return in_intervals(measure(field, filtered, now), ok)

        def within(rows: list[Bool]) -> Bool:
            return in_intervals(measure(field, False, now, rows), ok)

        own = field if counted.filters(now) else None
        span = _span(cond, now)
        return Aggregate(counted.table, span, own, having, contains(ok, 0), within)
    if spec.value_type is ValueType.DAYS:
        test, empty = days_having(cond, now, negate)
        span = up_to(ALL_TIME, now)
        return Aggregate(days_source(cond.field), span, None, lambda _f: test, empty)
    if cond.field == "preferred_device":
        test, empty = preferred_having(cond, negate)
        visits = active().table("visits")
        return Aggregate(visits, _span(cond, now), None, lambda _f: test, empty)
    return None


def ordered_item_of(cond: Condition, now: datetime, negate: bool) -> Aggregate | None:
    """``cond`` (an item bought or a coupon used, ``has`` / ``has_not`` some values) as a
    HAVING test over the customer's orders: how many of them count for it (not cancelled,
    holding one of the values) is above 0, or 0; None for any other condition. Only for
    sources keyed by email (``junction``)."""
    if cond.op not in ITEM_VALUE_OPS or cond.min_quantity is not None:
        return None
    value = cond.value
    values = [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
    tests = order_tests(cond.field, values)
    if tests is None:
        return None
    positive = (cond.op in ("has", "in")) != negate

    def within(rows: list[Bool]) -> Bool:
        orders = func.sum(case((and_(*rows, *tests), 1), else_=0))
        return orders > 0 if positive else orders == 0

    orders = active().table("orders")
    own = f"{cond.field} {cond.op} {values}"  # rows of its own: never the WHERE of the merge
    return Aggregate(orders, _span(cond, now), own, lambda _f: within([]), not positive, within)


def exists_of(cond: Condition, now: datetime, negate: bool) -> Exists | None:
    """``cond`` as EXISTS / NOT EXISTS over rows it may share, or None."""
    if is_scalar(cond.field) or cond.min_quantity is not None:
        return None
    spec = FIELDS[cond.field]
    span = _span(cond, now)
    if spec.value_type is ValueType.COUNT:
        shape = natural(counted_ok(cond, negate))
        if shape not in ([(1, None)], [(0, 0)]):
            return None
        counted = COUNTED[cond.field]
        table = counted.table

        def either(shares: list[tuple[Any, ...]]) -> Rows:
            where = in_span(table.c[TIME_COLUMN[_name(table)]], span)
            if all(shares):  # no share empty (an empty one picks every row)
                where.append(any_share(shares))
            return table, table.c.customer_id, where

        key = ("rows", _name(table), span)
        return Exists(key, shape == [(1, None)], tuple(counted.filters(now)), either)
    if spec.value_type in (ValueType.ITEM, ValueType.DEVICE) and cond.op in ITEM_VALUE_OPS:
        if cond.field == "preferred_device":
            return None
        value = cond.value
        values = tuple(str(v) for v in value) if isinstance(value, tuple) else (str(value),)
        positive = (cond.op in ("has", "in")) != negate
        field = cond.field

        def any_of(shares: list[tuple[Any, ...]]) -> Rows:
            merged = list(dict.fromkeys(str(v) for share in shares for v in share))
            return item_rows(field, merged, span, any_value=False)

        return Exists(("item", field, span), positive, values, any_of)
    return None


def any_share(shares: Sequence[tuple[Bool, ...]]) -> Bool:
    """The rows any of ``shares`` picks. Shares that are each one ``column = value`` on the
    same column become ``column IN (values)``, which an index on that column can take (an OR
    is only a filter on the rows the index found)."""
    tests = [share[0] for share in shares if len(share) == 1]
    if len(tests) == len(shares) > 1:
        column = tests[0].left if isinstance(tests[0], BinaryExpression) else None
        values = [
            t.right.value
            for t in tests
            if isinstance(t, BinaryExpression)
            and t.operator is operators.eq
            and t.left is column
            and isinstance(t.right, BindParameter)
        ]
        if column is not None and len(values) == len(tests):
            in_list: Bool = column.in_(values)
            return in_list
    picks = [and_(*share) for share in shares]
    return or_(*picks) if len(picks) > 1 else picks[0]


def merged_aggregates(parts: Sequence[Aggregate], now: datetime) -> Bool:
    """Customers with rows passing every part's HAVING test: one grouped subquery over the
    first part's span; a part with a narrower span counts its own rows with a CASE."""
    first = parts[0]
    table = first.table
    time = table.c[TIME_COLUMN[_name(table)]]
    where = in_span(time, first.span)
    same = all(p.span == first.span for p in parts)
    filtered = same and len({p.own_rows for p in parts}) == 1  # the same rows: filter in WHERE
    if filtered and first.own_rows is not None:
        where.extend(COUNTED[first.own_rows].filters(now))
    tests: list[Bool] = []
    for p in parts:
        if p.span == first.span:
            tests.append(p.having(filtered))
        else:
            assert p.within is not None
            tests.append(p.within(in_span(time, _beyond(p.span, first.span))))
    return grouped(table, table.c.customer_id, where, and_(*tests), accept_empty=False)


def _beyond(narrow: TimeRange, wide: TimeRange) -> TimeRange:
    """``narrow`` without the bounds ``wide`` (the rows' WHERE) already applies."""
    start = None if narrow.start == wide.start else narrow.start
    same_end = (narrow.end, narrow.end_inclusive) == (wide.end, wide.end_inclusive)
    return TimeRange(start, None if same_end else narrow.end, narrow.end_inclusive)


def _one_read(members: list[tuple[int, Aggregate]]) -> list[tuple[int, Aggregate]]:
    """``members`` (aggregates over one table) ordered so the first one's span covers every
    other's, each of which can count its own rows with a CASE; [] when that is impossible."""
    for i, (_k, wide) in enumerate(members):
        others = members[:i] + members[i + 1 :]
        if all(
            agg.span == wide.span or (agg.within is not None and covers(wide.span, agg.span))
            for _j, agg in others
        ):
            return [members[i], *others]
    return []


def junction(items: Sequence[Item], *, conjunction: bool, as_of: datetime) -> Bool:
    """The AND (``conjunction``) or OR of ``items``, merging what reads the same rows."""
    now = as_utc(as_of)
    pending = {i: item for i, item in enumerate(items) if isinstance(item, tuple)}
    out: dict[int, Bool] = {i: item for i, item in enumerate(items) if not isinstance(item, tuple)}
    if conjunction:
        by_table: dict[str, list[tuple[int, Aggregate]]] = {}
        for i, (cond, negate) in pending.items():
            agg = aggregate_of(cond, now, negate)
            if agg is None and active().by_email:
                agg = ordered_item_of(cond, now, negate)
            if agg is not None:
                by_table.setdefault(_name(agg.table), []).append((i, agg))
        groups: list[list[tuple[int, Aggregate]]] = []
        for members in by_table.values():
            ordered = _one_read(members)
            if ordered:
                groups.append(ordered)
                continue
            by_span: dict[TimeRange, list[tuple[int, Aggregate]]] = {}
            for i, agg in members:
                by_span.setdefault(agg.span, []).append((i, agg))
            groups.extend(by_span.values())
        for members in groups:
            if len(members) > 1 and not all(agg.empty for _i, agg in members):
                out[min(i for i, _agg in members)] = merged_aggregates(
                    [agg for _i, agg in members], now
                )
                for i, _agg in members:
                    del pending[i]
    by_key: dict[tuple[object, ...], list[tuple[int, Exists]]] = {}
    for i, (cond, negate) in pending.items():
        ex = exists_of(cond, now, negate)
        if ex is not None and ex.positive != conjunction:  # OR of EXISTS / AND of NOT EXISTS
            by_key.setdefault(ex.key, []).append((i, ex))
    for shared in by_key.values():
        if len(shared) > 1:
            first = shared[0][1]
            test = any_row(*first.rows([ex.share for _i, ex in shared]))
            out[shared[0][0]] = test if first.positive else not_(test)
            for i, _ex in shared:
                del pending[i]
    for i, (cond, negate) in pending.items():
        out[i] = condition_sql(cond, as_of, negate)
    parts = [out[i] for i in sorted(out)]
    if len(parts) == 1:
        return parts[0]
    return and_(*parts) if conjunction else or_(*parts)


__all__ = [
    "Aggregate",
    "Exists",
    "aggregate_of",
    "any_share",
    "exists_of",
    "junction",
    "merged_aggregates",
]
