"""The sample shop written as PrestaShop stores it, for the ``prestashop`` preset tests and
``syncer data generate --platform prestashop``.

Real table and column names and types (../shared/platform-schemas/prestashop.md), with the
platform's traps: every time in the shop's local zone (``ZONE``), guests as customer rows of
their own (``is_guest`` 1, the email upper-cased) beside the account with the same email, a
soft-deleted customer (``deleted`` 1) with a big order, decimal totals including tax, order
states as ids into ``ps_order_state`` (its ``logable`` flag saying what counts as a sale),
refunds as credit slips (``order_slip``), voucher codes through ``order_cart_rule``, names in
``product_lang`` / ``category_lang`` per language (a second language written too), every
product also in the root and Home categories, carts as ``cart`` + ``cart_product``, reviews
in the ``productcomments`` module's table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
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

from syncer.sample.platforms.woocommerce import _money
from syncer.schema import (
    CART_EVENTS,
    COLLECTIONS,
    CUSTOMERS,
    ORDER_LINES,
    ORDERS,
    PRODUCT_COLLECTIONS,
    PRODUCTS,
    REVIEWS,
)

ZONE = "Europe/Paris"  # PS_TIMEZONE of the generated shop
LANG, OTHER_LANG, SHOP = 1, 2, 1
# default install state ids: (id, logable, paid, name)
STATES = [
    (1, 0, 0, "Awaiting check payment"),
    (2, 1, 1, "Payment accepted"),
    (5, 1, 1, "Delivered"),
    (6, 0, 0, "Canceled"),
    (7, 0, 1, "Refunded"),
]
STATE = {"paid": 5, "cancelled": 6, "refunded": 7, "partially_refunded": 5}
HOME = 2  # categories 1 (Root) and 2 (Home) hold every product
Tiny = Integer


def _pk(name: str) -> Column[Any]:
    return Column(name, Integer, primary_key=True, autoincrement=False)


def tables(prefix: str) -> MetaData:
    """The PrestaShop tables (the columns segments read, with their real types)."""
    m, p = MetaData(), prefix
    money = Numeric(20, 6)
    Table(
        f"{p}customer",
        m,
        _pk("id_customer"),
        Column("id_shop_group", Integer),
        Column("id_shop", Integer),
        Column("id_lang", Integer),
        Column("firstname", String(255)),
        Column("lastname", String(255)),
        Column("email", String(128), index=True),
        Column("newsletter", Tiny),
        Column("newsletter_date_add", DateTime),
        Column("optin", Tiny),
        Column("active", Tiny),
        Column("is_guest", Tiny),
        Column("deleted", Tiny),
        Column("date_add", DateTime),
        Column("date_upd", DateTime),
    )
    Table(
        f"{p}address",
        m,
        _pk("id_address"),
        Column("id_country", Integer),
        Column("id_customer", Integer),
        Column("postcode", String(12)),
        Column("deleted", Tiny),
    )
    Table(f"{p}country", m, _pk("id_country"), Column("iso_code", String(3)))
    Table(
        f"{p}orders",
        m,
        _pk("id_order"),
        Column("reference", String(9)),
        Column("id_shop_group", Integer),
        Column("id_shop", Integer),
        Column("id_customer", Integer, index=True),
        Column("id_cart", Integer),
        Column("id_currency", Integer),
        Column("current_state", Integer),
        Column("conversion_rate", Numeric(13, 6)),
        Column("total_paid", money),
        Column("total_paid_tax_incl", money),
        Column("total_paid_tax_excl", money),
        Column("valid", Integer),
        Column("date_add", DateTime),
        Column("date_upd", DateTime),
    )
    Table(
        f"{p}order_state",
        m,
        _pk("id_order_state"),
        Column("logable", Tiny),
        Column("paid", Tiny),
        Column("deleted", Tiny),
    )
    Table(
        f"{p}order_state_lang",
        m,
        Column("id_order_state", Integer, primary_key=True),
        Column("id_lang", Integer, primary_key=True),
        Column("name", String(64)),
    )
    Table(
        f"{p}order_detail",
        m,
        _pk("id_order_detail"),
        Column("id_order", Integer, index=True),
        Column("id_shop", Integer),
        Column("product_id", Integer),
        Column("product_attribute_id", Integer),
        Column("product_name", String(255)),
        Column("product_quantity", Integer),
        Column("product_reference", String(64)),
        Column("unit_price_tax_incl", money),
        Column("total_price_tax_incl", money),
    )
    Table(
        f"{p}order_slip",
        m,
        _pk("id_order_slip"),
        Column("id_customer", Integer),
        Column("id_order", Integer, index=True),
        Column("total_products_tax_incl", money),
        Column("total_shipping_tax_incl", money),
        Column("amount", Numeric(20, 6)),
        Column("date_add", DateTime),
    )
    Table(f"{p}cart_rule", m, _pk("id_cart_rule"), Column("code", String(254)))
    Table(
        f"{p}order_cart_rule",
        m,
        _pk("id_order_cart_rule"),
        Column("id_order", Integer),
        Column("id_cart_rule", Integer),
        Column("name", String(254)),
        Column("value", Numeric(17, 2)),
    )
    Table(f"{p}manufacturer", m, _pk("id_manufacturer"), Column("name", String(64)))
    Table(
        f"{p}product",
        m,
        _pk("id_product"),
        Column("id_manufacturer", Integer),
        Column("id_category_default", Integer),
        Column("id_shop_default", Integer),
        Column("reference", String(64)),
        Column("price", money),
        Column("active", Tiny),
    )
    Table(
        f"{p}product_lang",
        m,
        Column("id_product", Integer, primary_key=True),
        Column("id_shop", Integer, primary_key=True),
        Column("id_lang", Integer, primary_key=True),
        Column("name", String(128)),
    )
    Table(
        f"{p}category",
        m,
        _pk("id_category"),
        Column("id_parent", Integer),
        Column("level_depth", Integer),
        Column("is_root_category", Tiny),
        Column("active", Tiny),
    )
    Table(
        f"{p}category_lang",
        m,
        Column("id_category", Integer, primary_key=True),
        Column("id_shop", Integer, primary_key=True),
        Column("id_lang", Integer, primary_key=True),
        Column("name", String(128)),
    )
    Table(
        f"{p}category_product",
        m,
        Column("id_category", Integer, primary_key=True),
        Column("id_product", Integer, primary_key=True),
        Column("position", Integer),
    )
    Table(
        f"{p}cart",
        m,
        _pk("id_cart"),
        Column("id_shop", Integer),
        Column("id_customer", Integer),
        Column("id_guest", Integer),
        Column("date_add", DateTime),
        Column("date_upd", DateTime),
    )
    Table(
        f"{p}cart_product",
        m,
        Column("id_cart", Integer, primary_key=True),
        Column("id_product", Integer, primary_key=True),
        Column("id_product_attribute", Integer, primary_key=True),
        Column("id_shop", Integer),
        Column("quantity", Integer),
        Column("date_add", DateTime),
    )
    Table(
        f"{p}product_comment",
        m,
        _pk("id_product_comment"),
        Column("id_product", Integer),
        Column("id_customer", Integer),
        Column("id_guest", Integer),
        Column("customer_name", String(64)),
        Column("title", String(64)),
        Column("content", Text),
        Column("grade", Numeric(2, 1)),
        Column("validate", Tiny),
        Column("deleted", Tiny),
        Column("date_add", DateTime),
    )
    return m


def _local(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)


def write_prestashop(engine: Engine, prefix: str = "ps_") -> dict[str, int]:
    """Write the native sample shop in ``engine`` as PrestaShop tables."""
    meta = tables(prefix)
    meta.create_all(engine)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in meta.tables}
    ids: dict[str, int] = {}

    def nxt(kind: str) -> int:
        ids[kind] = ids.get(kind, 0) + 1
        return ids[kind]

    def add(table: str, **row: Any) -> None:
        out[prefix + table].append(row)

    for state, logable, paid, name in STATES:
        add("order_state", id_order_state=state, logable=logable, paid=paid, deleted=0)
        add("order_state_lang", id_order_state=state, id_lang=LANG, name=name)
    for cid, parent, depth, root, name in ((1, 0, 0, 1, "Root"), (HOME, 1, 1, 0, "Home")):
        add(
            "category",
            id_category=cid,
            id_parent=parent,
            level_depth=depth,
            is_root_category=root,
            active=1,
        )
        add("category_lang", id_category=cid, id_shop=SHOP, id_lang=LANG, name=name)

    with engine.connect() as conn:
        customers = {r.id: r for r in conn.execute(select(CUSTOMERS))}
        guest_of: dict[int, int] = {}
        guest_base = max(customers, default=0) + 1000
        countries: dict[str, int] = {}

        def person(pid: int, c: Any, *, guest: bool, deleted: int = 0) -> None:
            add(
                "customer",
                id_customer=pid,
                id_shop_group=1,
                id_shop=SHOP,
                id_lang=LANG,
                firstname=c.first_name,
                lastname=c.last_name,
                email=f" {c.email.upper()}" if guest else c.email,
                newsletter=0 if guest else int(bool(c.accepts_marketing)),
                newsletter_date_add=None,
                optin=1,  # partner offers: never read as consent
                active=1,
                is_guest=int(guest),
                deleted=deleted,
                date_add=_local(c.created_at),
                date_upd=_local(c.created_at),
            )
            if c.country and c.country not in countries:
                countries[c.country] = len(countries) + 1
                add("country", id_country=countries[c.country], iso_code=c.country)
            add(
                "address",
                id_address=nxt("address"),
                id_country=countries.get(c.country) if c.country else None,
                id_customer=pid,
                postcode=c.zip,
                deleted=0,
            )

        for c in customers.values():
            person(c.id, c, guest=False)
            if c.id % 3 == 0:  # orders and carts checked out as a guest with the same email
                guest_of[c.id] = guest_base + c.id
                person(guest_of[c.id], c, guest=True)
        makers: dict[str, int] = {}
        for p in conn.execute(select(PRODUCTS)):
            if p.vendor not in makers:
                makers[p.vendor] = len(makers) + 1
                add("manufacturer", id_manufacturer=makers[p.vendor], name=p.vendor)
            add(
                "product",
                id_product=p.id,
                id_manufacturer=makers[p.vendor],
                id_category_default=HOME,
                id_shop_default=SHOP,
                reference=p.sku,
                price=0,
                active=1,
            )
            for lang, name in ((LANG, p.name), (OTHER_LANG, f"{p.name} (fr)")):
                add("product_lang", id_product=p.id, id_shop=SHOP, id_lang=lang, name=name)
            for cat in (1, HOME):
                add("category_product", id_category=cat, id_product=p.id, position=0)
        for col in conn.execute(select(COLLECTIONS)):
            cid = col.id + HOME
            add(
                "category",
                id_category=cid,
                id_parent=HOME,
                level_depth=2,
                is_root_category=0,
                active=1,
            )
            for lang, name in ((LANG, col.name), (OTHER_LANG, f"{col.name} (fr)")):
                add("category_lang", id_category=cid, id_shop=SHOP, id_lang=lang, name=name)
        for pc in conn.execute(select(PRODUCT_COLLECTIONS)):
            add(
                "category_product",
                id_category=pc.collection_id + HOME,
                id_product=pc.product_id,
                position=0,
            )
        lines: dict[int, list[Any]] = {}
        for line in conn.execute(select(ORDER_LINES)):
            lines.setdefault(line.order_id, []).append(line)
        rules: dict[str, int] = {}
        order_rows = list(conn.execute(select(ORDERS).order_by(ORDERS.c.id)))

        def order(oid: int, customer: int, placed: datetime, total: Decimal, state: int) -> None:
            add(
                "orders",
                id_order=oid,
                reference=f"R{oid:08d}",
                id_shop_group=1,
                id_shop=SHOP,
                id_customer=customer,
                id_cart=0,
                id_currency=1,
                current_state=state,
                conversion_rate=1,
                total_paid=total,
                total_paid_tax_incl=total,
                total_paid_tax_excl=(total / Decimal("1.2")).quantize(Decimal("0.000001")),
                valid=int(state in (2, 5)),
                date_add=placed,
                date_upd=placed,
            )

        for o in order_rows:
            c = customers[o.customer_id]
            placed = _local(o.placed_at)
            order(o.id, guest_of.get(c.id, c.id), placed, _money(o.total_cents), STATE[o.status])
            if o.refunded_cents:
                add(
                    "order_slip",
                    id_order_slip=nxt("slip"),
                    id_customer=guest_of.get(c.id, c.id),
                    id_order=o.id,
                    total_products_tax_incl=_money(o.refunded_cents),
                    total_shipping_tax_incl=0,
                    amount=_money(o.refunded_cents),
                    date_add=placed,
                )
            if o.coupon_code:
                if o.coupon_code not in rules:
                    rules[o.coupon_code] = len(rules) + 1
                    add("cart_rule", id_cart_rule=rules[o.coupon_code], code=o.coupon_code)
                add(
                    "order_cart_rule",
                    id_order_cart_rule=nxt("ocr"),
                    id_order=o.id,
                    id_cart_rule=rules[o.coupon_code],
                    name="voucher",
                    value=0,
                )
            for line in lines.get(o.id, []):
                add(
                    "order_detail",
                    id_order_detail=line.id,
                    id_order=o.id,
                    id_shop=SHOP,
                    product_id=line.product_id,
                    product_attribute_id=0,
                    product_name="product",
                    product_quantity=line.quantity,
                    product_reference="sku",
                    unit_price_tax_incl=_money(line.price_cents),
                    total_price_tax_incl=_money(line.price_cents * line.quantity),
                )
        if customers and order_rows:  # a soft-deleted account and its big order: nothing
            c = next(iter(customers.values()))
            gone = guest_base * 2
            person(
                gone,
                SimpleNamespace(**{**c._asdict(), "email": f"gone.{c.email}"}),
                guest=False,
                deleted=1,
            )
            last = order_rows[-1]
            order(last.id + 1, gone, _local(last.placed_at), Decimal("9999"), 5)
        for e in conn.execute(select(CART_EVENTS)):
            cart = nxt("cart")
            who = guest_of.get(e.customer_id, e.customer_id)
            add(
                "cart",
                id_cart=cart,
                id_shop=SHOP,
                id_customer=who,
                id_guest=cart,
                date_add=_local(e.at),
                date_upd=_local(e.at),
            )
            add(
                "cart_product",
                id_cart=cart,
                id_product=e.product_id,
                id_product_attribute=0,
                id_shop=SHOP,
                quantity=1,
                date_add=_local(e.at),
            )
        for r in conn.execute(select(REVIEWS)):
            add(
                "product_comment",
                id_product_comment=r.id,
                id_product=r.product_id,
                id_customer=r.customer_id,
                id_guest=0,
                customer_name=customers[r.customer_id].first_name,
                title="review",
                content="",
                grade=r.rating,
                validate=1,
                deleted=0,
                date_add=_local(r.created_at),
            )
    with engine.begin() as conn:
        for name, rows in out.items():
            if rows:
                conn.execute(meta.tables[name].insert(), rows)
    return {name: len(rows) for name, rows in out.items() if rows}
