"""The sample shop written as WooCommerce stores it (HPOS order tables), for the preset tests
and ``syncer data generate --platform woocommerce-hpos``.

Real table and column names and types (../shared/platform-schemas/woocommerce.md), with the
platform's traps: decimal totals including tax, ``wc-`` statuses, refunds as separate
``shop_order_refund`` rows, a partially refunded order still ``wc-completed``, every third
customer's orders checked out as a guest (customer_id 0, the email upper-cased), one trashed
order per ten customers, SKUs in the product lookup, categories and brands as terms, reviews
as comments with a rating meta. The translator reads the native sample shop in the same
database and writes the ``<prefix>`` tables beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    select,
)

from syncer.schema import (
    COLLECTIONS,
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    PRODUCT_COLLECTIONS,
    PRODUCTS,
    REVIEWS,
)

STATUS = {
    "paid": "wc-completed",
    "cancelled": "wc-cancelled",
    "refunded": "wc-refunded",
    "partially_refunded": "wc-completed",
}
TAX = Decimal("0.19")  # the total includes tax: written as net + tax


def _id(name: str = "ID") -> Column[Any]:
    return Column(name, BigInteger, primary_key=True, autoincrement=False)


def tables(prefix: str) -> MetaData:
    """The WooCommerce tables (the columns segments read, with their real types and the
    keys WooCommerce and WordPress create on them)."""
    m = MetaData()
    p = prefix
    Table(
        f"{p}users",
        m,
        _id(),
        Column("user_login", String(60)),
        Column("user_email", String(100), index=True),  # WordPress's KEY user_email
        Column("user_registered", DateTime),
        Column("display_name", String(250)),
    )
    Table(
        f"{p}usermeta",
        m,
        _id("umeta_id"),
        Column("user_id", BigInteger, index=True),
        Column("meta_key", String(255)),
        Column("meta_value", Text),
    )
    Table(
        f"{p}wc_orders",
        m,
        _id("id"),
        Column("status", String(20)),
        Column("currency", String(10)),
        Column("type", String(20)),
        Column("tax_amount", Numeric(26, 8)),
        Column("total_amount", Numeric(26, 8)),
        Column("customer_id", BigInteger, index=True),
        Column("billing_email", String(320)),
        Column("date_created_gmt", DateTime),
        Column("parent_order_id", BigInteger, index=True),
    )
    Table(
        f"{p}wc_order_addresses",
        m,
        _id("id"),
        Column("order_id", BigInteger, index=True),
        Column("address_type", String(20)),
        Column("first_name", Text),
        Column("last_name", Text),
        Column("postcode", Text),
        Column("country", Text),
        Column("email", String(320)),
    )
    Table(
        f"{p}woocommerce_order_items",
        m,
        _id("order_item_id"),
        Column("order_item_name", Text),
        Column("order_item_type", String(200)),
        Column("order_id", BigInteger, index=True),
    )
    Table(
        f"{p}woocommerce_order_itemmeta",
        m,
        _id("meta_id"),
        Column("order_item_id", BigInteger, index=True),
        Column("meta_key", String(255)),
        Column("meta_value", Text),
    )
    Table(
        f"{p}posts",
        m,
        _id(),
        Column("post_title", Text),
        Column("post_status", String(20)),
        Column("post_type", String(20)),
        Column("post_parent", BigInteger),
        Column("post_date", DateTime),
        Column("post_date_gmt", DateTime),
    )
    Table(
        f"{p}postmeta",
        m,
        _id("meta_id"),
        Column("post_id", BigInteger, index=True),
        Column("meta_key", String(255)),
        Column("meta_value", Text),
    )
    Table(f"{p}wc_product_meta_lookup", m, _id("product_id"), Column("sku", String(100)))
    Table(f"{p}terms", m, _id("term_id"), Column("name", String(200)), Column("slug", String(200)))
    Table(
        f"{p}term_taxonomy",
        m,
        _id("term_taxonomy_id"),
        Column("term_id", BigInteger),
        Column("taxonomy", String(32)),
    )
    Table(
        f"{p}term_relationships",
        m,
        Column("object_id", BigInteger, primary_key=True),
        Column("term_taxonomy_id", BigInteger, primary_key=True, index=True),
        Column("term_order", Integer),
    )
    Table(
        f"{p}comments",
        m,
        _id("comment_ID"),
        Column("comment_post_ID", BigInteger, index=True),
        Column("comment_author_email", String(100)),
        Column("comment_date_gmt", DateTime),
        Column("comment_approved", String(20)),
        Column("comment_type", String(20)),
        Column("user_id", BigInteger),
    )
    Table(
        f"{p}commentmeta",
        m,
        _id("meta_id"),
        Column("comment_id", BigInteger, index=True),
        Column("meta_key", String(255)),
        Column("meta_value", Text),
    )
    return m


def _utc(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(tzinfo=None)


def _money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def write_woocommerce_hpos(engine: Engine, prefix: str = "wp_") -> dict[str, int]:
    """Write the native sample shop in ``engine`` as WooCommerce HPOS tables."""
    meta = tables(prefix)
    return _write(engine, meta, _hpos_rows(engine, meta, prefix))


def _write(engine: Engine, meta: MetaData, out: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    meta.create_all(engine)
    with engine.begin() as conn:
        for name, rows in out.items():
            if rows:
                conn.execute(meta.tables[name].insert(), rows)
    return {name: len(rows) for name, rows in out.items() if rows}


def _hpos_rows(engine: Engine, meta: MetaData, prefix: str) -> dict[str, list[dict[str, Any]]]:
    t = meta.tables
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in t}
    ids = {"meta": 0, "item": 0, "imeta": 0, "addr": 0, "tt": 0, "cmeta": 0}

    def nxt(kind: str) -> int:
        ids[kind] += 1
        return ids[kind]

    def add(table: str, **row: Any) -> None:
        out[prefix + table].append(row)

    with engine.connect() as conn:
        customers = {r.id: r for r in conn.execute(select(CUSTOMERS))}
        for c in customers.values():
            add(
                "users",
                ID=c.id,
                user_login=f"user{c.id}",
                user_email=c.email,
                user_registered=_utc(c.created_at),
                display_name=c.first_name,
            )
            for key, value in (
                ("billing_first_name", c.first_name),
                ("billing_last_name", c.last_name),
                ("billing_postcode", c.zip),
                ("billing_country", c.country),
                ("newsletter_optin", "yes" if c.accepts_marketing else "no"),
            ):
                if value is not None:
                    add(
                        "usermeta",
                        umeta_id=nxt("meta"),
                        user_id=c.id,
                        meta_key=key,
                        meta_value=value,
                    )
        terms: dict[tuple[str, str], int] = {}

        def term(name: str, taxonomy: str) -> int:
            if (name, taxonomy) not in terms:
                tt = nxt("tt")
                terms[(name, taxonomy)] = tt
                add("terms", term_id=tt, name=name, slug=name.lower().replace(" ", "-"))
                add("term_taxonomy", term_taxonomy_id=tt, term_id=tt, taxonomy=taxonomy)
            return terms[(name, taxonomy)]

        for p in conn.execute(select(PRODUCTS)):
            add(
                "posts",
                ID=p.id,
                post_title=p.name,
                post_status="publish",
                post_type="product",
                post_parent=0,
                post_date=datetime(2020, 1, 1, 1),
                post_date_gmt=datetime(2020, 1, 1),
            )
            add("wc_product_meta_lookup", product_id=p.id, sku=p.sku)
            add(
                "term_relationships",
                object_id=p.id,
                term_taxonomy_id=term(p.vendor, "product_brand"),
                term_order=0,
            )
        names = {r.id: r.name for r in conn.execute(select(COLLECTIONS))}
        for pc in conn.execute(select(PRODUCT_COLLECTIONS)):
            add(
                "term_relationships",
                object_id=pc.product_id,
                term_taxonomy_id=term(names[pc.collection_id], "product_cat"),
                term_order=0,
            )
        lines: dict[int, list[Any]] = {}
        for line in conn.execute(select(ORDER_LINES)):
            lines.setdefault(line.order_id, []).append(line)
        order_rows = list(conn.execute(select(ORDERS).order_by(ORDERS.c.id)))
        next_id = max([o.id for o in order_rows], default=0) + 1
        trashed: set[int] = set()
        for o in order_rows:
            c = customers[o.customer_id]
            guest = c.id % 3 == 0
            placed = _utc(o.placed_at)
            total = _money(o.total_cents)
            add(
                "wc_orders",
                id=o.id,
                status=STATUS[o.status],
                currency="EUR",
                type="shop_order",
                tax_amount=(total * TAX / (1 + TAX)).quantize(Decimal("0.00000001")),
                total_amount=total,
                customer_id=0 if guest else c.id,
                billing_email=f" {c.email.upper()}" if guest else c.email,
                date_created_gmt=placed,
                parent_order_id=0,
            )
            add(
                "wc_order_addresses",
                id=nxt("addr"),
                order_id=o.id,
                address_type="billing",
                first_name=c.first_name,
                last_name=c.last_name,
                postcode=c.zip,
                country=c.country,
                email=c.email,
            )
            if o.refunded_cents:
                add(
                    "wc_orders",
                    id=next_id,
                    status="wc-completed",
                    currency="EUR",
                    type="shop_order_refund",
                    tax_amount=0,
                    total_amount=-_money(o.refunded_cents),
                    customer_id=0,
                    billing_email=None,
                    date_created_gmt=placed,
                    parent_order_id=o.id,
                )
                next_id += 1
            if o.coupon_code:
                add(
                    "woocommerce_order_items",
                    order_item_id=nxt("item"),
                    order_item_name=o.coupon_code,
                    order_item_type="coupon",
                    order_id=o.id,
                )
            for line in lines.get(o.id, []):
                item = nxt("item")
                add(
                    "woocommerce_order_items",
                    order_item_id=item,
                    order_item_name="line",
                    order_item_type="line_item",
                    order_id=o.id,
                )
                for key, value in (
                    ("_product_id", line.product_id),
                    ("_variation_id", 0),
                    ("_qty", line.quantity),
                    ("_line_total", _money(line.price_cents * line.quantity)),
                ):
                    add(
                        "woocommerce_order_itemmeta",
                        meta_id=nxt("imeta"),
                        order_item_id=item,
                        meta_key=key,
                        meta_value=str(value),
                    )
            if c.id % 10 == 1 and c.id not in trashed:  # a trashed order: counts for nothing
                trashed.add(c.id)
                add(
                    "wc_orders",
                    id=next_id,
                    status="trash",
                    currency="EUR",
                    type="shop_order",
                    tax_amount=0,
                    total_amount=Decimal("999.00"),
                    customer_id=c.id,
                    billing_email=c.email,
                    date_created_gmt=placed,
                    parent_order_id=0,
                )
                next_id += 1
        for r in conn.execute(select(REVIEWS)):
            comment = r.id
            add(
                "comments",
                comment_ID=comment,
                comment_post_ID=r.product_id,
                comment_author_email=customers[r.customer_id].email,
                comment_date_gmt=_utc(r.created_at),
                comment_approved="1",
                comment_type="review",
                user_id=r.customer_id,
            )
            add(
                "commentmeta",
                meta_id=nxt("cmeta"),
                comment_id=comment,
                meta_key="rating",
                meta_value=str(r.rating),
            )
    return out


LOCAL_HOURS = 1  # the site's zone for post_date (site-local time): UTC+1, never read


def write_woocommerce_legacy(engine: Engine, prefix: str = "wp_") -> dict[str, int]:
    """Write the native sample shop as WooCommerce stores it without HPOS: each order a
    ``shop_order`` post (``wc-`` status, ``post_date`` local, ``post_date_gmt`` UTC) with its
    fields in ``postmeta`` (strings), refunds ``shop_order_refund`` posts under their order,
    the trashed orders ``trash`` posts, one ``auto-draft`` order. Order post ids follow the
    product posts (one id space)."""
    meta = tables(prefix)
    out = _hpos_rows(engine, meta, prefix)
    orders = out.pop(f"{prefix}wc_orders")
    addresses = {a["order_id"]: a for a in out.pop(f"{prefix}wc_order_addresses")}
    shift = max([p["ID"] for p in out[f"{prefix}posts"]], default=0) + 1000
    posts, postmeta = out[f"{prefix}posts"], out[f"{prefix}postmeta"]
    for item in out[f"{prefix}woocommerce_order_items"]:
        item["order_id"] += shift
    next_meta = 0

    def put(post: int, key: str, value: Any) -> None:
        nonlocal next_meta
        next_meta += 1
        postmeta.append(
            {"meta_id": next_meta, "post_id": post, "meta_key": key, "meta_value": str(value)}
        )

    for o in orders:
        post = o["id"] + shift
        refund = o["type"] == "shop_order_refund"
        posts.append(
            {
                "ID": post,
                "post_title": "Order",
                "post_status": o["status"],
                "post_type": o["type"],
                "post_parent": o["parent_order_id"] + shift if refund else 0,
                "post_date": o["date_created_gmt"] + timedelta(hours=LOCAL_HOURS),
                "post_date_gmt": o["date_created_gmt"],
            }
        )
        put(post, "_order_total", o["total_amount"])
        put(post, "_order_currency", o["currency"])
        if refund:
            put(post, "_refund_amount", -o["total_amount"])
            continue
        put(post, "_order_tax", o["tax_amount"])
        put(post, "_customer_user", o["customer_id"])
        put(post, "_billing_email", o["billing_email"])
        address = addresses.get(o["id"])
        for key in ("first_name", "last_name", "postcode", "country"):
            if address is not None and address[key] is not None:
                put(post, f"_billing_{key}", address[key])
    if orders:  # an abandoned checkout draft: never an order
        draft = orders[0]
        post = max(p["ID"] for p in posts) + 1
        posts.append(
            {
                "ID": post,
                "post_title": "Order",
                "post_status": "auto-draft",
                "post_type": "shop_order",
                "post_parent": 0,
                "post_date": draft["date_created_gmt"],
                "post_date_gmt": draft["date_created_gmt"],
            }
        )
        put(post, "_order_total", "5000.00")
        put(post, "_customer_user", draft["customer_id"])
        put(post, "_billing_email", draft["billing_email"])
    for name in ("wc_orders", "wc_order_addresses"):
        meta.remove(meta.tables[f"{prefix}{name}"])
    return _write(engine, meta, out)
