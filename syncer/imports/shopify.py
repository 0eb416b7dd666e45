"""Shopify's CSV exports (customers, orders, products) -> the native commerce tables.

    report = import_shopify(engine, customers=Path(...), orders=Path(...), products=None)

Files are streamed and written in batches (one transaction each). Re-importing the same files
changes nothing; a newer export updates the rows it changed. Rows are found again by
``external_ids`` (Shopify customer ids and order ids), customers also by lower-cased email,
products by SKU and collections by name. A row that cannot be imported (a bad email, amount or
time) is skipped and reported with its file and line; an order with a bad line item is skipped
whole. The column mapping is documented in docs/shopify-import.md.

Traps handled: the customer id's leading apostrophe; headers in any case; one order row per line
item with the order's fields on its first row only; times in the shop's zone with an offset;
money as decimal strings; guest orders without an account (matched by lower-cased email, a
customer made from the order's billing details and checkout consent); refunds as an amount on
the order; cancelled orders (``Cancelled at``) whatever their financial status.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, tuple_

from syncer.imports import values as v
from syncer.imports.csvfile import CsvExport, Progress, Row
from syncer.imports.writer import BatchWriter, Record, naive_utc
from syncer.schema import (
    COLLECTIONS,
    CUSTOMER_TAGS,
    CUSTOMERS,
    EXTERNAL_IDS,
    ORDER_LINES,
    ORDERS,
    PRODUCT_COLLECTIONS,
    PRODUCTS,
    create_commerce_schema,
)

SOURCE = "shopify"
BATCH = 500

CUSTOMER_COLUMNS = (
    ("Email",),
    ("Accepts Email Marketing", "Accepts Marketing"),
    ("First Name",),
    ("Last Name",),
    ("Tags",),
)
ORDER_COLUMNS = tuple(
    (name,)
    for name in (
        "Name",
        "Email",
        "Financial Status",
        "Created at",
        "Total",
        "Discount Code",
        "Refunded Amount",
        "Cancelled at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
    )
)
PRODUCT_COLUMNS = tuple((name,) for name in ("Handle", "Title", "Vendor", "Variant SKU"))

# Shopify financial status -> native status (docs/schema.md); ``Cancelled at`` set wins.
STATUSES = {
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "pending": "paid",
    "authorized": "paid",
    "partially_paid": "paid",
    "voided": "cancelled",
    "expired": "cancelled",
}

# Segment fields whose data no Shopify export carries: they stay empty after an import.
NOT_IN_EXPORTS = {
    "status": "customer status is not in the customers export",
    "quality": "no such column in the exports",
    "loyalty_card": "no such column in the exports",
    "created": "no sign-up date in the customers export (first order, else import time)",
    "visits": "no visits in the exports",
    "days_since_last_visit": "no visits in the exports",
    "preferred_device": "no visits in the exports",
    "abandoned_carts": "no cart events in the exports",
    "email_opens": "no email events in the exports",
    "email_clicks": "no email events in the exports",
    "email_conversions": "no email events in the exports",
    "reviewed_product": "no reviews in Shopify core (reviews live in apps)",
    "rating": "no reviews in Shopify core (reviews live in apps)",
}


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str


@dataclass
class FileCounts:
    """What one file did: rows read; records (customers, orders, products) new, updated,
    unchanged; rows skipped (each in ``ImportReport.bad_rows``)."""

    file: str
    kind: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class ImportReport:
    files: list[FileCounts] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)


@dataclass
class _Customer:
    line: int
    key: str  # Shopify customer id, or "email:" + the address in older exports without one
    email: str
    values: Record  # first_name, last_name, zip, country, accepts_marketing
    tags: set[str]


@dataclass
class _Line:
    sku: str | None
    name: str
    vendor: str
    quantity: int
    price_cents: int


@dataclass
class _Order:
    line: int
    key: str
    email: str
    placed_at: datetime
    total_cents: int
    status: str
    refunded_cents: int
    coupon_code: str | None
    buyer: Record  # a guest's first_name, last_name, zip, country, accepts_marketing
    lines: list[_Line]


@dataclass
class _Product:
    sku: str
    name: str
    vendor: str
    collections: set[str] | None  # None: the export has no Collection column


def import_shopify(
    engine: Engine,
    *,
    customers: Path,
    orders: Path,
    products: Path | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import the exports (products, then customers, then orders) into ``engine``'s database."""
    files = [
        CsvExport(customers, "Shopify customers export"),
        CsvExport(orders, "Shopify orders export"),
    ]
    if products is not None:
        files.insert(0, CsvExport(products, "Shopify products export"))
    create_commerce_schema(engine)
    run = _Import(engine, progress, now or datetime.now(UTC).replace(tzinfo=None))
    if products is not None:
        run.products(files.pop(0))
    run.customers(files[0])
    run.orders(files[1])
    return run.report


def _batches(items: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _grouped(rows: Iterable[Row], column: str) -> Iterator[list[Row]]:
    """Consecutive rows sharing ``column`` (an order's line items, a product's variants)."""
    group: list[Row] = []
    for row in rows:
        if group and row.get(column) != group[0].get(column):
            yield group
            group = []
        group.append(row)
    if group:
        yield group


class _Import:
    def __init__(self, engine: Engine, progress: Progress | None, now: datetime) -> None:
        self.engine = engine
        self.progress = progress
        self.now = now.replace(microsecond=0)
        self.out = BatchWriter(engine, SOURCE)
        self.report = ImportReport()
        self.by_sku: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.catalogue: dict[int, Record] = {}
        self.collection_ids: dict[str, int] = {}
        with engine.connect() as conn:
            for r in conn.execute(select(PRODUCTS.c.id, PRODUCTS.c.name, PRODUCTS.c.sku,
                                         PRODUCTS.c.vendor).order_by(PRODUCTS.c.id)):  # fmt: skip
                self._remember(r.id, r.name, r.sku, r.vendor)
            for c in conn.execute(select(COLLECTIONS.c.id, COLLECTIONS.c.name)):
                self.collection_ids[c.name] = c.id

    def _remember(self, pid: int, name: str, sku: str, vendor: str) -> None:
        self.by_sku[sku] = pid
        self.by_name.setdefault(name, pid)
        self.catalogue[pid] = {"name": name, "sku": sku, "vendor": vendor}

    def _counts(self, export: CsvExport) -> FileCounts:
        counts = FileCounts(str(export.path), export.kind)
        self.report.files.append(counts)
        return counts

    def _bad(self, counts: FileCounts, line: int, reason: str, rows: int = 1) -> None:
        counts.skipped += rows
        self.report.bad_rows.append(BadRow(counts.file, line, reason))

    # -- products ---------------------------------------------------------------------------

    def products(self, export: CsvExport) -> None:
        counts = self._counts(export)
        parsed: list[_Product] = []
        for group in _grouped(self._rows(export, PRODUCT_COLUMNS, counts), "Handle"):
            parsed.extend(self._parse_product(group, counts))
        with self.engine.begin() as conn:
            for batch in _batches(parsed):
                for product in batch:
                    self._write_product(conn, product, counts)
            self.out.finish(conn, [PRODUCTS, COLLECTIONS])

    def _parse_product(self, group: list[Row], counts: FileCounts) -> list[_Product]:
        first = next((r for r in group if r.get("Title")), None)
        if first is None:
            self._bad(counts, group[0].line, f"product {group[0].get('Handle')!r} has no Title")
            return []
        try:
            name = v.text(first.get("Title"), "Title", 200) or ""
            vendor = v.text(first.get("Vendor"), "Vendor", 100) or ""
            has_collections = "collection" in first.cells
            names = v.tags(first.get("Collection"), "Collection", 100)
        except v.BadValue as err:
            self._bad(counts, first.line, str(err), len(group))
            return []
        out: list[_Product] = []
        for row in group:
            sku = row.get("Variant SKU")
            if not sku:
                continue
            if len(sku) > 64:
                self._bad(counts, row.line, "Variant SKU is longer than 64 characters")
                continue
            out.append(_Product(sku, name, vendor, names if has_collections else None))
        if not out and not any(r.get("Variant SKU") for r in group):
            handle = first.get("Handle")[:64]  # no SKU at all: the handle keys the product
            out.append(_Product(handle, name, vendor, names if has_collections else None))
        return out

    def _write_product(self, conn: Connection, product: _Product, counts: FileCounts) -> None:
        wanted = {"name": product.name, "sku": product.sku, "vendor": product.vendor}
        pid = self.by_sku.get(product.sku)
        if pid is None:
            pid = self.out.next_id(conn, PRODUCTS)
            self.out.insert(conn, PRODUCTS, [{"id": pid, **wanted}])
            counts.new += 1
            changed = True
        else:
            changes = {k: x for k, x in wanted.items() if self.catalogue[pid][k] != x}
            self.out.update(conn, PRODUCTS, pid, changes)
            changed = bool(changes)
            if changes:
                counts.updated += 1
        self._remember(pid, product.name, product.sku, product.vendor)
        if (
            product.collections is not None
            and self._link_collections(conn, pid, product.collections)
            and not changed
        ):
            counts.updated += 1
            changed = True
        if not changed:
            counts.unchanged += 1

    def _link_collections(self, conn: Connection, pid: int, names: set[str]) -> bool:
        for name in sorted(names - set(self.collection_ids)):
            cid = self.out.next_id(conn, COLLECTIONS)
            self.out.insert(conn, COLLECTIONS, [{"id": cid, "name": name}])
            self.collection_ids[name] = cid
        wanted = {self.collection_ids[n] for n in names}
        t = PRODUCT_COLLECTIONS
        have = set(conn.execute(select(t.c.collection_id).where(t.c.product_id == pid)).scalars())
        if have == wanted:
            return False
        gone = have - wanted
        if gone:
            conn.execute(delete(t).where(t.c.product_id == pid, t.c.collection_id.in_(gone)))
        self.out.insert(
            conn, t, [{"product_id": pid, "collection_id": c} for c in sorted(wanted - have)]
        )
        return True

    def _product_for(self, conn: Connection, item: _Line, counts: FileCounts) -> int:
        """The product a line item bought: by SKU, else by name; made from the line if new."""
        if item.sku and item.sku in self.by_sku:
            return self.by_sku[item.sku]
        if not item.sku and item.name in self.by_name:
            return self.by_name[item.name]
        sku = item.sku or item.name[:64]
        if sku in self.by_sku:
            return self.by_sku[sku]
        pid = self.out.next_id(conn, PRODUCTS)
        row = {"id": pid, "name": item.name, "sku": sku, "vendor": item.vendor}
        self.out.insert(conn, PRODUCTS, [row])
        self._remember(pid, item.name, sku, item.vendor)
        counts.extra["products made from line items"] = (
            counts.extra.get("products made from line items", 0) + 1
        )
        return pid

    # -- customers --------------------------------------------------------------------------

    def customers(self, export: CsvExport) -> None:
        counts = self._counts(export)
        parsed = (self._parse_customer(r, counts) for r in self._rows(export, CUSTOMER_COLUMNS,
                                                                      counts))  # fmt: skip
        for batch in _batches(c for c in parsed if c is not None):
            with self.engine.begin() as conn:
                self._write_customers(conn, batch, counts)
                self.out.finish(conn, [CUSTOMERS])

    def _parse_customer(self, row: Row, counts: FileCounts) -> _Customer | None:
        try:
            email = v.email(row.get("Email"))
            country = (row.get("Default Address Country Code", "Country Code") or "").upper()
            if country and len(country) != 2:
                raise v.BadValue(f"country code {country!r} is not two letters (ISO 3166)")
            values = {
                "first_name": v.text(row.get("First Name"), "First Name", 100),
                "last_name": v.text(row.get("Last Name"), "Last Name", 100),
                "zip": v.text(row.get("Default Address Zip", "Zip"), "Zip", 20),
                "country": country or None,
                "accepts_marketing": v.yes_no(
                    row.get("Accepts Email Marketing", "Accepts Marketing"),
                    "Accepts Email Marketing",
                ),
            }
            tags = v.tags(row.get("Tags"))
        except v.BadValue as err:
            self._bad(counts, row.line, str(err))
            return None
        shopify_id = v.shopify_id(row.get("Customer ID"))
        key = shopify_id or f"email:{email}"
        return _Customer(row.line, key[:100], email, values, tags)

    def _write_customers(
        self, conn: Connection, batch: list[_Customer], counts: FileCounts
    ) -> None:
        mapped = self.out.mapped(conn, "customer", (c.key for c in batch))
        rows = _customers_where(
            conn,
            CUSTOMERS.c.email.in_({c.email for c in batch})
            | CUSTOMERS.c.id.in_(set(mapped.values())),
        )
        by_email = {r["email"]: r for r in rows.values()}
        new_maps: list[tuple[str, int]] = []
        touched: dict[int, _Customer] = {}
        outcome: dict[int, str] = {}  # new, updated, unchanged
        for c in batch:
            cid = mapped.get(c.key)
            if cid is not None and cid not in rows:
                cid = None  # the mapped row is gone (the tables were emptied): map it again
                self._unmap(conn, "customer", c.key)
                del mapped[c.key]
            holder = by_email.get(c.email)
            if cid is not None and holder is not None and holder["id"] != cid:
                self._bad(counts, c.line, f"Email {c.email} belongs to another customer")
                continue
            if cid is None and holder is not None:
                cid = holder["id"]
                if c.key not in mapped:
                    new_maps.append((c.key, cid))
                    mapped[c.key] = cid
            touched_before = cid in touched
            if cid is None:
                cid = self.out.next_id(conn, CUSTOMERS)
                row = {"id": cid, "email": c.email, **c.values, "created_at": self.now}
                self.out.insert(conn, CUSTOMERS, [row])
                rows[cid] = by_email[c.email] = row
                new_maps.append((c.key, cid))
                mapped[c.key] = cid
                touched[cid] = c
                outcome[cid] = "new"
                continue
            current = rows[cid]
            wanted = {"email": c.email, **c.values}
            changes = {k: x for k, x in wanted.items() if current[k] != x}
            self.out.update(conn, CUSTOMERS, cid, changes)
            by_email.pop(current["email"], None)
            current.update(changes)
            by_email[c.email] = current
            touched[cid] = c
            if not touched_before:
                outcome[cid] = "updated" if changes else "unchanged"
        self.out.map_ids(conn, "customer", new_maps)
        for cid in self._write_tags(conn, {cid: c.tags for cid, c in touched.items()}):
            if outcome[cid] == "unchanged":
                outcome[cid] = "updated"
        counts.new += sum(1 for x in outcome.values() if x == "new")
        counts.updated += sum(1 for x in outcome.values() if x == "updated")
        counts.unchanged += sum(1 for x in outcome.values() if x == "unchanged")

    def _unmap(self, conn: Connection, kind: str, key: str) -> None:
        t = EXTERNAL_IDS
        conn.execute(
            delete(t).where(t.c.source == SOURCE, t.c.kind == kind, t.c.external_id == key)
        )

    def _write_tags(self, conn: Connection, wanted: dict[int, set[str]]) -> set[int]:
        """Make each customer's tags exactly ``wanted``; return the customers whose changed."""
        if not wanted:
            return set()
        t = CUSTOMER_TAGS
        have: dict[int, set[str]] = {cid: set() for cid in wanted}
        query = select(t.c.customer_id, t.c.tag).where(t.c.customer_id.in_(set(wanted)))
        for r in conn.execute(query):
            have[r.customer_id].add(r.tag)
        changed: set[int] = set()
        gone: list[tuple[int, str]] = []
        added: list[Record] = []
        for cid, tags in wanted.items():
            # tags compared as the database compares them (MariaDB: without case)
            if {x.lower() for x in have[cid]} == {x.lower() for x in tags}:
                continue
            changed.add(cid)
            gone.extend((cid, x) for x in have[cid])
            added.extend({"customer_id": cid, "tag": x} for x in _distinct_nocase(tags))
        if gone:
            conn.execute(delete(t).where(tuple_(t.c.customer_id, t.c.tag).in_(gone)))
        self.out.insert(conn, t, added)
        return changed

    # -- orders -----------------------------------------------------------------------------

    def orders(self, export: CsvExport) -> None:
        counts = self._counts(export)
        counts.extra["guest customers made"] = 0
        groups = _grouped(self._rows(export, ORDER_COLUMNS, counts), "Name")
        parsed = (self._parse_order(g, counts) for g in groups)
        for batch in _batches(o for o in parsed if o is not None):
            with self.engine.begin() as conn:
                self._write_orders(conn, batch, counts)
                self.out.finish(conn, [PRODUCTS, CUSTOMERS, ORDERS, ORDER_LINES])

    def _parse_order(self, group: list[Row], counts: FileCounts) -> _Order | None:
        first, name = group[0], group[0].get("Name")
        where = f"order {name}: " if name else ""
        if not name:
            self._bad(counts, first.line, "no Name (the order number, e.g. #1001)", len(group))
            return None
        if not first.get("Created at") and not first.get("Financial Status"):
            self._bad(
                counts, first.line,
                f"{where}line items without the order's first row (keep each order's rows "
                "together, as exported)", len(group),
            )  # fmt: skip
            return None
        line = first.line
        try:
            email = v.email(first.get("Email"))
            placed = v.utc_time(first.get("Created at"), "Created at")
            total = v.money_cents(first.get("Total"), "Total")
            refunded = v.money_cents(first.get("Refunded Amount"), "Refunded Amount")
            financial = first.get("Financial Status").lower()
            if financial not in STATUSES:
                raise v.BadValue(
                    f"Financial Status {financial!r} is not one of {', '.join(STATUSES)}"
                )
            status = STATUSES[financial]
            if first.get("Cancelled at"):
                v.utc_time(first.get("Cancelled at"), "Cancelled at")
                status = "cancelled"
            if financial == "refunded" and not refunded:
                refunded = total
            coupon = v.text(first.get("Discount Code").split(",")[0], "Discount Code", 40)
            billing = first.get("Billing Name")
            given, _, family = billing.partition(" ")
            country = first.get("Billing Country").upper()
            buyer = {
                "first_name": v.text(given, "Billing Name", 100),
                "last_name": v.text(family, "Billing Name", 100),
                "zip": v.text(first.get("Billing Zip"), "Billing Zip", 20),
                "country": country if len(country) == 2 else None,
                "accepts_marketing": v.yes_no(first.get("Accepts Marketing"), "Accepts Marketing"),
            }
            lines = []
            for row in group:
                line = row.line
                lines.append(
                    _Line(
                        sku=v.text(row.get("Lineitem sku"), "Lineitem sku", 64),
                        name=v.text(row.get("Lineitem name"), "Lineitem name", 200) or "",
                        vendor=v.text(row.get("Vendor"), "Vendor", 100) or "",
                        quantity=v.quantity(row.get("Lineitem quantity"), "Lineitem quantity"),
                        price_cents=v.money_cents(row.get("Lineitem price"), "Lineitem price"),
                    )
                )
                if not lines[-1].name and not lines[-1].sku:
                    raise v.BadValue("line item without Lineitem name or Lineitem sku")
        except v.BadValue as err:
            self._bad(counts, line, f"{where}{err} (order skipped)", len(group))
            return None
        key = v.shopify_id(first.get("Id")) or name
        return _Order(first.line, key[:100], email, placed, total, status, refunded, coupon,
                      buyer, lines)  # fmt: skip

    def _write_orders(self, conn: Connection, batch: list[_Order], counts: FileCounts) -> None:
        batch.sort(key=lambda o: o.placed_at)
        customer_ids = self._customers_for(conn, batch, counts)
        mapped = self.out.mapped(conn, "order", (o.key for o in batch))
        existing = {
            r.id: r
            for r in conn.execute(select(ORDERS).where(ORDERS.c.id.in_(set(mapped.values()))))
        }
        old_lines: dict[int, list[tuple[int, int, int]]] = {oid: [] for oid in existing}
        query = select(
            ORDER_LINES.c.order_id,
            ORDER_LINES.c.product_id,
            ORDER_LINES.c.quantity,
            ORDER_LINES.c.price_cents,
        ).where(ORDER_LINES.c.order_id.in_(set(existing)))
        for r in conn.execute(query):  # fmt: skip
            old_lines[r.order_id].append((r.product_id, r.quantity, r.price_cents))
        new_orders: list[Record] = []
        new_lines: list[Record] = []
        new_maps: list[tuple[str, int]] = []
        for o in batch:
            lines = sorted((self._product_for(conn, i, counts), i.quantity, i.price_cents)
                           for i in o.lines)  # fmt: skip
            wanted = {
                "customer_id": customer_ids[o.email],
                "placed_at": o.placed_at,
                "total_cents": o.total_cents,
                "status": o.status,
                "refunded_cents": o.refunded_cents,
                "coupon_code": o.coupon_code,
            }
            oid = mapped.get(o.key)
            if oid is not None and oid not in existing:
                self._unmap(conn, "order", o.key)  # the mapped row is gone: map it again
                oid = None
            if oid is None:
                oid = self.out.next_id(conn, ORDERS)
                new_orders.append({"id": oid, **wanted})
                new_maps.append((o.key, oid))
                counts.new += 1
            else:
                row = existing[oid]._mapping
                have = {k: naive_utc(row[k]) if k == "placed_at" else row[k] for k in wanted}
                changes = {k: x for k, x in wanted.items() if have[k] != x}
                self.out.update(conn, ORDERS, oid, changes)
                same_lines = sorted(old_lines[oid]) == lines
                if not same_lines:
                    conn.execute(delete(ORDER_LINES).where(ORDER_LINES.c.order_id == oid))
                if changes or not same_lines:
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                    continue
            for pid, qty, price in lines:
                line_id = self.out.next_id(conn, ORDER_LINES)
                new_lines.append(
                    {"id": line_id, "order_id": oid, "product_id": pid, "quantity": qty,
                     "price_cents": price}
                )  # fmt: skip
        self.out.insert(conn, ORDERS, new_orders)
        self.out.insert(conn, ORDER_LINES, new_lines)
        self.out.map_ids(conn, "order", new_maps)

    def _customers_for(
        self, conn: Connection, batch: list[_Order], counts: FileCounts
    ) -> dict[str, int]:
        """email -> customer id for the batch's orders (sorted by time): guests without an
        account are made from their orders' billing details and consent at checkout (their
        latest order's); every customer's ``created_at`` is at latest their first order."""
        rows = _customers_where(conn, CUSTOMERS.c.email.in_({o.email for o in batch}))
        by_email = {r["email"]: r for r in rows.values()}
        t = EXTERNAL_IDS
        accounts = set(conn.execute(select(t.c.native_id).where(
            t.c.source == SOURCE, t.c.kind == "customer", t.c.native_id.in_(set(rows))
        )).scalars())  # fmt: skip
        latest: dict[int, datetime] = {
            r.customer_id: naive_utc(r.at)
            for r in conn.execute(
                select(ORDERS.c.customer_id, func.max(ORDERS.c.placed_at).label("at"))
                .where(ORDERS.c.customer_id.in_(set(rows)))
                .group_by(ORDERS.c.customer_id)
            )
        }
        changes: dict[int, Record] = {}
        for o in batch:
            row = by_email.get(o.email)
            if row is None:
                cid = self.out.next_id(conn, CUSTOMERS)
                row = {"id": cid, "email": o.email, **o.buyer, "created_at": o.placed_at}
                self.out.insert(conn, CUSTOMERS, [row])
                by_email[o.email] = row
                latest[cid] = o.placed_at
                counts.extra["guest customers made"] += 1
                continue
            cid = row["id"]
            wanted: Record = {}
            if naive_utc(row["created_at"]) > o.placed_at:
                wanted["created_at"] = o.placed_at
            if cid not in accounts and o.placed_at >= latest.get(cid, o.placed_at):
                wanted.update(o.buyer)
                latest[cid] = o.placed_at
            diff = {k: x for k, x in wanted.items() if row[k] != x}
            if diff:
                row.update(diff)
                changes.setdefault(cid, {}).update(diff)
        for cid, diff in changes.items():
            self.out.update(conn, CUSTOMERS, cid, diff)
        if changes:
            counts.extra["customers updated from orders"] = counts.extra.get(
                "customers updated from orders", 0
            ) + len(changes)
        return {email: row["id"] for email, row in by_email.items()}

    # -- reading ----------------------------------------------------------------------------

    def _rows(
        self, export: CsvExport, required: tuple[tuple[str, ...], ...], counts: FileCounts
    ) -> Iterator[Row]:
        for row in export.rows(required, self.progress):
            counts.rows += 1
            yield row


def _customers_where(conn: Connection, where: Any) -> dict[int, Record]:
    columns = [CUSTOMERS.c[n] for n in ("id", "email", "first_name", "last_name", "zip",
                                        "country", "accepts_marketing", "created_at")]  # fmt: skip
    return {r.id: dict(r._mapping) for r in conn.execute(select(*columns).where(where))}


def _distinct_nocase(tags: set[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in sorted(tags):
        seen.setdefault(tag.lower(), tag)
    return sorted(seen.values())
