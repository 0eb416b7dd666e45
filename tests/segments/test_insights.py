"""Segment insights equal a plain Python computation over the same rows, on every database.

The sample shop (a few hundred customers) is generated into each database; the test reads its
rows back into Python (the product never does) and computes every figure again: nearest-rank
quantiles, histograms, top lists, devices and overlaps, as of two dates and for an empty segment.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, inspect, literal_column, select
from sqlalchemy.exc import DBAPIError

from syncer.errors import ConfigError
from syncer.sample.shop import generate
from syncer.schema import (
    COLLECTIONS,
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    PRODUCT_COLLECTIONS,
    PRODUCTS,
    VISITS,
)
from syncer.segments.compiler import members_query
from syncer.segments.insights import (
    ORDER_EDGES,
    QUANTILES,
    RECENCY_DAYS,
    SPEND_EDGES,
    Insights,
    insights,
    overlap_query,
)
from syncer.segments.loader import parse_segment
from syncer.segments.member_rows import CATALOG, MemberRows
from syncer.segments.model import Segment
from tests.segments.reference import fold

GENERATED = datetime(2026, 3, 1, tzinfo=UTC)
AS_OFS = [GENERATED, GENERATED - timedelta(days=120)]
RULES: dict[str, Any] = {
    "Buyers": {"field": "orders", "op": "ge", "value": 2},
    "Consenting": {"field": "consent", "op": "eq", "value": True},
    "Coffee": {"field": "purchased_collection", "op": "has", "value": "Coffee"},
    "Nobody": {"field": "orders", "op": "gt", "value": 100000},
    "Everyone": {"not": {"field": "orders", "op": "gt", "value": 100000}},
    "Broken": {"in_segment": "No such segment"},
    # for the overlaps: grouped subqueries that keep customers without rows (NOT EXISTS),
    # merged aggregates, days since, a preferred device, a reference, a complement
    "Few orders": {"field": "orders", "op": "lt", "value": 2},
    "Spent and ordered": {
        "all": [
            {"field": "orders", "op": "ge", "value": 2},
            {"field": "total_spent", "op": "gt", "value": 50},
        ]
    },
    "Quiet": {"field": "days_since_last_order", "op": "gt", "value": 30},
    "Mobile": {"field": "preferred_device", "op": "eq", "value": "mobile"},
    "Quiet buyers": {
        "all": [
            {"in_segment": "Buyers"},
            {"field": "days_since_last_visit", "op": "gt", "value": 20},
        ]
    },
    "No coffee": {"field": "purchased_collection", "op": "has_not", "value": "Coffee"},
}


@pytest.fixture
def shop(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    generate(engine, customers=250, seed=7, as_of=GENERATED)
    tables = (CUSTOMERS, ORDERS, ORDER_LINES, PRODUCTS, COLLECTIONS, PRODUCT_COLLECTIONS, VISITS)
    with engine.connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in tables}


@pytest.fixture
def segments() -> dict[str, Segment]:
    return {n: parse_segment({"name": n, "rules": r}, source="test") for n, r in RULES.items()}


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def members(
    engine: Engine, segment: Segment, segments: dict[str, Segment], at: datetime
) -> set[int]:
    with engine.connect() as conn:
        return {r.customer_id for r in conn.execute(members_query(segment, segments, as_of=at))}


def nearest_rank(values: list[Any]) -> dict[str, Any] | None:
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    return {label: ordered[max(1, -(-num * n // den)) - 1] for label, num, den in QUANTILES}


def histogram(values: list[int], edges: tuple[int, ...]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[sum(1 for e in edges if v >= e)] += 1
    return counts


def expected(shop: dict[str, list[dict[str, Any]]], ids: set[int], at: datetime) -> dict[str, Any]:
    """Every figure, computed in Python from the rows."""
    customers = {c["id"]: c for c in shop["customers"] if c["id"] in ids}
    orders = [o for o in shop["orders"] if o["customer_id"] in ids and utc(o["placed_at"]) <= at]
    paid = [o for o in orders if o["status"] != "cancelled"]
    spent = {cid: 0 for cid in ids}
    count = {cid: 0 for cid in ids}
    last: dict[int, datetime] = {}
    for o in orders:
        count[o["customer_id"]] += 1
        when = utc(o["placed_at"])
        last[o["customer_id"]] = max(last.get(o["customer_id"], when), when)
    for o in paid:
        spent[o["customer_id"]] += o["total_cents"] - o["refunded_cents"]
    days = [math.floor((at - t).total_seconds() / 86400) for t in last.values()]
    recency = [0] * (len(RECENCY_DAYS) + 2)
    for d in days:
        recency[sum(1 for edge in RECENCY_DAYS if d > edge)] += 1
    recency[-1] = len(ids) - len(last)
    # who bought what (orders not cancelled, up to the date)
    products = {p["id"]: p for p in shop["products"]}
    collections = {c["id"]: c["name"] for c in shop["collections"]}
    in_collections = defaultdict(set)
    for pc in shop["product_collections"]:
        in_collections[pc["product_id"]].add(pc["collection_id"])
    paid_by_id = {o["id"]: o for o in paid}
    by_product, by_collection, by_vendor = defaultdict(set), defaultdict(set), defaultdict(set)
    for line in shop["order_lines"]:
        order = paid_by_id.get(line["order_id"])
        if order is None:
            continue
        cid, product = order["customer_id"], products[line["product_id"]]
        by_product[product["name"]].add(cid)
        by_vendor[fold(product["vendor"])].add(cid)
        for coll in in_collections[product["id"]]:
            by_collection[collections[coll]].add(cid)
    countries: dict[str | None, int] = defaultdict(int)
    for c in customers.values():
        countries[fold(c["country"] or "")] += 1
    devices: dict[str, list[Any]] = defaultdict(lambda: [set(), 0])
    for v in shop["visits"]:
        if v["customer_id"] in ids and utc(v["at"]) <= at:
            devices[v["device"]][0].add(v["customer_id"])
            devices[v["device"]][1] += 1
    return {
        "size": len(ids),
        "consenting": sum(1 for c in customers.values() if c["accepts_marketing"]),
        "buyers": len(last),
        "spent_cents": sum(spent.values()),
        "paid_orders": len(paid),
        "spend_quantiles": nearest_rank(list(spent.values())),
        "orders_quantiles": nearest_rank(list(count.values())),
        "recency_quantiles": nearest_rank(days),
        "spend_histogram": histogram(list(spent.values()), SPEND_EDGES),
        "orders_histogram": histogram(list(count.values()), ORDER_EDGES),
        "recency_histogram": recency,
        "top_products": {k: len(v) for k, v in by_product.items()},
        "top_collections": {k: len(v) for k, v in by_collection.items()},
        "top_vendors": {k: len(v) for k, v in by_vendor.items()},
        "countries": dict(countries),
        "devices": {k: (len(v[0]), v[1]) for k, v in devices.items()},
    }


def actual(result: Insights) -> dict[str, Any]:
    def ranked(items: list[Any], key: Any = lambda n: n) -> dict[str, int]:
        counts = [r.members for r in items]
        assert counts == sorted(counts, reverse=True), "top lists come largest first"
        return {key(r.name): r.members for r in items}

    def countries(name: str) -> str | None:
        return fold("" if name == "(none)" else name)

    return {
        "size": result.size,
        "consenting": result.consenting,
        "buyers": result.buyers,
        "spent_cents": result.spent_cents,
        "paid_orders": result.paid_orders,
        "spend_quantiles": result.spend_quantiles,
        "orders_quantiles": result.orders_quantiles,
        "recency_quantiles": result.recency_quantiles,
        "spend_histogram": [b.count for b in result.spend_histogram],
        "orders_histogram": [b.count for b in result.orders_histogram],
        "recency_histogram": [b.count for b in result.recency_histogram],
        "top_products": ranked(result.top_products),
        "top_collections": ranked(result.top_collections),
        "top_vendors": ranked(result.top_vendors, fold),
        "countries": ranked(result.countries, countries),
        "devices": {d.device: (d.members, d.visits) for d in result.devices},
    }


@pytest.mark.parametrize("at", AS_OFS, ids=["as-generated", "120-days-earlier"])
@pytest.mark.parametrize("name", ["Buyers", "Coffee", "Nobody", "Everyone"])
def test_every_figure_equals_a_python_computation(
    engine: Engine,
    shop: dict[str, list[dict[str, Any]]],
    segments: dict[str, Segment],
    name: str,
    at: datetime,
) -> None:
    ids = members(engine, segments[name], segments, at)
    with engine.connect() as conn:
        result = insights(conn, segments[name], segments, as_of=at, top=1000, overlaps=False)
    assert actual(result) == expected(shop, ids, at) and result.overlaps == []
    if name == "Nobody":
        assert result.size == 0 and result.spend_quantiles is None
        assert result.consent_share is None and result.average_order_cents is None
    else:
        assert result.size > 0 and result.buyers > 0
        total = expected(shop, ids, at)
        assert result.average_order_cents == round(total["spent_cents"] / total["paid_orders"])


@pytest.mark.parametrize("at", AS_OFS, ids=["as-generated", "120-days-earlier"])
@pytest.mark.parametrize("name", ["Buyers", "Coffee", "Few orders"])
def test_overlaps_count_the_intersection_and_note_what_fails(
    engine: Engine,
    shop: dict[str, list[dict[str, Any]]],
    segments: dict[str, Segment],
    name: str,
    at: datetime,
) -> None:
    """Each overlap is the size of the intersection of the two segments' members, each
    evaluated alone over every customer."""
    mine = members(engine, segments[name], segments, at)
    with engine.connect() as conn:
        result = insights(conn, segments[name], segments, as_of=at)
    by_name = {o.segment: o for o in result.overlaps}
    assert set(by_name) == set(RULES) - {name}
    for other, overlap in by_name.items():
        if other == "Broken":
            assert overlap.members is None and "No such segment" in (overlap.note or "")
            continue
        both = len(mine & members(engine, segments[other], segments, at))
        assert (other, overlap.members, overlap.share) == (other, both, both / len(mine))
    partial = [o for o in result.overlaps if o.members and o.members < result.size]
    assert len(partial) >= 4  # the comparison means something


@pytest.mark.parametrize("name", ["Quiet buyers", "No coffee", "Spent and ordered"])
def test_overlap_reads_only_the_members_rows(segments: dict[str, Segment], name: str) -> None:
    """The other segment's rule reads the copies of the members' rows (temporary tables), no
    table of the shop but the catalog, and the copies made are those it reads."""
    rows = MemberRows()
    query = overlap_query(rows.source, segments[name], segments, GENERATED)
    read = set(re.findall(r"(?:FROM|JOIN) (\w+)", str(query.compile())))
    copies = {rows.copies[n].name for n in rows.read if n in rows.copies}
    assert read - set(CATALOG) == copies, read
    assert {"customers", "orders"} <= rows.read


def test_the_copies_are_dropped(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment]
) -> None:
    with engine.connect() as conn:
        insights(conn, segments["Buyers"], segments, as_of=GENERATED)
        for copy in MemberRows().copies.values():
            assert not inspect(conn).has_table(copy.name), copy.name
        with pytest.raises(DBAPIError):
            conn.execute(select(func.count()).select_from(MemberRows().copies["orders"]))


def test_top_lists_keep_the_largest(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment]
) -> None:
    with engine.connect() as conn:
        full = insights(conn, segments["Everyone"], segments, as_of=GENERATED, top=1000)
        short = insights(conn, segments["Everyone"], segments, as_of=GENERATED, top=3)
    assert len(short.top_products) == 3
    assert [r.members for r in short.top_products] == [r.members for r in full.top_products[:3]]


def test_json_is_plain_and_money_in_units(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment]
) -> None:
    with engine.connect() as conn:
        result = insights(conn, segments["Buyers"], segments, as_of=GENERATED)
        empty = insights(conn, segments["Nobody"], segments, as_of=GENERATED)
    data = result.to_json()
    assert data["spent"] == round(result.spent_cents / 100, 2)
    assert data["spend"]["quantiles"]["max"] == round(result.spend_quantiles["max"] / 100, 2)  # type: ignore[index]
    assert data["consent_share"] == round(result.consenting / result.size, 4)
    none = empty.to_json()
    assert none["size"] == 0 and none["average_order_value"] is None
    assert none["spend"]["quantiles"] is None and none["consent_share"] is None


def test_other_threads_compile_over_the_shop_while_overlaps_compile_over_the_copies(
    segments: dict[str, Segment], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web admin answers requests in a pool of threads: while one computes insights, a
    count in another thread still reads the shop's tables, never this call's copies (which
    that thread's connection does not have), and the shop is what stays afterwards."""
    import syncer.segments.insights as module
    from syncer.source.active import active

    seen: list[Any] = []
    compile_rule = module.compile_rule

    def compile_beside_another_thread(*args: Any, **kwargs: Any) -> Any:
        other = threading.Thread(target=lambda: seen.append(active().customers))
        other.start()
        other.join()
        seen.append(active().customers)
        return compile_rule(*args, **kwargs)

    monkeypatch.setattr(module, "compile_rule", compile_beside_another_thread)
    rows = MemberRows()
    overlap_query(rows.source, segments["Spent and ordered"], segments, GENERATED)
    assert len(seen) == 2
    assert seen[0] is CUSTOMERS  # the other thread
    assert seen[1] is rows.source.customers  # this one
    assert active().customers is CUSTOMERS


@pytest.mark.parametrize("figure", ["devices", "tops"])  # tops: while BOUGHT exists too
def test_a_failing_figure_is_the_error_raised_and_the_connection_serves_the_next_call(
    engine: Engine,
    shop: dict[str, list[dict[str, Any]]],
    segments: dict[str, Segment],
    monkeypatch: pytest.MonkeyPatch,
    figure: str,
) -> None:
    """A statement failing midway (a timeout, a cancel) is what the caller sees, not the
    dropping of the copies after it (PostgreSQL refuses every statement of a failed
    transaction; its rollback drops them), and the connection is fit for the next call."""
    import syncer.segments.insights as module

    wrong = literal_column("syncer_no_such_column")

    def devices(rows: Any, as_of: datetime) -> Any:
        return select(wrong).select_from(rows.customers)

    def tops(m: Any, bought: Any, top: int) -> Any:
        return dict.fromkeys(("products", "collections", "vendors", "countries"), select(wrong))

    failing = {"devices": ("devices_query", devices), "tops": ("top_queries", tops)}[figure]
    with engine.connect() as conn:
        with monkeypatch.context() as patch:
            patch.setattr(module, *failing)
            with pytest.raises(DBAPIError, match="syncer_no_such_column"):
                insights(conn, segments["Buyers"], segments, as_of=GENERATED)
        conn.rollback()  # what returning it to the pool does
        again = insights(conn, segments["Buyers"], segments, as_of=GENERATED)
        assert again.size == len(members(engine, segments["Buyers"], segments, GENERATED))
        for copy in MemberRows().copies.values():
            assert not inspect(conn).has_table(copy.name), copy.name


def test_overlaps_on_postgresql_are_planned_without_nested_loops_then_as_before(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment]
) -> None:
    """The copies have no index on PostgreSQL: every overlap statement runs with nested loops
    off (a misestimated side made one scan its inner side per member), the figures and the
    transaction's later statements with the setting as it was."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    seen: dict[str, set[str]] = defaultdict(set)

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT") and "set_config" not in statement:
            kind = "overlap" if statement.startswith("SELECT count(*) AS count_1") else "other"
            shown = cursor.connection.execute("SHOW enable_nestloop").fetchone()[0]
            seen[kind].add(shown)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with engine.connect() as conn:
            insights(conn, segments["Buyers"], segments, as_of=GENERATED)
            after = conn.execute(select(func.current_setting("enable_nestloop"))).scalar_one()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert seen["overlap"] == {"off"} and seen["other"] == {"on"} and after == "on"


def first_in_scatter_order(ids: set[int], keep: int) -> set[int]:
    """The ``keep`` ids a sample keeps, computed in Python: ``member_rows.scatter``'s order."""
    return set(sorted(ids, key=lambda i: ((i % 2**31) * 2_654_435_769) % 2**32)[:keep])


@pytest.mark.parametrize("name", ["Everyone", "Buyers"])
def test_a_sample_gives_its_members_figures_scaled_up_to_the_whole_segment(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment], name: str
) -> None:
    """Over more members than the sample: size and consent count everyone; every other figure
    is the sampled members' own (computed in Python from their rows), each count scaled by
    size / sample, each histogram still adding up to the size; the overlaps are the sample's
    intersections, scaled the same way."""
    ids = members(engine, segments[name], segments, GENERATED)
    keep = 30
    assert len(ids) > 2 * keep
    chosen = first_in_scatter_order(ids, keep)
    with engine.connect() as conn:
        result = insights(conn, segments[name], segments, as_of=GENERATED, top=1000, sample=keep)
    whole, part = expected(shop, ids, GENERATED), expected(shop, chosen, GENERATED)
    got = actual(result)
    scale = len(ids) / keep

    def up(n: int) -> int:
        return round(n * scale)

    assert result.sample == keep and result.to_json()["sample"] == keep
    assert (got["size"], got["consenting"]) == (whole["size"], whole["consenting"])
    for figure in ("buyers", "spent_cents", "paid_orders"):
        assert got[figure] == up(part[figure]), figure
    for figure in ("spend_quantiles", "orders_quantiles", "recency_quantiles"):
        assert got[figure] == part[figure], figure
    for figure in ("spend_histogram", "orders_histogram", "recency_histogram"):
        assert sum(got[figure]) == len(ids), figure
        for g, p in zip(got[figure], part[figure], strict=True):
            # the buyers' buckets share the scaled buyers: half a member of rounding, then one
            assert abs(g - p * scale) < 1.5, (figure, got[figure], part[figure])
    # the members without an order, as every member's figures have them: the same everywhere
    none = got["orders_histogram"][0]
    assert none == got["recency_histogram"][-1] == len(ids) - got["buyers"]
    for figure in ("top_products", "top_collections", "top_vendors", "countries"):
        assert got[figure] == {k: up(v) for k, v in part[figure].items()}, figure
    assert got["devices"] == {k: (up(m), up(v)) for k, (m, v) in part["devices"].items()}
    for overlap in result.overlaps:
        if overlap.members is None:
            continue
        both = len(chosen & members(engine, segments[overlap.segment], segments, GENERATED))
        assert (overlap.members, overlap.share) == (up(both), both / keep), overlap.segment


def test_a_segment_within_the_sample_is_read_whole(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment]
) -> None:
    ids = members(engine, segments["Buyers"], segments, GENERATED)
    with engine.connect() as conn:
        at_size = insights(
            conn, segments["Buyers"], segments, as_of=GENERATED, top=1000, sample=len(ids)
        )
        exact = insights(conn, segments["Buyers"], segments, as_of=GENERATED, top=1000, sample=None)
        with pytest.raises(ConfigError, match="at least 1 member"):
            insights(conn, segments["Buyers"], segments, as_of=GENERATED, sample=0)
    assert at_size.sample is None and exact.sample is None
    assert actual(at_size) == actual(exact) == expected(shop, ids, GENERATED)


def test_scaled_figures_about_the_same_members_agree_at_every_sample_size(
    engine: Engine, shop: dict[str, list[dict[str, Any]]], segments: dict[str, Segment]
) -> None:
    """Buyers, the orders histogram's "0" and the recency's "no orders" describe the same
    members: scaled from any sample they still agree (each rounded alone, they were a member
    apart at each of these sizes, over this shop), and every histogram adds up to the size."""
    size = len(members(engine, segments["Everyone"], segments, GENERATED))
    with engine.connect() as conn:
        for keep in (9, 12, 13, 14, 33, 41, 57, 64):
            got = insights(
                conn, segments["Everyone"], segments, as_of=GENERATED, sample=keep, overlaps=False
            )
            assert got.sample == keep
            none = got.orders_histogram[0].count
            assert none == got.recency_histogram[-1].count == size - got.buyers, keep
            for histogram in (got.spend_histogram, got.orders_histogram, got.recency_histogram):
                assert sum(b.count for b in histogram) == size, keep
