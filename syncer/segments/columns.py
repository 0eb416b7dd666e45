"""The columns an export can write and a destination's ``require`` can test: name -> SQL.

    COLUMNS["total_spent"].sql(as_of)     # a correlated subquery over one customer's orders
    query = export_query(members, ["email", "zip", "total_spent"], as_of=now)
    kept, left_out = require(members, ["first_name", "zip"])

Each column is one SQL expression over ``customers`` (an attribute, or a correlated aggregate
over the indexed ``(customer_id, time)`` rows, as of ``as_of``) and a converter for its value
in a file (money: cents -> currency units). The registry is a plain dict so that more columns
(e.g. mapped custom attributes) can be added by name. A column that ``can_be_missing`` (text
attributes) may be named in ``require``: a member whose value is NULL, empty or only spaces
is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, not_, or_, select

from syncer.segments.attributes import ALL_TIME, value_sql
from syncer.segments.catalog import ATTRIBUTE_PREFIX, FIELDS, SCALARS, ValueType
from syncer.segments.model import TimeRange, as_utc
from syncer.segments.predicates import COUNTED, measure, up_to
from syncer.source.active import active

Sql = Callable[[datetime], ColumnElement[Any]]


def _same(value: Any) -> Any:
    return value


def _money(cents: Any) -> Any:
    return None if cents is None else (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def _when(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    sql: Sql  # as_of -> the expression (over ``customers``)
    convert: Callable[[Any], Any] = _same  # database value -> the value written to a file
    can_be_missing: bool = False  # may be NULL / empty: ``require`` can name it


def _attribute(name: str, column: str, description: str) -> Column:
    return Column(
        name, description, lambda _as_of: active().customers.c[column], can_be_missing=True
    )


def _aggregate(field: str) -> Column:
    """A count / money field of the catalog, as one customer's value up to ``as_of``."""
    spec = FIELDS[field]
    money = spec.value_type is ValueType.MONEY

    def sql(as_of: datetime) -> ColumnElement[Any]:
        now = as_utc(as_of)
        source, cid, where = COUNTED[field].rows(up_to(TimeRange(None, None, True), now), now)
        value = select(func.coalesce(measure(field, True, now), 0)).select_from(source)
        return value.where(cid == active().person, *where).scalar_subquery()

    return Column(field, spec.label + (" (all time)"), sql, _money if money else int)


def _one_value(field: str) -> Column:
    """A built-in one-value field (average order value...), all time up to ``as_of``."""
    spec = FIELDS[field]
    vt = spec.value_type
    convert = _money if vt is ValueType.MONEY else _when if vt is ValueType.DATE else int
    return Column(
        field,
        spec.label + " (all time)",
        lambda as_of: value_sql(field, ALL_TIME, as_utc(as_of)),
        convert,
        can_be_missing=vt is not ValueType.COUNT,
    )


def _boolean(value: Any) -> Any:
    return None if value is None else bool(value)


def _declared(name: str) -> Column:
    """The declared attribute ``attributes.<name>`` of the active source."""
    attr = active().attributes[name.removeprefix(ATTRIBUTE_PREFIX)]
    convert = {"date": _when, "boolean": _boolean}.get(attr.type, _same)
    return Column(
        name,
        attr.description or f"declared attribute ({attr.type})",
        lambda as_of: value_sql(name, ALL_TIME, as_utc(as_of)),
        convert,
        can_be_missing=True,
    )


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("customer_id", "the customer's id", lambda _a: active().customers.c.id),
        Column("email", "email address", lambda _a: active().customers.c.email),
        _attribute("first_name", "first_name", "first name"),
        _attribute("last_name", "last_name", "last name"),
        Column(
            "consent",
            "accepts email marketing (true / false)",
            lambda _a: active().customers.c.accepts_marketing,
            lambda v: bool(v),
        ),
        _attribute("zip", "zip", "zip / postal code"),
        _attribute("country", "country", "country code"),
        _attribute("status", "status", "customer status"),
        _attribute("quality", "quality", "customer quality grade"),
        _attribute("loyalty_card", "loyalty_card", "membership / loyalty card"),
        Column(
            "created",
            "created / first seen (UTC)",
            lambda _a: active().customers.c.created_at,
            _when,
        ),
        *(_aggregate(f) for f in COUNTED),
        *(_one_value(f) for f in SCALARS),
    )
}


def all_columns() -> dict[str, Column]:
    """``COLUMNS`` and the active source's declared attributes (``attributes.<name>``)."""
    declared = (ATTRIBUTE_PREFIX + n for n in active().attributes)
    return {**COLUMNS, **{n: _declared(n) for n in declared}}


def field_sql(names: Sequence[str], as_of: datetime) -> dict[str, ColumnElement[Any]]:
    """For each of ``names`` (a column above, a built-in field or ``attributes.<name>``), one
    customer's value as a SQL expression over ``customers`` as of ``as_of``, labelled by name
    (KeyError for a name ``check_columns`` would refuse)."""
    known = all_columns()
    return {n: known[n].sql(as_of).label(n) for n in names}


def missing(names: Sequence[str], as_of: datetime) -> ColumnElement[bool]:
    """The member lacks at least one of ``names``: NULL, empty or only spaces."""
    tests = []
    known = all_columns()
    for name in names:
        value = known[name].sql(as_of)
        tests.append(or_(value.is_(None), func.length(func.trim(value)) == 0))
    return or_(*tests)


def require(
    members: Select[Any], names: Sequence[str], as_of: datetime
) -> tuple[Select[Any], Select[Any] | None]:
    """(the members that have every column of ``names``, a COUNT of those that do not; None
    when ``names`` is empty)."""
    if not names:
        return members, None
    lacking = missing(names, as_of)
    left_out = select(func.count().label("n")).select_from(members.where(lacking).subquery())
    return members.where(not_(lacking)), left_out


def export_query(members: Select[Any], names: Sequence[str], as_of: datetime) -> Select[Any]:
    """The members' ``names`` columns, labelled by name, ascending by customer id (the WHERE
    of ``members`` kept: one segment, the same members as a sync)."""
    columns = list(field_sql(names, as_of).values())
    query = members.with_only_columns(*columns, maintain_column_froms=False)
    customers = active().customers
    return query.select_from(customers).order_by(customers.c.id)


def converters(names: Sequence[str]) -> list[Callable[[Any], Any]]:
    known = all_columns()
    return [known[n].convert for n in names]
