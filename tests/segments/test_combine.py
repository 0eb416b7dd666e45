"""Conditions over the same rows are compiled together (one GROUP BY / one EXISTS), and the
merged forms keep the members the reference evaluator (and each condition alone) gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql

from syncer.segments.compiler import members_query
from syncer.segments.loader import load_segments
from syncer.segments.model import Segment
from tests.segments.reference import World, evaluate
from tests.segments.test_compiler import AS_OF, ago, members, seg

PG = postgresql.dialect()  # type: ignore[no-untyped-call]
ROOT_SEGMENTS = Path(__file__).resolve().parents[2] / "config" / "segments"


AS_OF_BOUND = "NOT (EXISTS (SELECT 1 \nFROM customers AS created_later"  # PostgreSQL's as-of


def sql(rules: Any, segments: dict[str, Segment] | None = None) -> str:
    """The members query on PostgreSQL, without its as-of bound's anti-join (one EXISTS of its
    own, the same in every query): what is left is the rules' SQL."""
    query = members_query(seg(rules), segments or {}, as_of=AS_OF)
    return _rules_sql(str(query.compile(dialect=PG)))


def _rules_sql(text: str) -> str:
    assert text.count(AS_OF_BOUND) == 1
    return text.replace(AS_OF_BOUND, "")


def cond(field: str, op: str, value: Any = None, window: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        out["value"] = value
    if window is not None:
        out["window"] = window
    return out


def test_example_vip_customers_groups_orders_once() -> None:
    segments = load_segments(ROOT_SEGMENTS)
    vip = segments["VIP customers"]
    text = str(members_query(vip, segments, as_of=AS_OF).compile(dialect=PG))
    assert text.count("GROUP BY orders.customer_id") == 1
    assert text.count("FROM orders") == 1
    assert "HAVING count(*) >" in text and "sum(CASE WHEN" in text
    lapsed = segments["Lapsed VIPs"]  # in_segment inlines VIP: still one GROUP BY on orders
    text = str(members_query(lapsed, segments, as_of=AS_OF).compile(dialect=PG))
    assert text.count("GROUP BY orders.customer_id") == 1


def test_example_product_a_or_b_is_one_exists() -> None:
    segments = load_segments(ROOT_SEGMENTS)
    query = members_query(segments["Product A or B buyers"], segments, as_of=AS_OF)
    text = _rules_sql(str(query.compile(dialect=PG)))
    assert text.count("EXISTS") == 1 and text.count("JOIN order_lines") == 1
    params = query.compile().params
    assert {"french press", "aeropress"} <= set(params.values())  # bound (folded), not spliced
    assert "french press" not in text.lower()


@pytest.mark.parametrize(
    ("rules", "table", "groups"),
    [
        ({"all": [cond("visits", "gt", 10), cond("days_since_last_visit", "lt", 7)]}, "visits", 1),
        # one condition that drops customers without visits: the other may join its HAVING
        ({"all": [cond("visits", "lt", 3), cond("days_since_last_visit", "lt", 15)]}, "visits", 1),
        # both keep customers without orders: each keeps its own exact form
        ({"all": [cond("orders", "lt", 3), cond("total_spent", "lt", 100)]}, "orders", 2),
        # different windows: different rows
        ({"all": [cond("orders", "gt", 1), cond("orders", "gt", 0, "last_30_days")]}, "orders", 1),
        ({"not": {"any": [cond("orders", "le", 2), cond("total_spent", "le", 500)]}}, "orders", 1),
    ],
)
def test_and_of_aggregates_shapes(rules: dict[str, Any], table: str, groups: int) -> None:
    text = sql(rules)
    assert text.count(f"GROUP BY {table}.customer_id") == groups


def test_example_engaged_mobile_browsers_reads_visits_once() -> None:
    segments = load_segments(ROOT_SEGMENTS)
    query = members_query(segments["Engaged mobile browsers"], segments, as_of=AS_OF)
    text = str(query.compile(dialect=PG))
    # the 30-day visit is counted in the preferred device's GROUP BY, not a second read
    assert text.count("FROM visits") == 1
    assert text.count("GROUP BY visits.customer_id") == 1


@pytest.mark.parametrize(
    ("rules", "reads"),
    [
        # a narrower window is counted with a CASE inside the wider one's GROUP BY
        ({"all": [cond("orders", "gt", 1), cond("orders", "gt", 0, "last_30_days")]}, 1),
        ({"all": [cond("visits", "ge", 1, "last_7_days"),
                  cond("days_since_last_visit", "gt", 3)]}, 1),
        # windows where neither covers the other: separate reads
        (
            {"all": [cond("orders", "gt", 1, "last_30_days"),
                     cond("orders", "gt", 0, {"between": ["2020-01-01", "2020-02-01"]})]},
            2,
        ),
    ],
)  # fmt: skip
def test_and_of_aggregates_over_windows_reads_once(rules: dict[str, Any], reads: int) -> None:
    assert sql(rules).count("FROM orders") + sql(rules).count("FROM visits") == reads


def test_or_of_has_and_and_of_has_not_share_one_subquery() -> None:
    has = [cond("purchased_product", "has", v, "last_year") for v in ("A", "B")]
    assert (
        sql({"any": [*has, cond("purchased_product", "in", ["C"], "last_year")]}).count("EXISTS")
        == 1
    )
    has_not = [cond("tag", "has_not", v) for v in ("x", "y")]
    text = sql({"all": has_not})
    assert text.count("EXISTS") == 1 and "NOT (EXISTS" in text
    other_window = [*has[:1], cond("purchased_product", "has", "B", "last_30_days")]
    assert sql({"any": other_window}).count("EXISTS") == 2
    clicks = [cond(f, "ge", 1, "last_6_months") for f in ("email_clicks", "email_conversions")]
    text = sql({"any": clicks})
    assert text.count("EXISTS") == 1
    assert "email_events.kind IN (__[POSTCOMPILE_" in text  # the index on kind can take it


@pytest.fixture
def shop(engine: Engine) -> World:
    w = World()
    w.add("products", name="Espresso Beans", sku="SKU-1", vendor="Roasters")
    w.add("products", name="Burr Grinder", sku="SKU-2", vendor="Grind")
    # 1: three paid orders, 600 spent, last 10 days ago; 2: two cancelled orders only;
    # 3: no orders; 4: one paid order of 50 a year ago plus a refunded one; 5: visits only
    spec = {1: [(10, 20000, "paid"), (40, 20000, "paid"), (70, 20000, "paid")],
            2: [(5, 90000, "cancelled"), (6, 90000, "cancelled")], 3: [],
            4: [(400, 5000, "paid"), (20, 8000, "refunded")], 5: []}  # fmt: skip
    for cid, orders in spec.items():
        w.customer()
        for n, (days, cents, status) in enumerate(orders):
            refund = cents if status == "refunded" else 0
            o = w.add("orders", customer_id=cid, placed_at=ago(days), total_cents=cents,
                      status=status, refunded_cents=refund)  # fmt: skip
            w.add("order_lines", order_id=o["id"], product_id=1 + (cid + n) % 2, price_cents=1)
    for cid, days in ((1, 1), (1, 2), (5, 3), (5, 200), (4, 16)):
        w.add("visits", customer_id=cid, at=ago(days), device="mobile")
    w.insert(engine)
    return w


MIXED = [
    [cond("orders", "ge", 1), cond("total_spent", "lt", 100)],
    [cond("orders", "gt", 1), cond("orders", "eq", 0)],
    [cond("cancelled_orders", "ge", 1), cond("total_spent", "eq", 0)],
    [cond("orders", "ge", 2), cond("total_spent", "between", [0, 100])],
    [cond("orders", "ne", 1), cond("days_since_last_order", "lt", 30)],
    [cond("refunded_orders", "eq", 0), cond("days_since_last_order", "gt", 5)],
    [cond("orders", "lt", 3), cond("total_spent", "lt", 100)],
    [cond("days_since_last_order", "is_set"), cond("total_spent", "le", 100)],
    [cond("days_since_last_order", "is_not_set"), cond("orders", "eq", 0)],
    [cond("visits", "lt", 3), cond("days_since_last_visit", "lt", 15)],
    [cond("visits", "le", 1), cond("preferred_device", "ne", "mobile")],
    [cond("orders", "ge", 1, "last_year"), cond("total_spent", "gt", 100, "last_year")],
    [cond("purchased_product", "has_not", "SKU-1"), cond("purchased_product", "has_not", "x")],
    [{"not": cond("orders", "gt", 2)}, cond("total_spent", "gt", 100)],
    [cond("orders", "gt", 1), cond("orders", "ge", 1, "last_30_days")],
    [cond("orders", "lt", 3), cond("total_spent", "gt", 100, "last_year")],
    [cond("orders", "ge", 1, "last_year"), cond("refunded_orders", "eq", 0, "last_30_days")],
    [cond("preferred_device", "eq", "mobile"), cond("visits", "ge", 1, "last_7_days")],
    [cond("days_since_last_visit", "gt", 2), cond("visits", "lt", 2, "last_7_days")],
    [cond("days_since_last_order", "lt", 50), cond("total_spent", "eq", 0, "last_30_days")],
]


@pytest.mark.parametrize("conds", MIXED, ids=[str(m) for m in MIXED])
def test_mixed_groups_keep_reference_members(
    engine: Engine, shop: World, conds: list[dict[str, Any]]
) -> None:
    everyone = {1, 2, 3, 4, 5}
    alone = [members(engine, c) for c in conds]
    for kind in ("all", "any"):
        rules = {kind: conds}
        got = members(engine, rules)
        assert got == evaluate(seg(rules).rules, shop, {}, AS_OF)
        combined = set.intersection(*alone) if kind == "all" else set.union(*alone)
        assert got == combined
        assert members(engine, {"not": rules}) == everyone - got
