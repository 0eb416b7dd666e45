"""The WooCommerce presets over real WooCommerce tables, filled from the sample shop by the
translator: every example segment whose fields the preset offers gives exactly the native
members (by email)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from syncer.sample.platforms.woocommerce import (
    tables,
    write_woocommerce_hpos,
    write_woocommerce_legacy,
)
from syncer.sample.shop import generate
from syncer.segments.compiler import members_query
from syncer.segments.loader import load_segments, parse_segment
from syncer.segments.model import Condition, Group, Not, Segment, SegmentRef
from syncer.source.active import using
from syncer.source.load import source_from
from syncer.source.model import parse_source
from syncer.source.tables import Source, native_source

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "segments"


def fields(seg: Segment, segments: dict[str, Segment]) -> set[str]:
    out: set[str] = set()
    stack: list[object] = [seg.rules]
    while stack:
        node = stack.pop()
        if isinstance(node, Condition):
            out.add(node.field)
        elif isinstance(node, Group):
            stack.extend(node.rules)
        elif isinstance(node, Not):
            stack.append(node.rule)
        elif isinstance(node, SegmentRef):
            stack.append(segments[node.segment].rules)
    return out


def emails(engine: Engine, source: Source, seg: Segment, segments: dict[str, Segment]) -> set[str]:
    with using(source), engine.connect() as conn:
        rows = conn.execute(members_query(seg, segments, as_of=AS_OF))
        return {str(r.email).strip().lower() for r in rows}


def compare(engine: Engine, source: Source) -> dict[str, int]:
    segments = dict(load_segments(EXAMPLES))
    counts: dict[str, int] = {}
    for name, seg in segments.items():
        if any(source.missing(f) for f in fields(seg, segments)):
            continue
        native = emails(engine, native_source(), seg, segments)
        assert emails(engine, source, seg, segments) == native, name
        counts[name] = len(native)
    return counts


@pytest.mark.parametrize("db_url", ["sqlite", "mariadb"], indirect=True)
def test_hpos_preset_gives_the_native_members(engine: Engine) -> None:
    generate(engine, customers=400, seed=11, as_of=AS_OF)
    write_woocommerce_hpos(engine, prefix="wp_")
    spec = parse_source(
        {
            "preset": "woocommerce-hpos",
            "prefix": "wp_",
            "options": {"consent_meta_key": "newsletter_optin"},
        },
        where="source.yaml",
    )
    source = source_from(spec, "source.yaml")
    counts = compare(engine, source)
    print("woocommerce-hpos", counts)
    assert len(counts) >= 6 and sum(counts.values()) > 0
    assert source.missing("visits") is not None and "absent" in str(source.missing("visits"))


def test_hpos_preset_without_consent_key_says_so() -> None:
    spec = parse_source({"preset": "woocommerce-hpos", "prefix": "wp_"}, where="source.yaml")
    source = source_from(spec, "source.yaml")
    assert "consent_meta_key" in str(source.missing("consent"))
    assert source.missing("purchased_collection") is None


# Every example segment over the postmeta rows on MariaDB: minutes beside the parallel workers.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("db_url", ["sqlite", "mariadb"], indirect=True)
def test_legacy_preset_gives_the_native_members(engine: Engine) -> None:
    generate(engine, customers=400, seed=11, as_of=AS_OF)
    write_woocommerce_legacy(engine, prefix="wp_")
    spec = parse_source(
        {
            "preset": "woocommerce-legacy",
            "prefix": "wp_",
            "options": {"consent_meta_key": "newsletter_optin"},
        },
        where="source.yaml",
    )
    counts = compare(engine, source_from(spec, "source.yaml"))
    print("woocommerce-legacy", counts)
    assert len(counts) >= 6 and sum(counts.values()) > 0


def _hpos() -> Source:
    spec = parse_source({"preset": "woocommerce-hpos", "prefix": "wp_"}, where="source.yaml")
    return source_from(spec, "source.yaml")


def _sql(source: Source, rules: dict[str, object]) -> str:
    seg = parse_segment({"name": "s", "rules": rules}, source="test")
    with using(source):
        return str(members_query(seg, {"s": seg}, as_of=AS_OF)).upper()


def test_hpos_has_a_row_is_a_grouped_set_of_people() -> None:
    # grouped, MariaDB looks each person up in the set instead of a semi-join that indexes
    # the whole people table; over the native schema it stays a correlated EXISTS
    rules = {"all": [{"field": "orders", "op": "ge", "value": 1}]}
    mapped = _sql(_hpos(), rules)
    assert "PERSON IN (SELECT" in mapped and "HAVING COUNT(*) > " in mapped
    native = _sql(native_source(), rules)
    assert "EXISTS (SELECT" in native and "HAVING" not in native


def test_hpos_bought_and_orders_read_the_orders_once() -> None:
    # over a source keyed by email each read of the orders evaluates the orders model: an item
    # bought (or not) next to an orders aggregate is counted in the aggregate's GROUP BY, the
    # order's lines looked up in one set of order ids; the native schema keeps its EXISTS
    rules = {
        "all": [
            {"field": "purchased_product", "op": "has", "value": "Espresso Beans"},
            {"field": "purchased_collection", "op": "has_not", "value": "Equipment"},
            {"field": "days_since_last_order", "op": "gt", "value": 30},
        ]
    }
    mapped = _sql(_hpos(), rules)
    assert mapped.count("GROUP BY ORDERS.CUSTOMER_ID") == 1
    assert mapped.count("ORDERS.ID IN (SELECT ORDER_LINES.ORDER_ID") == 2
    assert "EXISTS" not in mapped and "JOIN (SELECT ORDER_LINES_MODEL" not in mapped
    native = _sql(native_source(), rules)
    assert native.count("EXISTS (SELECT") == 2 and native.count("GROUP BY") == 1


BOUGHT_WITH_ORDERS = [
    # an item in a narrower window than the aggregate's, a coupon, an item never bought, and
    # items without an aggregate (merged with each other)
    {"all": [
        {"field": "purchased_product", "op": "has", "value": "Espresso Beans",
         "window": "last_year"},
        {"field": "orders", "op": "ge", "value": 2},
    ]},
    {"all": [
        {"field": "coupon", "op": "has", "value": "WELCOME10"},
        {"field": "total_spent", "op": "gt", "value": 50},
    ]},
    {"all": [
        {"field": "orders", "op": "ge", "value": 1},
        {"not": {"field": "purchased_collection", "op": "has", "value": "Coffee"}},
    ]},
    {"all": [
        {"field": "purchased_collection", "op": "has", "value": "Brewing"},
        {"field": "purchased_product", "op": "has_not", "value": "Pour-over Kettle"},
    ]},
]  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite", "mariadb"], indirect=True)
def test_hpos_bought_merged_with_orders_gives_the_native_members(engine: Engine) -> None:
    generate(engine, customers=400, seed=11, as_of=AS_OF)
    write_woocommerce_hpos(engine, prefix="wp_")
    spec = parse_source(
        {"preset": "woocommerce-hpos", "prefix": "wp_", "options": {"consent_meta_key": "optin"}},
        where="source.yaml",
    )
    source = source_from(spec, "source.yaml")
    for i, rules in enumerate(BOUGHT_WITH_ORDERS):
        seg = parse_segment({"name": f"s{i}", "rules": rules}, source="test")
        native = emails(engine, native_source(), seg, {seg.name: seg})
        assert native, rules
        assert emails(engine, source, seg, {seg.name: seg}) == native, rules


@pytest.mark.parametrize("db_url", ["sqlite", "mariadb"], indirect=True)
def test_hpos_an_accented_email_is_another_person(engine: Engine) -> None:
    """An account "josé@" and guest orders by "jose@" are two people, as natively (Python
    folds case, never accents): the preset groups the people by the email's exact characters
    on MariaDB too, whose default collation would make them one, and the orders find each
    person by the same characters (``syncer/source/person_key.py``)."""
    meta = tables("wp_")
    meta.create_all(engine)
    at = datetime(2026, 2, 1, 10, 0)
    order = {"type": "shop_order", "status": "wc-completed", "total_amount": 10}
    with engine.begin() as conn:
        conn.execute(
            insert(meta.tables["wp_users"]),
            [{"ID": 1, "user_email": "josé@example.com", "user_registered": at}],
        )
        conn.execute(
            insert(meta.tables["wp_wc_orders"]),
            [
                {
                    **order,
                    "date_created_gmt": at,
                    "id": i,
                    "customer_id": cid,
                    "billing_email": mail,
                }
                for i, cid, mail in (
                    (10, 1, "josé@example.com"),
                    (11, 0, "jose@example.com"),
                    (12, 0, " JOSE@example.com"),
                )
            ],
        )
    spec = parse_source(
        {"preset": "woocommerce-hpos", "prefix": "wp_", "options": {"consent_meta_key": "optin"}},
        where="source.yaml",
    )
    source = source_from(spec, "source.yaml")

    def ids(rules: dict[str, object]) -> list[int]:
        seg = parse_segment({"name": "s", "rules": rules}, source="test")
        with using(source), engine.connect() as conn:
            rows = conn.execute(members_query(seg, {"s": seg}, as_of=AS_OF))
            return sorted(r.customer_id for r in rows)

    assert ids({"field": "orders", "op": "ge", "value": 2}) == [-11]
    assert ids({"field": "orders", "op": "eq", "value": 1}) == [1]
