"""``--as-of D`` is the shop as it was at D: rows after D count for no condition, and customers
created after D are nobody's members."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.dialects import mysql, postgresql, sqlite

from syncer.segments.compiler import condition_counts, count_query, members_query
from syncer.segments.loader import parse_segment
from syncer.source.active import using
from syncer.source.tables import native_source
from tests.segments.reference import World, evaluate

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine) -> World:
    w = World()
    w.add("products", name="Beans", sku="B-1", vendor="Roaster")
    w.add("collections", name="Coffee")
    w.add("product_collections", product_id=1, collection_id=1)
    # 1: a cart add before as-of, the order that follows it only after as-of
    one = w.customer()
    w.add("cart_events", customer_id=one, product_id=1, at=at(2, 20))
    w.add("orders", customer_id=one, placed_at=at(3, 5), total_cents=1000)
    # 2: one order before as-of, one after (with a coupon, a product, a visit, an email)
    two = w.customer()
    w.add("orders", customer_id=two, placed_at=at(1, 10), total_cents=1000)
    late = w.add("orders", customer_id=two, placed_at=at(3, 10), total_cents=90000,
                 coupon_code="LATE")  # fmt: skip
    w.add("order_lines", order_id=late["id"], product_id=1, price_cents=100)
    w.add("visits", customer_id=two, at=at(3, 2), device="mobile")
    w.add("email_events", customer_id=two, kind="open", at=at(3, 2))
    w.add("reviews", customer_id=two, product_id=1, rating=5, created_at=at(3, 2))
    # 3: created after as-of
    w.customer(created_at=at(3, 5))
    # 4: created after as-of, with an order and a visit before it (still nobody's member)
    four = w.customer(created_at=at(3, 5))
    w.add("orders", customer_id=four, placed_at=at(1, 10), total_cents=1000)
    w.add("visits", customer_id=four, at=at(2, 2), device="mobile")
    w.insert(engine)
    return w


def rule(field: str, op: str, value: Any = None, window: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "op": op, "value": value}
    return {**out, "window": window} if window else out


CASES: list[tuple[dict[str, Any], set[int]]] = [
    (rule("abandoned_carts", "ge", 1), {1}),
    (rule("abandoned_carts", "ge", 1, "last_30_days"), {1}),
    (rule("orders", "eq", 0), {1}),
    (rule("orders", "eq", 1, "all_time"), {2}),
    (rule("orders", "ge", 1), {2}),
    ({"all": [rule("orders", "ge", 1), rule("total_spent", "ge", 5)]}, {2}),
    (rule("orders", "ge", 1, {"between": ["2026-02-01", "2026-03-31"]}), set()),
    (rule("total_spent", "lt", 100), {1, 2}),
    (rule("days_since_last_order", "ge", 40), {2}),
    (rule("days_since_last_order", "is_not_set"), {1}),
    (rule("coupon", "is_set"), set()),
    (rule("purchased_collection", "has", "Coffee"), set()),
    (rule("visits", "eq", 0), {1, 2}),
    (rule("visits", "ge", 1), set()),
    (rule("days_since_last_visit", "is_set"), set()),
    (rule("visited_device", "has", "mobile"), set()),
    (rule("preferred_device", "is_not_set"), {1, 2}),
    (rule("email_opens", "ge", 1), set()),
    (rule("reviewed_product", "has", "Beans"), set()),
    (rule("created", "ge", "2026-01-01"), set()),
    (rule("consent", "eq", False), {1, 2}),
]


@pytest.mark.parametrize(("rules", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_as_of_ignores_later_rows(
    engine: Engine, world: World, rules: dict[str, Any], expected: set[int]
) -> None:
    for tree, want in ((rules, expected), ({"not": rules}, {1, 2} - expected)):
        s = parse_segment({"name": "s", "rules": tree}, source="test")
        with engine.connect() as conn:
            got = {r.customer_id for r in conn.execute(members_query(s, {}, as_of=AS_OF))}
            assert got == want
            assert conn.execute(count_query(s, {}, as_of=AS_OF)).scalar_one() == len(want)
            counts = [
                conn.execute(q).scalar_one() for _p, _t, q in condition_counts(s, {}, as_of=AS_OF)
            ]
            assert counts[0] == len(want)
        assert evaluate(s.rules, world, {}, AS_OF) == want  # the reference agrees


def test_a_later_as_of_sees_the_later_rows(engine: Engine, world: World) -> None:
    later = datetime(2026, 4, 1, tzinfo=UTC)
    s = parse_segment({"name": "s", "rules": rule("abandoned_carts", "ge", 1)}, source="test")
    with engine.connect() as conn:
        assert {r.customer_id for r in conn.execute(members_query(s, {}, as_of=later))} == set()
    s = parse_segment({"name": "s", "rules": rule("orders", "eq", 0)}, source="test")
    with engine.connect() as conn:
        assert {r.customer_id for r in conn.execute(members_query(s, {}, as_of=later))} == {3}


def test_postgresql_leaves_out_later_customers_by_an_anti_join() -> None:
    """On PostgreSQL the bound is "no customer with this id created later" (planned after the
    segment's own joins, not a filter on every customer); elsewhere the plain filter."""
    s = parse_segment({"name": "s", "rules": rule("visits", "ge", 1)}, source="test")
    query = members_query(s, {}, as_of=AS_OF)
    pg = str(query.compile(dialect=postgresql.dialect()))
    assert "NOT (EXISTS (SELECT 1 \nFROM customers AS created_later" in pg
    assert "created_later.id = customers.id AND created_later.created_at >" in pg
    assert "customers.created_at <=" not in pg
    for dialect in (sqlite.dialect(), mysql.dialect()):
        text = str(query.compile(dialect=dialect))
        assert "created_later" not in text
        assert "customers.created_at" in text


def test_a_mapped_customers_table_keeps_the_plain_bound_on_postgresql() -> None:
    native = native_source()
    shop = native.tables["customers"].alias("shop_customers")
    s = parse_segment({"name": "s", "rules": rule("visits", "ge", 1)}, source="test")
    with using(replace(native, tables={**native.tables, "customers": shop})):
        pg = str(members_query(s, {}, as_of=AS_OF).compile(dialect=postgresql.dialect()))
    assert "created_later" not in pg
    assert "shop_customers.created_at <=" in pg
