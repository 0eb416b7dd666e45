"""Fields that are one value per customer: the built-in computed ones (average order value,
last order value, first order date, distinct products bought) and the attributes declared in
``config/source.yaml`` (``attributes.<name>``: a column of the customers table, a SQL
expression over its columns, or a select of ``(customer_id, value[, time])`` rows).

    value_sql("attributes.loyalty_tier", span, now)   # a correlated scalar subquery
    scalar_condition(cond, now, negate)               # the WHERE test of one condition
    check_attributes(conn)                            # each declared attribute run once

Every value is computed as of ``now`` like the other fields (rows after it ignored; cancelled
orders left out as in total_spent); a value compared in a rule is always a bound parameter.
A customer with no value (NULL) matches only ``ne``, ``not_in``, ``is_not_set`` and ``not``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    DateTime,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    not_,
    select,
    table,
    text,
    type_coerce,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnClause

from syncer.errors import ConfigError
from syncer.segments.catalog import ATTRIBUTE_PREFIX, SCALARS, ValueType, field_spec
from syncer.segments.model import Condition, TimeRange
from syncer.segments.predicates import _date_test, _not_cancelled, _t, _text, in_span, up_to
from syncer.segments.sqlparts import moment
from syncer.source.active import active
from syncer.source.model import AttributeSpec
from syncer.source.person_key import person_key

Bool = ColumnElement[bool]
ALL_TIME = TimeRange(None, None, True)


def _live_orders(span: TimeRange) -> list[Bool]:
    orders = _t("orders")
    return [
        orders.c.customer_id == active().person,
        _not_cancelled(),
        *in_span(orders.c.placed_at, span),
    ]


def _builtin(field: str, span: TimeRange) -> ColumnElement[Any]:
    orders = _t("orders")
    amount = orders.c.total_cents - orders.c.refunded_cents
    if field == "average_order_value":
        return select(func.avg(amount)).where(*_live_orders(span)).scalar_subquery()
    if field == "last_order_value":
        latest = (moment(orders.c.placed_at).desc(), orders.c.id.desc())
        query = select(amount).where(*_live_orders(span)).order_by(*latest).limit(1)
        return query.scalar_subquery()
    if field == "first_order_date":
        first = func.min(moment(orders.c.placed_at))
        value = select(first).where(*_live_orders(span)).scalar_subquery()
        return type_coerce(value, orders.c.placed_at.type)  # a shop's local times stay local
    lines = _t("order_lines")
    joined = orders.join(lines, lines.c.order_id == orders.c.id)
    distinct = func.count(func.distinct(lines.c.product_id))
    return select(distinct).select_from(joined).where(*_live_orders(span)).scalar_subquery()


def _declared(name: str, attr: AttributeSpec, span: TimeRange) -> ColumnElement[Any]:
    source = active()
    if attr.select is not None:
        cols: list[ColumnClause[Any]] = [column("customer_id"), column("value")]
        if attr.time is not None:
            cols.append(column(attr.time, DateTime(timezone=True)))
        rows = text(attr.select).columns(*cols).subquery(f"attr_{name}")
        # by email: folded as every table's key is (an email as stored still finds its person)
        folded = func.lower(func.trim(rows.c.customer_id))
        key = person_key(folded) if source.by_email else rows.c.customer_id
        where = [key == source.person]
        if attr.time is not None:
            where.extend(in_span(rows.c[attr.time], span))
        measure = getattr(func, attr.aggregate)(rows.c.value)  # sum, avg, min, max, count
        return select(measure).select_from(rows).where(*where).scalar_subquery()
    if source.customers_table is None:
        raise ConfigError(
            f"attribute {name!r}: a column or expression needs the customers table mapped "
            "with `table:`, not `model:`",
            where=source.origin,
            hint="declare it with `select:` returning customer_id, value",
        )
    shop_table, id_column = source.customers_table
    shop = table(shop_table, column(id_column)).alias(f"attr_{name}")
    expr: ColumnClause[Any] = literal_column(attr.column or f"({attr.expression})")
    query = select(expr).select_from(shop).where(shop.c[id_column] == source.customers.c.id)
    return query.scalar_subquery()


def value_sql(field: str, span: TimeRange, now: datetime) -> ColumnElement[Any]:
    """One customer's value of ``field`` (correlated on ``customers``), over the rows in
    ``span`` up to ``now``; money in cents."""
    span = up_to(span, now)
    if field in SCALARS:
        return _builtin(field, span)
    name = field.removeprefix(ATTRIBUTE_PREFIX)
    return _declared(name, active().attributes[name], span)


def _bound(vt: ValueType, value: Any) -> Any:
    if vt is ValueType.MONEY:
        return int(Decimal(value) * 100)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _compare(expr: ColumnElement[Any], op: str, value: Any) -> Bool:
    if op == "between":
        return and_(expr >= value[0], expr <= value[1])
    tests: dict[str, Bool] = {"eq": expr == value, "gt": expr > value, "ge": expr >= value}
    tests.update({"lt": expr < value, "le": expr <= value})
    return tests[op]


def scalar_condition(cond: Condition, now: datetime, negate: bool) -> Bool:
    """The test for ``cond`` on a one-value field (or its exact complement with ``negate``)."""
    spec = field_spec(cond.field)
    vt, op = spec.value_type, cond.op
    span = cond.window.range(now) if cond.window else ALL_TIME
    if vt is ValueType.DATE:  # a date field's window is tested with `within` on the value
        expr = value_sql(cond.field, ALL_TIME, now)
    else:
        expr = value_sql(cond.field, span, now)
    flip = op in ("ne", "not_in", "is_not_set")
    op = {"ne": "eq", "not_in": "in", "is_not_set": "is_set"}.get(op, op)
    if op == "is_set":
        test = expr.is_not(None) if vt is not ValueType.TEXT else _text(expr, op, None)
    elif vt is ValueType.TEXT:
        test = _text(expr, op, cond.value)
    elif vt is ValueType.DATE:
        test = and_(expr.is_not(None), _date_test(expr, op, cond.value, up_to(span, now)))
    elif vt is ValueType.BOOL:
        test = and_(expr.is_not(None), expr == bindparam(None, cond.value, type_=Boolean()))
    else:
        value = cond.value
        bound = (
            tuple(_bound(vt, v) for v in value) if isinstance(value, tuple) else _bound(vt, value)
        )
        test = and_(expr.is_not(None), _compare(expr, op, bound))
    return not_(test) if flip != negate else test


def check_attributes(conn: Connection) -> list[str]:
    """One line per declared attribute whose SQL fails, naming it and the database's message
    (each attribute's value computed once for one customer)."""
    problems: list[str] = []
    now = datetime.now(UTC)
    for name in active().attributes:
        customers = active().customers
        try:
            expr = value_sql(ATTRIBUTE_PREFIX + name, ALL_TIME, now)
            conn.execute(select(customers.c.id, expr).select_from(customers).limit(1)).all()
        except SQLAlchemyError as err:
            orig = getattr(err, "orig", None) or err
            reason = (str(orig).strip().splitlines() or ["error"])[0]
            problems.append(f"attribute {name!r}: {reason}")
            if conn.in_transaction():
                conn.rollback()
    return problems
