"""Shopify exports -> commerce tables: re-import, updates, guests, bad rows, not an export."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from syncer.errors import ConfigError
from syncer.imports.shopify import import_shopify
from syncer.schema import CUSTOMER_TAGS, CUSTOMERS, ORDER_LINES, ORDERS, PRODUCTS

CUSTOMERS_CSV = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Country Code,"
    "Default Address Zip,Total Spent,Total Orders,Tags\n"
    '\'101,Ada,Lovelace,Ada@Example.com,yes,GB,N1,10.00,1,"vip, newsletter"\n'
    "'102,Bad,Email,not-an-email,no,DE,1,0.00,0,\n"
    "'103,Bo,Zed,bo@example.com,maybe,DE,1,0.00,0,\n"
)
ORDER_HEADER = (
    "Name,Email,Financial Status,Accepts Marketing,Total,Discount Code,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Zip,"
    "Billing Country,Cancelled at,Refunded Amount,Vendor,Id\n"
)
ORDERS_CSV = ORDER_HEADER + (
    "#1001,ada@example.com,paid,no,54.00,WELCOME10,2026-01-10 10:00:00 +0900,"
    "1,Espresso Beans,24.00,COF-ESP-1KG,Ada Lovelace,N1,GB,,0.00,Hilltop,'9001\n"
    "#1001,ada@example.com,,,,,,2,Mug,15.00,ACC-MUG,,,,,,Cup Co,\n"
    "#1002, Guest@Example.COM ,refunded,yes,20.00,,2026-01-11 10:00:00 -0500,"
    "1,Mug,20.00,ACC-MUG,Gus Guest,10115,DE,,,Cup Co,'9002\n"
    "#1003,guest@example.com,paid,no,abc,,2026-01-12 10:00:00 +0000,"
    "1,Mug,20.00,ACC-MUG,Gus Guest,10115,DE,,,Cup Co,'9003\n"
    "#1004,guest@example.com,paid,no,5.00,,yesterday,"
    "1,Mug,5.00,ACC-MUG,Gus Guest,10115,DE,,,Cup Co,'9004\n"
    "#1005,guest@example.com,voided,no,5.00,,2026-01-13 10:00:00 +0000,"
    "1,Mug,5.00,ACC-MUG,Gus Guest,10115,DE,2026-01-13 11:00:00 +0000,,Cup Co,'9005\n"
)


def write(
    tmp_path: Path, customers: str = CUSTOMERS_CSV, orders: str = ORDERS_CSV
) -> dict[str, Path]:
    (tmp_path / "c.csv").write_text(customers, encoding="utf-8-sig")
    (tmp_path / "o.csv").write_text(orders, encoding="utf-8")
    return {"customers": tmp_path / "c.csv", "orders": tmp_path / "o.csv"}


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in (CUSTOMERS, CUSTOMER_TAGS, PRODUCTS, ORDERS, ORDER_LINES)
        }


def test_import_maps_customers_orders_guests_and_statuses(engine: Engine, tmp_path: Path) -> None:
    report = import_shopify(engine, **write(tmp_path))
    with engine.connect() as conn:
        people = {r.email: r for r in conn.execute(select(CUSTOMERS))}
        orders = {r.total_cents: r for r in conn.execute(select(ORDERS))}
        tags = set(conn.execute(select(CUSTOMER_TAGS.c.tag)).scalars())
        lines = conn.execute(select(func.count()).select_from(ORDER_LINES)).scalar_one()
    assert set(people) == {"ada@example.com", "guest@example.com"}
    assert people["ada@example.com"].accepts_marketing is True  # the customers export wins
    assert people["ada@example.com"].country == "GB"
    guest = people["guest@example.com"]
    assert (guest.first_name, guest.country, guest.zip) == ("Gus", "DE", "10115")
    assert tags == {"vip", "newsletter"}
    assert orders[5400].status == "paid" and orders[5400].coupon_code == "WELCOME10"
    assert orders[5400].placed_at.replace(tzinfo=None).isoformat() == "2026-01-10T01:00:00"
    assert (orders[2000].status, orders[2000].refunded_cents) == ("refunded", 2000)
    assert orders[500].status == "cancelled"
    assert orders[2000].customer_id == orders[500].customer_id == guest.id
    assert lines == 4
    # the guest's consent is its latest order's checkout choice (#1005: no)
    assert guest.accepts_marketing is False
    reasons = {(Path(b.file).name, b.line): b.reason for b in report.bad_rows}
    assert set(reasons) == {("c.csv", 3), ("c.csv", 4), ("o.csv", 5), ("o.csv", 6)}
    assert "not an email address" in reasons[("c.csv", 3)]
    assert "not yes or no" in reasons[("c.csv", 4)]
    assert "Total 'abc'" in reasons[("o.csv", 5)] and "#1003" in reasons[("o.csv", 5)]
    assert "Created at 'yesterday'" in reasons[("o.csv", 6)]


def test_reimport_changes_nothing_and_a_newer_export_updates(
    engine: Engine, tmp_path: Path
) -> None:
    files = write(tmp_path)
    import_shopify(engine, **files)
    before = snapshot(engine)
    again = import_shopify(engine, **files)
    assert snapshot(engine) == before
    assert [(f.new, f.updated) for f in again.files] == [(0, 0), (0, 0)]

    newer = ORDERS_CSV.replace(
        "#1001,ada@example.com,paid,no,54.00", "#1001,ada@example.com,partially_refunded,no,54.00"
    )
    newer = newer.replace(",0.00,Hilltop,'9001", ",10.00,Hilltop,'9001")
    customers = CUSTOMERS_CSV.replace("Ada@Example.com,yes", "ada@example.com,no").replace(
        '"vip, newsletter"', "vip"
    )
    report = import_shopify(engine, **write(tmp_path, customers, newer))
    with engine.connect() as conn:
        ada = conn.execute(select(CUSTOMERS).where(CUSTOMERS.c.email == "ada@example.com")).one()
        order = conn.execute(select(ORDERS).where(ORDERS.c.total_cents == 5400)).one()
        n_orders = conn.execute(select(func.count()).select_from(ORDERS)).scalar_one()
        tags = set(conn.execute(select(CUSTOMER_TAGS.c.tag)).scalars())
    assert ada.accepts_marketing is False and tags == {"vip"}
    assert (order.status, order.refunded_cents) == ("partially_refunded", 1000)
    assert n_orders == 3
    assert [(f.new, f.updated) for f in report.files] == [(0, 1), (0, 1)]


@pytest.mark.parametrize(
    ("which", "text", "missing"),
    [
        ("customers", "Name,Email\nx,y\n", "Accepts Email Marketing, First Name, Last Name, Tags"),
        ("orders", "Email,Total\na@b.co,1\n", "Name, Financial Status, Created at"),
        ("orders", "", "empty file"),
    ],
)
def test_not_a_shopify_export_names_the_missing_columns(
    sqlite_url: str, tmp_path: Path, which: str, text: str, missing: str
) -> None:
    from syncer.db import make_engine

    files = write(tmp_path)
    files[which].write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        import_shopify(make_engine(sqlite_url), **files)
    assert missing in str(err.value) and str(files[which]) in str(err.value)
    assert "\n" not in str(err.value)
