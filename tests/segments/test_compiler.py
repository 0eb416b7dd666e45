"""Each field at its boundaries on every backend: >, >=, window edges, no rows, NULLs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from syncer.errors import SegmentError
from syncer.segments.compiler import condition_counts, count_query, members_query
from syncer.segments.loader import parse_segment
from syncer.segments.model import Segment
from tests.segments.reference import World, evaluate

AS_OF = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def ago(days: int, seconds: int = 0) -> datetime:
    return AS_OF - timedelta(days=days, seconds=seconds)


def seg(rules: Any, name: str = "s") -> Segment:
    return parse_segment({"name": name, "rules": rules}, source="test")


def members(engine: Engine, rules: Any, segments: dict[str, Segment] | None = None) -> set[int]:
    s = seg(rules)
    with engine.connect() as conn:
        return {r.customer_id for r in conn.execute(members_query(s, segments or {}, as_of=AS_OF))}


@pytest.fixture
def world(engine: Engine) -> World:
    w = World()
    w.add("products", name="Espresso Beans", sku="COF-ESP-1KG", vendor="Hilltop Roasters")
    w.add("products", name="Burr Grinder", sku="EQP-GRN-BUR", vendor="Northern Grind")
    w.add("collections", name="Coffee")
    w.add("product_collections", product_id=1, collection_id=1)
    # 1: three orders, last exactly 30 days ago, 500.00 spent net; 2: one order 31 days ago
    # 3: never ordered, zip "94_07", no country; 4: one cancelled order, mobile visits
    a = w.customer(zip="94107", country="DE", loyalty_card="Gold", accepts_marketing=True)
    b = w.customer(zip="9410", country="de", status="churned")
    c = w.customer(zip="94_07", loyalty_card="gold")
    d = w.customer(zip=None, email="x%y@example.com", created_at=ago(10))
    for days, cents, refund in ((100, 30000, 0), (60, 30000, 10000), (30, 0, 0)):
        o = w.add("orders", customer_id=a, placed_at=ago(days), total_cents=cents,
                  refunded_cents=refund, status="paid", coupon_code="WELCOME10")  # fmt: skip
        w.add("order_lines", order_id=o["id"], product_id=1, price_cents=100)
    o = w.add("orders", customer_id=b, placed_at=ago(31), total_cents=50001, status="paid")
    w.add("order_lines", order_id=o["id"], product_id=2, price_cents=100)
    o = w.add("orders", customer_id=d, placed_at=ago(5), total_cents=900, status="cancelled")
    w.add("order_lines", order_id=o["id"], product_id=1, price_cents=100)
    for days, device in ((1, "mobile"), (2, "mobile"), (3, "desktop")):
        w.add("visits", customer_id=d, at=ago(days), device=device)
    w.add("visits", customer_id=c, at=ago(7), device="tablet")
    w.add("cart_events", customer_id=d, product_id=2, at=ago(3))
    w.add("cart_events", customer_id=a, product_id=1, at=ago(40))  # ordered after: not abandoned
    w.add("customer_tags", customer_id=b, tag="Wholesale")
    w.add("email_events", customer_id=a, kind="open", at=ago(92))
    w.add("reviews", customer_id=b, product_id=2, rating=4, created_at=ago(1))
    w.insert(engine)
    return w


CASES: list[tuple[dict[str, Any], set[int]]] = [
    ({"field": "orders", "op": "gt", "value": 2}, {1}),
    ({"field": "orders", "op": "ge", "value": 3}, {1}),
    ({"field": "orders", "op": "eq", "value": 0}, {3}),
    ({"field": "orders", "op": "lt", "value": 1}, {3}),
    ({"field": "orders", "op": "le", "value": 1}, {2, 3, 4}),
    ({"field": "orders", "op": "ne", "value": 1}, {1, 3}),
    ({"field": "orders", "op": "ge", "value": 1, "window": {"last_days": 30}}, {1, 4}),
    ({"field": "orders", "op": "ge", "value": 1, "window": "last_29_days"}, {4}),
    ({"field": "orders", "op": "between", "value": [1, 2]}, {2, 4}),
    ({"field": "cancelled_orders", "op": "ge", "value": 1}, {4}),
    ({"field": "total_spent", "op": "ge", "value": 500}, {1, 2}),
    ({"field": "total_spent", "op": "gt", "value": 500}, {2}),
    ({"field": "total_spent", "op": "gt", "value": 500.00}, {2}),
    ({"field": "total_spent", "op": "lt", "value": "0.01"}, {3, 4}),
    ({"field": "days_since_last_order", "op": "gt", "value": 30}, {2}),
    ({"field": "days_since_last_order", "op": "ge", "value": 30}, {1, 2}),
    ({"field": "days_since_last_order", "op": "lt", "value": 30}, {4}),
    ({"field": "days_since_last_order", "op": "is_not_set"}, {3}),
    ({"field": "days_since_last_order", "op": "ne", "value": 30}, {2, 3, 4}),
    ({"field": "zip", "op": "starts_with", "value": "94_"}, {3}),
    ({"field": "zip", "op": "starts_with", "value": "9410"}, {1, 2}),
    ({"field": "zip", "op": "is_not_set"}, {4}),
    ({"field": "zip", "op": "in", "value": ["9410", "94107"]}, {1, 2}),
    ({"field": "email", "op": "contains", "value": "%"}, {4}),
    ({"field": "country", "op": "eq", "value": "DE"}, {1, 2}),
    ({"field": "country", "op": "ne", "value": "de"}, {3, 4}),
    ({"field": "loyalty_card", "op": "eq", "value": "GOLD"}, {1, 3}),
    ({"field": "status", "op": "eq", "value": "'; DROP TABLE customers; --"}, set()),
    ({"field": "consent", "op": "eq", "value": True}, {1}),
    ({"field": "consent", "op": "ne", "value": True}, {2, 3, 4}),
    ({"field": "tag", "op": "has", "value": "wholesale"}, {2}),
    ({"field": "tag", "op": "is_not_set"}, {1, 3, 4}),
    ({"field": "created", "op": "within", "window": "last_10_days"}, {4}),
    ({"field": "created", "op": "lt", "value": date(2026, 1, 1)}, {1, 2, 3}),
    ({"field": "coupon", "op": "has", "value": "welcome10"}, {1}),
    ({"field": "coupon", "op": "is_not_set"}, {2, 3, 4}),
    ({"field": "coupon_orders", "op": "eq", "value": 3}, {1}),
    ({"field": "purchased_product", "op": "has", "value": "espresso beans"}, {1}),
    ({"field": "purchased_product", "op": "has", "value": "EQP-GRN-BUR"}, {2}),
    ({"field": "purchased_product", "op": "has_not", "value": "Espresso Beans"}, {2, 3, 4}),
    ({"field": "purchased_vendor", "op": "in", "value": ["Northern Grind"]}, {2}),
    ({"field": "purchased_collection", "op": "has", "value": "Coffee"}, {1}),
    ({"field": "reviewed_product", "op": "has", "value": "Burr Grinder"}, {2}),
    ({"field": "visits", "op": "ge", "value": 3}, {4}),
    ({"field": "visits", "op": "eq", "value": 0}, {1, 2}),
    ({"field": "days_since_last_visit", "op": "gt", "value": 6}, {3}),
    ({"field": "days_since_last_visit", "op": "gt", "value": 7}, set()),
    ({"field": "preferred_device", "op": "eq", "value": "mobile"}, {4}),
    ({"field": "preferred_device", "op": "ne", "value": "mobile"}, {1, 2, 3}),
    ({"field": "preferred_device", "op": "eq", "value": "desktop", "window": "last_2_days"}, set()),
    ({"field": "visited_device", "op": "has", "value": "desktop"}, {4}),
    ({"field": "abandoned_carts", "op": "ge", "value": 1, "window": "last_7_days"}, {4}),
    ({"field": "cart_adds", "op": "ge", "value": 1}, {1, 4}),
    ({"field": "email_opens", "op": "ge", "value": 1, "window": "last_3_months"}, set()),
    ({"field": "email_opens", "op": "ge", "value": 1, "window": "last_6_months"}, {1}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_field_boundaries(engine: Engine, world: World, rule: dict[str, Any], expected: set[int]):
    assert members(engine, rule) == expected
    s = seg(rule)
    assert evaluate(s.rules, world, {}, AS_OF) == expected  # the reference agrees
    assert members(engine, {"not": rule}) == {1, 2, 3, 4} - expected


def test_groups_refs_and_counts(engine: Engine, world: World) -> None:
    vip = seg({"all": [{"field": "orders", "op": "ge", "value": 1},
                       {"field": "total_spent", "op": "ge", "value": 500}]}, "VIP")  # fmt: skip
    rules = {"any": [{"in_segment": "VIP"}, {"field": "visits", "op": "ge", "value": 3}]}
    assert members(engine, rules, {"VIP": vip}) == {1, 2, 4}
    s = seg(rules)
    with engine.connect() as conn:
        assert conn.execute(count_query(s, {"VIP": vip}, as_of=AS_OF)).scalar_one() == 3
        counts = [
            (p, conn.execute(q).scalar_one())
            for p, _t, q in condition_counts(s, {"VIP": vip}, as_of=AS_OF)
        ]
    assert counts == [("rules", 3), ("rules.any[0]", 2), ("rules.any[1]", 1)]
    assert "customers" in inspect(engine).get_table_names()  # the injection value did nothing


def test_reference_loop_is_an_error(engine: Engine) -> None:
    a = seg({"in_segment": "b"}, "a")
    b = seg({"in_segment": "a"}, "b")
    with pytest.raises(SegmentError, match="a -> b -> a"):
        members_query(a, {"a": a, "b": b}, as_of=AS_OF)


def test_values_are_bound_parameters() -> None:
    s = seg({"field": "status", "op": "eq", "value": "'; DROP TABLE customers; --"})
    assert "DROP" not in str(members_query(s, {}, as_of=AS_OF))
