"""The sample shop as Shopify's CSV exports: customers, orders (one row per line item) and
products, as the Shopify admin writes them, with the traps real exports have.

    write_exports(engine, out_dir)   # customers_export.csv, orders_export.csv, products_export.csv

What the exports carry: customers (id with a leading apostrophe, names, consent yes/no, zip,
country, tags), orders (order fields on the first row only, local times with offsets, decimal
money with tax inside the total, refunds as an amount, cancelled orders, discount codes, guest
checkouts) and products (vendor, SKU, a ``Collection`` column, an image-only second row).
Every seventh customer with orders is a guest: not in the customers export, only on orders,
with the address written in mixed case and padded. What they cannot carry (visits, carts, email
events, reviews, status, quality, loyalty card, sign-up date) is left out.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from syncer.sample.catalogue import CATALOGUE
from syncer.schema import (
    COLLECTIONS,
    CUSTOMER_TAGS,
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    PRODUCT_COLLECTIONS,
    PRODUCTS,
)

CUSTOMER_HEADERS = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
]
ORDER_HEADERS = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Notes",
    "Cancelled at",
    "Payment Method",
    "Refunded Amount",
    "Vendor",
    "Id",
    "Tags",
    "Source",
]
PRODUCT_HEADERS = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Variant SKU",
    "Variant Price",
    "Image Src",
    "Status",
    "Collection",
]
# Shops' offsets: summer and winter time, so times are converted, not copied.
_OFFSETS = (timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))


def is_guest(customer_id: int) -> bool:
    """Customers written only on their orders (guest checkouts), not in the customers export."""
    return customer_id % 7 == 0


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _local(moment: datetime, n: int) -> str:
    return moment.replace(tzinfo=UTC).astimezone(_OFFSETS[n % 2]).strftime("%Y-%m-%d %H:%M:%S %z")


def _handle(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def write_exports(engine: Engine, out: Path) -> dict[str, Path]:
    """Write the three exports of ``engine``'s sample shop into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "customers": out / "customers_export.csv",
        "orders": out / "orders_export.csv",
        "products": out / "products_export.csv",
    }
    with engine.connect() as conn:
        products = {r.id: r for r in conn.execute(select(PRODUCTS).order_by(PRODUCTS.c.id))}
        names = {r.id: r.name for r in conn.execute(select(COLLECTIONS))}
        collections: dict[int, list[str]] = {pid: [] for pid in products}
        for r in conn.execute(select(PRODUCT_COLLECTIONS)):
            collections[r.product_id].append(names[r.collection_id])
        tags: dict[int, list[str]] = {}
        for r in conn.execute(select(CUSTOMER_TAGS)):
            tags.setdefault(r.customer_id, []).append(r.tag)
        customers = {r.id: r for r in conn.execute(select(CUSTOMERS).order_by(CUSTOMERS.c.id))}
        lines: dict[int, list[Any]] = {}
        for r in conn.execute(select(ORDER_LINES).order_by(ORDER_LINES.c.id)):
            lines.setdefault(r.order_id, []).append(r)
        orders = list(conn.execute(select(ORDERS).order_by(ORDERS.c.id.desc())))
    spent: dict[int, tuple[int, int]] = {}
    for o in orders:
        n, cents = spent.get(o.customer_id, (0, 0))
        net = 0 if o.status == "cancelled" else o.total_cents - o.refunded_cents
        spent[o.customer_id] = (n + 1, cents + net)

    prices = {spec.sku: spec.price_cents for spec in CATALOGUE}
    with paths["products"].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(PRODUCT_HEADERS)
        for pid, p in products.items():
            handle = _handle(p.name)
            w.writerow([handle, p.name, f"<p>{p.name}</p>", p.vendor,
                        (collections[pid] or [""])[0], "", "TRUE", "Title", "Default Title",
                        p.sku, _money(prices.get(p.sku, 0)), "", "active",
                        ", ".join(collections[pid])])  # fmt: skip
            w.writerow([handle] + [""] * 10 + [f"https://cdn.example/{handle}.jpg"] + ["", ""])

    with paths["customers"].open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(CUSTOMER_HEADERS)
        for cid, c in customers.items():
            if is_guest(cid) and cid in spent:
                continue
            n, cents = spent.get(cid, (0, 0))
            w.writerow([f"'{7_000_000_000 + cid}", c.first_name or "", c.last_name or "", c.email,
                        "yes" if c.accepts_marketing else "no", "", "", "", "", "",
                        c.country or "", c.zip or "", "", "", "no", _money(cents), n, "", "no",
                        ", ".join(sorted(tags.get(cid, [])))])  # fmt: skip

    with paths["orders"].open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(ORDER_HEADERS)
        for o in orders:
            c = customers[o.customer_id]
            email = c.email
            if is_guest(c.id):
                email = f"  {email[:1].upper()}{email[1:]} "
            for i, line in enumerate(lines.get(o.id, [])):
                p = products[line.product_id]
                first = i == 0
                cells = dict.fromkeys(ORDER_HEADERS, "")
                cells.update(
                    {
                        "Name": f"#{1000 + o.id}",
                        "Email": email,
                        "Lineitem quantity": str(line.quantity),
                        "Lineitem name": p.name,
                        "Lineitem price": _money(line.price_cents),
                        "Lineitem sku": p.sku,
                        "Lineitem requires shipping": "true",
                        "Lineitem taxable": "true",
                        "Lineitem fulfillment status": "fulfilled",
                        "Vendor": p.vendor,
                    }
                )
                if first:
                    cells.update(_order_fields(o, c, email))
                w.writerow([cells[h] for h in ORDER_HEADERS])
    return paths


def _order_fields(o: Any, c: Any, email: str) -> dict[str, str]:
    """The columns only an order's first row carries (prices include 19% VAT)."""
    status = {"paid": "paid", "refunded": "refunded", "partially_refunded": "partially_refunded"}
    financial = status.get(o.status) or ("voided" if o.id % 2 else "refunded")
    tax = o.total_cents - round(o.total_cents / 1.19)
    fields = {
        "Financial Status": financial,
        "Paid at": _local(o.placed_at, o.id),
        "Fulfillment Status": "fulfilled",
        "Accepts Marketing": "yes" if c.accepts_marketing else "no",
        "Currency": "EUR",
        "Subtotal": _money(o.total_cents),
        "Shipping": "0.00",
        "Taxes": _money(tax),
        "Total": _money(o.total_cents),
        "Discount Code": o.coupon_code or "",
        "Discount Amount": "0.00",
        "Created at": _local(o.placed_at, o.id),
        "Billing Name": f"{c.first_name or ''} {c.last_name or ''}".strip(),
        "Billing Zip": c.zip or "",
        "Billing Country": c.country or "",
        "Refunded Amount": _money(o.refunded_cents),
        "Id": str(5_000_000_000 + o.id),
        "Source": "web",
    }
    if o.status == "cancelled":
        fields["Cancelled at"] = _local(o.placed_at + timedelta(hours=2), o.id)
        if financial == "refunded":
            fields["Refunded Amount"] = _money(o.total_cents)
    return fields
