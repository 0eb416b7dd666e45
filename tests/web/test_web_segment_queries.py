"""The segment pages' queries on every database: name suggestions (a bound LIKE, % and _ plain),
one customer's segments (each compiled rule evaluated for one id), the preview's figures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, update

from syncer.sample.shop import generate
from syncer.schema import Customer, Order, Product
from syncer.segments.loader import load_segments
from syncer.source.active import using
from syncer.source.load import source_from
from syncer.source.model import parse_source
from syncer.web.segment_files import SegmentFiles
from syncer.web.segment_queries import customer, draft_text, live, preview, suggest
from tests.source import shopcopy
from tests.sync.fakes import Shop

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_queries_on_every_database(engine: Engine, tmp_path: Path) -> None:
    shop = Shop(engine)
    shop.add(3)
    shop.add(2, start=10, card="Silver")
    with engine.begin() as conn:
        conn.execute(
            insert(Product.__table__),  # type: ignore[attr-defined]
            [{"name": "House Blend", "sku": "HB-1", "vendor": "Roastery"},
             {"name": "Espresso 100%", "sku": "ES-1", "vendor": "Roast_ery"}],
        )  # fmt: skip
        conn.execute(
            insert(Order.__table__),  # type: ignore[attr-defined]
            [{"customer_id": 1, "placed_at": datetime(2026, 1, 5, tzinfo=UTC),
              "total_cents": 1250}],
        )  # fmt: skip
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "gold.yaml").write_text(
        "name: Gold\nrules: {all: [{field: loyalty_card, op: eq, value: Gold}]}\n"
        "destinations: [{profile: mc, list: L1, tag: gold,"
        " fields: {FNAME: first_name, LTV: total_spent}}]\n"
    )
    (segments / "buyers.yaml").write_text(
        "name: Buyers\nrules: {all: [{field: orders, op: ge, value: 1}]}\n"
    )
    assert suggest(engine, "purchased_product", "BLEND") == ["House Blend"]
    assert suggest(engine, "purchased_product", "%") == ["Espresso 100%"]
    assert suggest(engine, "purchased_vendor", "_") == ["Roast_ery"]
    one = customer(engine, segments, 1)
    assert one is not None and sorted(one["segments"]) == ["Buyers", "Gold"]
    assert [o["total_cents"] for o in one["orders"]] == [1250]
    other = customer(engine, segments, 10)
    assert other is not None and other["segments"] == []
    assert customer(engine, segments, 999) is None
    rows = preview(engine, load_segments(segments)["Gold"], segments)
    assert [(r["customer_id"], r["orders"], r["spend_cents"]) for r in rows] == [
        (1, 1, 1250), (2, None, None), (3, None, None)
    ]  # fmt: skip
    # what the destination's mapped fields would receive, formatted as the sync sends them
    assert [r["mapped"] for r in rows] == [
        {"FNAME": "F1", "LTV": "12.5"}, {"FNAME": "F2", "LTV": "0"}, {"FNAME": "F3", "LTV": "0"}
    ]  # fmt: skip


def test_live_count_and_check_on_every_database(engine: Engine, tmp_path: Path) -> None:
    """The builder's live count (one statement outside a transaction, the check in another
    thread): the members and consenting members of the draft, or the check's message."""
    shop = Shop(engine)
    shop.add(3)
    shop.add(2, start=10, card="Silver")
    c = Customer.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(c).where(c.c.id == 2).values(accepts_marketing=False))
        consenting = conn.execute(
            select(func.count()).where(c.c.loyalty_card == "Gold", c.c.accepts_marketing)
        ).scalar_one()
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "silver.yaml").write_text(
        "name: Silver\nrules: {all: [{field: loyalty_card, op: eq, value: Silver}]}\n"
    )
    files = SegmentFiles()
    rule = {"all": [{"field": "loyalty_card", "op": "eq", "value": "Gold"}]}
    text = draft_text("Gold", "", rule)
    answer = live(engine, files, segments, segments / "gold.yaml", text, funnel=False)
    assert (answer.error, answer.count, answer.consenting) == (None, 3, consenting)
    assert consenting < 3
    taken = draft_text("Silver", "", rule)  # compiles, but the folder has a Silver already
    refused = live(engine, files, segments, segments / "gold.yaml", taken, funnel=False)
    assert refused.count is None and refused.error is not None
    assert "duplicate segment name 'Silver'" in refused.error


def test_preview_and_customer_over_a_shop_keyed_by_email(engine: Engine, tmp_path: Path) -> None:
    """Over ``identity: email`` the other tables' rows carry the person (the folded email; on
    MariaDB its digest), not the customer's id: the preview's figures and the customer page's
    orders are the native ones, and no key is shown."""
    generate(engine, customers=60, seed=11, as_of=AS_OF)
    shopcopy.copy_shop(engine, by_email=True)
    source = source_from(parse_source(shopcopy.mapping(by_email=True), where="s"), "s")
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "buyers.yaml").write_text(
        "name: Buyers\nrules: {all: [{field: orders, op: ge, value: 2}]}\n"
    )
    buyers = load_segments(segments)["Buyers"]

    def figures() -> dict[str, tuple[int, int]]:
        rows = preview(engine, buyers, segments, now=AS_OF)
        assert rows and all("syncer_person_key" not in r for r in rows)
        return {r["email"].strip().lower(): (r["orders"], r["spend_cents"]) for r in rows}

    def orders_of(cid: int) -> tuple[str, list[int]]:
        page = customer(engine, segments, cid, now=AS_OF)
        assert page is not None and "person" not in page["customer"]
        assert all("customer_id" not in o for o in page["orders"])
        return page["customer"]["email"], sorted(o["id"] for o in page["orders"])

    native = figures()
    native_orders = orders_of(1)
    with using(source):
        assert figures() == native and all(n >= 2 for n, _ in native.values())
        mapped_email, mapped_orders = orders_of(1)
    assert mapped_email.strip().lower() == native_orders[0].strip().lower()
    assert mapped_orders == native_orders[1] and mapped_orders
    # a client without an email is nobody's person: not the owner of the orders without one
    with engine.begin() as conn:
        conn.execute(insert(shopcopy.CLIENTS), [{"client_no": 999, "mail": None}])
        conn.execute(
            insert(shopcopy.PURCHASES),
            [{"purchase_no": 99999, "buyer_mail": None, "placed": datetime(2026, 2, 1)}],
        )
    with using(source):
        page = customer(engine, segments, 999, now=AS_OF)
    assert page is not None and page["orders"] == []
