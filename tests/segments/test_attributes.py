"""Declared attributes (column, expression, select) and the built-in one-value fields, compiled
into the members select on every database; bad SQL named at validate time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from syncer.segments.attributes import check_attributes
from syncer.segments.columns import field_sql
from syncer.segments.compiler import members_query
from syncer.segments.describe import describe
from syncer.segments.model import Segment
from syncer.source.active import using
from syncer.source.model import AttributeSpec
from tests.segments.reference import World

AS_OF = datetime(2026, 3, 15, 12, tzinfo=UTC)
ATTRIBUTES = {
    "tier": {"type": "text", "column": "loyalty_card"},
    "german": {"type": "boolean", "expression": "CASE WHEN country = 'DE' THEN 1 ELSE 0 END = 1"},
    "score": {"type": "number", "expression": "CASE WHEN country = 'DE' THEN 2.5 ELSE 1 END"},
    "recent_spend": {
        "type": "number",
        "select": "SELECT customer_id, placed_at, total_cents AS value FROM orders",
        "time": "placed_at",
        "aggregate": "sum",
    },
    "first_paid": {
        "type": "date",
        "select": "SELECT customer_id, placed_at, placed_at AS value FROM orders",
        "time": "placed_at",
        "aggregate": "min",
    },
    "broken": {"type": "number", "select": "SELECT customer_id, nope AS value FROM orders"},
}


def _source(*names: str) -> Any:
    from syncer.source.tables import native_source

    attrs = {n: AttributeSpec.model_validate(ATTRIBUTES[n]) for n in names}
    return replace(native_source(), attributes=attrs)


@pytest.fixture
def shop(engine: Engine) -> Iterator[Engine]:
    w = World()
    w.add("products", name="Espresso Beans", sku="EB-1", vendor="Roast")
    w.add("products", name="Mug", sku="MG-1", vendor="Clay")
    a = w.customer(loyalty_card="Gold", country="DE")
    b = w.customer(loyalty_card="silver", country="FR")
    w.customer(country="US")  # no card, no orders
    for cid, day, cents, status, lines in (
        (a, datetime(2026, 3, 1, tzinfo=UTC), 4000, "paid", [(1, 2), (2, 1)]),
        (a, datetime(2025, 6, 1, tzinfo=UTC), 1000, "paid", [(1, 2)]),
        (b, datetime(2026, 3, 10, tzinfo=UTC), 9000, "paid", [(1, 1)]),
        (b, datetime(2026, 3, 12, tzinfo=UTC), 500, "cancelled", [(1, 5)]),
        (b, datetime(2026, 4, 1, tzinfo=UTC), 7000, "paid", [(2, 9)]),  # after the as-of
    ):
        order = w.add("orders", customer_id=cid, placed_at=day, total_cents=cents, status=status)
        for pid, qty in lines:
            w.add("order_lines", order_id=order["id"], product_id=pid, price_cents=1, quantity=qty)
    w.insert(engine)
    yield engine


def members(engine: Engine, rule: dict[str, Any]) -> set[int]:
    seg = Segment(name="s", rules=rule)
    with engine.connect() as conn:
        return {r.customer_id for r in conn.execute(members_query(seg, {}, as_of=AS_OF))}


def test_column_attribute_text_operators(shop: Engine) -> None:
    with using(_source("tier")):
        assert members(shop, {"field": "attributes.tier", "op": "eq", "value": "GOLD"}) == {1}
        assert members(shop, {"field": "attributes.tier", "op": "starts_with", "value": "s"}) == {2}
        assert members(shop, {"field": "attributes.tier", "op": "ne", "value": "gold"}) == {2, 3}
        assert members(shop, {"field": "attributes.tier", "op": "is_not_set"}) == {3}
        assert members(
            shop, {"not": {"field": "attributes.tier", "op": "in", "value": ["silver"]}}
        ) == {1, 3}


def test_expression_attributes_number_and_boolean(shop: Engine) -> None:
    with using(_source("score", "german")):
        assert members(shop, {"field": "attributes.score", "op": "gt", "value": 2}) == {1}
        assert members(shop, {"field": "attributes.score", "op": "between", "value": [1, 1.5]}) == {
            2,
            3,
        }
        rule = {"any": [{"field": "attributes.german", "op": "eq", "value": True},
                        {"field": "attributes.score", "op": "eq", "value": "1"}]}  # fmt: skip
        assert members(shop, rule) == {1, 2, 3}
        assert members(shop, {"field": "attributes.german", "op": "ne", "value": True}) == {2, 3}


def test_select_attribute_windows_and_as_of(shop: Engine) -> None:
    with using(_source("recent_spend", "first_paid")):
        spend = {"field": "attributes.recent_spend", "op": "ge", "value": 5001}
        assert members(shop, spend) == {
            2
        }  # 9000 + 500 (a: 5000); the order after the as-of is ignored
        last_month = {**spend, "value": 4000, "window": "last_30_days"}
        assert members(shop, last_month) == {1, 2}
        assert members(shop, {"field": "attributes.recent_spend", "op": "is_not_set"}) == {3}
        first = {"field": "attributes.first_paid", "op": "lt", "value": "2026-01-01"}
        assert members(shop, first) == {1}
        within = {"field": "attributes.first_paid", "op": "within", "window": "last_30_days"}
        assert members(shop, within) == {2}


def test_builtin_one_value_fields_and_min_quantity(shop: Engine) -> None:
    aov = {"field": "average_order_value", "op": "gt", "value": 30}
    assert members(shop, aov) == {2}  # a: (40 + 10) / 2 = 25; b: 90 (cancelled left out)
    assert members(shop, {**aov, "window": "last_30_days"}) == {1, 2}
    assert members(shop, {"field": "last_order_value", "op": "eq", "value": 40}) == {1}
    assert members(shop, {"not": {"field": "last_order_value", "op": "ge", "value": 1}}) == {3}
    first = {"field": "first_order_date", "op": "eq", "value": "2025-06-01"}
    assert members(shop, first) == {1}
    products = {"field": "distinct_products_bought", "op": "ge", "value": 2}
    assert members(shop, products) == {1}  # b's Mug is after the as-of
    beans = {"field": "purchased_product", "op": "has", "value": "espresso beans"}
    assert members(shop, {**beans, "min_quantity": 4}) == {1}  # 2 + 2; b's 5 were cancelled
    assert members(shop, {**beans, "min_quantity": 2, "window": "last_30_days"}) == {1}
    assert members(shop, {**beans, "op": "has_not", "min_quantity": 4}) == {2, 3}


def test_field_sql_gives_values_per_customer(shop: Engine) -> None:
    from sqlalchemy import select

    from syncer.source.active import active

    with using(_source("tier", "recent_spend")):
        exprs = field_sql(["attributes.tier", "attributes.recent_spend", "last_order_value"], AS_OF)
        c = active().customers
        with shop.connect() as conn:
            rows = conn.execute(select(c.c.id, *exprs.values()).order_by(c.c.id)).all()
    assert [(r[0], r[1], r[2] and int(r[2]), r[3]) for r in rows] == [
        (1, "Gold", 5000, 4000), (2, "silver", 9500, 9000), (3, None, None, None)
    ]  # fmt: skip


def test_bad_sql_is_one_line_naming_the_attribute(shop: Engine) -> None:
    with using(_source("tier", "broken")), shop.connect() as conn:
        problems = check_attributes(conn)
    assert len(problems) == 1
    assert problems[0].startswith("attribute 'broken': ")
    assert "nope" in problems[0] and "\n" not in problems[0]


def test_type_decides_the_operators_and_unknown_names() -> None:
    with using(_source("tier", "score")):
        with pytest.raises(ValidationError, match=r"not allowed for field 'attributes.tier'"):
            Segment(name="s", rules={"field": "attributes.tier", "op": "gt", "value": 1})
        with pytest.raises(ValidationError, match="takes no window"):
            Segment(name="s", rules={"field": "attributes.score", "op": "gt", "value": 1,
                                     "window": "last_year"})  # fmt: skip
        with pytest.raises(ValidationError, match=r"unknown attribute 'attributes.tiers'.*tier"):
            Segment(name="s", rules={"field": "attributes.tiers", "op": "is_set"})
    with pytest.raises(ValidationError, match="min_quantity applies to"):
        Segment(name="s", rules={"field": "coupon", "op": "has", "value": "X", "min_quantity": 2})


def test_describe_new_fields() -> None:
    def said(rule: dict[str, Any]) -> str:
        return describe(Segment(name="s", rules=rule))

    beans = {"field": "purchased_product", "op": "has", "value": "Espresso Beans"}
    assert (
        said({**beans, "min_quantity": 3}) == 'Customers who bought at least 3 of "Espresso Beans"'
    )
    aov = {"field": "average_order_value", "op": "gt", "value": 50, "window": "last_year"}
    assert said(aov) == "Customers whose average order value is more than 50 in the last year"
    within = {"field": "first_order_date", "op": "within", "window": "last_30_days"}
    assert said(within) == "Customers whose first order date is in the last 30 days"
    with using(_source("tier")):
        assert said({"field": "attributes.tier", "op": "eq", "value": "Gold"}) == (
            "Customers whose tier is Gold"
        )


@pytest.mark.parametrize("declared", [(), ("tier", "score")])
def test_the_names_a_file_may_use_are_the_columns_with_sql(declared: tuple[str, ...]) -> None:
    """The file model checks names without building SQL; each must have its SQL, and the same
    "can be missing" (what ``require`` accepts)."""
    from syncer.segments.column_names import column_names
    from syncer.segments.columns import all_columns
    from syncer.source.active import using

    with using(_source(*declared)):
        with_sql = {name: column.can_be_missing for name, column in all_columns().items()}
        assert column_names() == with_sql
        assert len(with_sql) > 20 + len(declared)
