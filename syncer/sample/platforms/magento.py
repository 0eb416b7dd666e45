"""The sample shop written as Magento 2 stores it, for the ``magento2`` preset tests and
``syncer data generate --platform magento2``.

Real table and column names and types (../shared/platform-schemas/magento2.md), with the
platform's traps: decimal ``base_grand_total`` including tax, refunds summed on the order
(``base_total_refunded``, the order ``closed`` when fully refunded), every third customer's
orders checked out as a guest (``customer_id`` NULL, the email upper-cased), configurable
products ordered as a parent line with a child line, product and category names as EAV
``name`` values (a store-specific name over an outdated default), the manufacturer as an EAV
option, consent in ``newsletter_subscriber`` (status 1 only), reviews with rating votes,
carts as quotes, and a second website whose customer (the same email as one of the shop's)
ordered there: a preset reading website 1 must leave it out.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    select,
)

from syncer.sample.platforms.woocommerce import TAX, _money, _utc
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

# native status -> (state, status)
STATE = {
    "paid": ("complete", "complete"),
    "cancelled": ("canceled", "canceled"),
    "refunded": ("closed", "closed"),
    "partially_refunded": ("complete", "complete"),
}
PRODUCT_TYPE, CATEGORY_TYPE = 4, 3  # eav_entity_type ids
NAME_ATTR, CATEGORY_NAME_ATTR, MANUFACTURER_ATTR = 73, 45, 83  # looked up by the preset
WEBSITE, STORE, OTHER_WEBSITE, OTHER_STORE = 1, 1, 2, 2


def _pk(name: str) -> Column[Any]:
    return Column(name, Integer, primary_key=True, autoincrement=False)


def _eav(m: MetaData, name: str, kind: Any) -> None:
    Table(
        name,
        m,
        _pk("value_id"),
        Column("attribute_id", SmallInteger),
        Column("store_id", SmallInteger),
        Column("entity_id", Integer, index=True),
        Column("value", kind),
    )


def tables(prefix: str) -> MetaData:
    """The Magento 2 tables (the columns segments read, with their real types)."""
    m, p = MetaData(), prefix
    money = Numeric(20, 4)
    Table(f"{p}store_website", m, _pk("website_id"), Column("code", String(32)))
    Table(
        f"{p}store",
        m,
        _pk("store_id"),
        Column("code", String(32)),
        Column("website_id", SmallInteger),
        Column("is_active", SmallInteger),
    )
    Table(
        f"{p}customer_entity",
        m,
        _pk("entity_id"),
        Column("website_id", SmallInteger),
        Column("email", String(255)),
        Column("group_id", SmallInteger),
        Column("store_id", SmallInteger),
        Column("created_at", DateTime),
        Column("is_active", SmallInteger),
        Column("firstname", String(255)),
        Column("lastname", String(255)),
        Column("default_billing", Integer),
    )
    Table(
        f"{p}customer_address_entity",
        m,
        _pk("entity_id"),
        Column("parent_id", Integer),
        Column("postcode", String(255)),
        Column("country_id", String(255)),
    )
    Table(
        f"{p}newsletter_subscriber",
        m,
        _pk("subscriber_id"),
        Column("store_id", SmallInteger),
        Column("customer_id", Integer),
        Column("subscriber_email", String(150)),
        Column("subscriber_status", Integer),
    )
    Table(
        f"{p}sales_order",
        m,
        _pk("entity_id"),
        Column("increment_id", String(50)),
        Column("state", String(32)),
        Column("status", String(32)),
        Column("store_id", SmallInteger),
        Column("customer_id", Integer, index=True),
        Column("customer_is_guest", SmallInteger),
        Column("customer_email", String(128)),
        Column("customer_firstname", String(128)),
        Column("customer_lastname", String(128)),
        Column("created_at", DateTime),
        Column("grand_total", money),
        Column("base_grand_total", money),
        Column("base_tax_amount", money),
        Column("base_total_refunded", money),
        Column("coupon_code", String(255)),
        Column("order_currency_code", String(3)),
    )
    Table(
        f"{p}sales_order_address",
        m,
        _pk("entity_id"),
        Column("parent_id", Integer),
        Column("address_type", String(255)),
        Column("email", String(255)),
        Column("postcode", String(255)),
        Column("country_id", String(2)),
    )
    Table(
        f"{p}sales_order_item",
        m,
        _pk("item_id"),
        Column("order_id", Integer, index=True),
        Column("parent_item_id", Integer),
        Column("product_id", Integer),
        Column("product_type", String(255)),
        Column("sku", String(255)),
        Column("qty_ordered", Numeric(12, 4)),
        Column("base_price", money),
        Column("base_row_total", money),
    )
    Table(f"{p}eav_entity_type", m, _pk("entity_type_id"), Column("entity_type_code", String(50)))
    Table(
        f"{p}eav_attribute",
        m,
        _pk("attribute_id"),
        Column("entity_type_id", SmallInteger),
        Column("attribute_code", String(255)),
        Column("backend_type", String(8)),
    )
    Table(
        f"{p}eav_attribute_option_value",
        m,
        _pk("value_id"),
        Column("option_id", Integer),
        Column("store_id", SmallInteger),
        Column("value", String(255)),
    )
    Table(
        f"{p}catalog_product_entity",
        m,
        _pk("entity_id"),
        Column("attribute_set_id", SmallInteger),
        Column("type_id", String(32)),
        Column("sku", String(64)),
    )
    _eav(m, f"{p}catalog_product_entity_varchar", String(255))
    _eav(m, f"{p}catalog_product_entity_int", Integer)
    Table(
        f"{p}catalog_category_entity",
        m,
        _pk("entity_id"),
        Column("parent_id", Integer),
        Column("path", String(255)),
        Column("level", Integer),
    )
    _eav(m, f"{p}catalog_category_entity_varchar", String(255))
    Table(
        f"{p}catalog_category_product",
        m,
        _pk("entity_id"),
        Column("category_id", Integer),
        Column("product_id", Integer),
        Column("position", Integer),
    )
    Table(
        f"{p}review",
        m,
        _pk("review_id"),
        Column("created_at", DateTime),
        Column("entity_id", SmallInteger),
        Column("entity_pk_value", Integer),
        Column("status_id", SmallInteger),
    )
    Table(
        f"{p}review_detail",
        m,
        _pk("detail_id"),
        Column("review_id", Integer),
        Column("store_id", SmallInteger),
        Column("title", String(255)),
        Column("detail", Text),
        Column("nickname", String(128)),
        Column("customer_id", Integer),
    )
    Table(
        f"{p}rating_option_vote",
        m,
        _pk("vote_id"),
        Column("option_id", Integer),
        Column("customer_id", Integer),
        Column("entity_pk_value", Integer),
        Column("rating_id", SmallInteger),
        Column("review_id", Integer),
        Column("percent", SmallInteger),
        Column("value", SmallInteger),
    )
    Table(
        f"{p}quote",
        m,
        _pk("entity_id"),
        Column("store_id", SmallInteger),
        Column("created_at", DateTime),
        Column("updated_at", DateTime),
        Column("is_active", SmallInteger),
        Column("items_count", Integer),
        Column("customer_id", Integer),
        Column("customer_email", String(255)),
        Column("customer_is_guest", SmallInteger),
    )
    Table(
        f"{p}quote_item",
        m,
        _pk("item_id"),
        Column("quote_id", Integer, index=True),
        Column("parent_item_id", Integer),
        Column("created_at", DateTime),
        Column("product_id", Integer),
        Column("store_id", SmallInteger),
        Column("sku", String(255)),
        Column("qty", Numeric(12, 4)),
    )
    return m


def write_magento2(engine: Engine, prefix: str = "") -> dict[str, int]:
    """Write the native sample shop in ``engine`` as Magento 2 tables."""
    meta = tables(prefix)
    meta.create_all(engine)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in meta.tables}
    ids: dict[str, int] = {}

    def nxt(kind: str) -> int:
        ids[kind] = ids.get(kind, 0) + 1
        return ids[kind]

    def add(table: str, **row: Any) -> None:
        out[prefix + table].append(row)

    add("store_website", website_id=WEBSITE, code="base")
    add("store_website", website_id=OTHER_WEBSITE, code="de")
    add("store", store_id=0, code="admin", website_id=0, is_active=1)
    add("store", store_id=STORE, code="default", website_id=WEBSITE, is_active=1)
    add("store", store_id=OTHER_STORE, code="de", website_id=OTHER_WEBSITE, is_active=1)
    add("eav_entity_type", entity_type_id=CATEGORY_TYPE, entity_type_code="catalog_category")
    add("eav_entity_type", entity_type_id=PRODUCT_TYPE, entity_type_code="catalog_product")
    for attr, kind, code, backend in (
        (CATEGORY_NAME_ATTR, CATEGORY_TYPE, "name", "varchar"),
        (NAME_ATTR, PRODUCT_TYPE, "name", "varchar"),
        (MANUFACTURER_ATTR, PRODUCT_TYPE, "manufacturer", "int"),
    ):
        add(
            "eav_attribute",
            attribute_id=attr,
            entity_type_id=kind,
            attribute_code=code,
            backend_type=backend,
        )

    def value(table: str, attr: int, store: int, entity: int, v: Any) -> None:
        add(
            table, value_id=nxt(table), attribute_id=attr, store_id=store, entity_id=entity, value=v
        )

    with engine.connect() as conn:
        customers = {r.id: r for r in conn.execute(select(CUSTOMERS))}
        for c in customers.values():
            address = nxt("address")
            add(
                "customer_entity",
                entity_id=c.id,
                website_id=WEBSITE,
                email=c.email,
                group_id=1,
                store_id=STORE,
                created_at=_utc(c.created_at),
                is_active=1,
                firstname=c.first_name,
                lastname=c.last_name,
                default_billing=address,
            )
            add(
                "customer_address_entity",
                entity_id=address,
                parent_id=c.id,
                postcode=c.zip,
                country_id=c.country,
            )
            add(
                "newsletter_subscriber",
                subscriber_id=nxt("subscriber"),
                store_id=STORE,
                customer_id=c.id,
                subscriber_email=c.email,
                subscriber_status=1 if c.accepts_marketing else 3,
            )
        options: dict[str, int] = {}
        for p in conn.execute(select(PRODUCTS)):
            add(
                "catalog_product_entity",
                entity_id=p.id,
                attribute_set_id=4,
                type_id="simple",
                sku=p.sku,
            )
            table = "catalog_product_entity_varchar"
            if p.id % 2:  # renamed in the store view: the default (store 0) is outdated
                value(table, NAME_ATTR, 0, p.id, f"{p.name} (old)")
                value(table, NAME_ATTR, STORE, p.id, p.name)
            else:
                value(table, NAME_ATTR, 0, p.id, p.name)
            value(table, NAME_ATTR, OTHER_STORE, p.id, f"{p.name} (de)")
            if p.vendor not in options:
                options[p.vendor] = len(options) + 1
                add(
                    "eav_attribute_option_value",
                    value_id=options[p.vendor],
                    option_id=options[p.vendor],
                    store_id=0,
                    value=p.vendor,
                )
            value("catalog_product_entity_int", MANUFACTURER_ATTR, 0, p.id, options[p.vendor])
        root = 2
        add("catalog_category_entity", entity_id=root, parent_id=1, path="1/2", level=1)
        value("catalog_category_entity_varchar", CATEGORY_NAME_ATTR, 0, root, "Default Category")
        for col in conn.execute(select(COLLECTIONS)):
            cid = col.id + root
            add(
                "catalog_category_entity", entity_id=cid, parent_id=root, path=f"1/2/{cid}", level=2
            )
            value("catalog_category_entity_varchar", CATEGORY_NAME_ATTR, 0, cid, col.name)
        for pc in conn.execute(select(PRODUCT_COLLECTIONS)):
            add(
                "catalog_category_product",
                entity_id=nxt("catprod"),
                category_id=pc.collection_id + root,
                product_id=pc.product_id,
                position=0,
            )
        lines: dict[int, list[Any]] = {}
        for line in conn.execute(select(ORDER_LINES)):
            lines.setdefault(line.order_id, []).append(line)
        order_rows = list(conn.execute(select(ORDERS).order_by(ORDERS.c.id)))
        for o in order_rows:
            c = customers[o.customer_id]
            guest = c.id % 3 == 0
            total = _money(o.total_cents)
            state, status = STATE[o.status]
            add(
                "sales_order",
                entity_id=o.id,
                increment_id=f"{o.id:09d}",
                state=state,
                status=status,
                store_id=STORE,
                customer_id=None if guest else c.id,
                customer_is_guest=1 if guest else 0,
                customer_email=f" {c.email.upper()}" if guest else c.email,
                customer_firstname=c.first_name,
                customer_lastname=c.last_name,
                created_at=_utc(o.placed_at),
                grand_total=total,
                base_grand_total=total,
                base_tax_amount=(total * TAX / (1 + TAX)).quantize(Decimal("0.0001")),
                base_total_refunded=_money(o.refunded_cents) if o.refunded_cents else None,
                coupon_code=o.coupon_code,
                order_currency_code="EUR",
            )
            add(
                "sales_order_address",
                entity_id=nxt("oaddr"),
                parent_id=o.id,
                address_type="billing",
                email=c.email,
                postcode=c.zip,
                country_id=c.country,
            )
            for n, line in enumerate(lines.get(o.id, [])):
                item = nxt("item")
                configurable = n % 2 == 1  # a configurable parent line and its simple child
                add(
                    "sales_order_item",
                    item_id=item,
                    order_id=o.id,
                    parent_item_id=None,
                    product_id=line.product_id,
                    product_type="configurable" if configurable else "simple",
                    sku="sku",
                    qty_ordered=line.quantity,
                    base_price=_money(line.price_cents),
                    base_row_total=_money(line.price_cents * line.quantity),
                )
                if configurable:
                    add(
                        "sales_order_item",
                        item_id=nxt("item"),
                        order_id=o.id,
                        parent_item_id=item,
                        product_id=line.product_id + 1_000_000,
                        product_type="simple",
                        sku="sku-child",
                        qty_ordered=line.quantity,
                        base_price=0,
                        base_row_total=0,
                    )
        if customers and order_rows:  # the same email on the other website, a big order there
            c = next(iter(customers.values()))
            other = max(customers) + 1
            add(
                "customer_entity",
                entity_id=other,
                website_id=OTHER_WEBSITE,
                email=c.email,
                group_id=1,
                store_id=OTHER_STORE,
                created_at=datetime(2019, 1, 1),
                is_active=1,
                firstname=c.first_name,
                lastname=c.last_name,
                default_billing=None,
            )
            add(
                "sales_order",
                entity_id=max(o.id for o in order_rows) + 1,
                increment_id="de-1",
                state="complete",
                status="complete",
                store_id=OTHER_STORE,
                customer_id=other,
                customer_is_guest=0,
                customer_email=c.email,
                customer_firstname=c.first_name,
                customer_lastname=c.last_name,
                created_at=_utc(order_rows[-1].placed_at),
                grand_total=Decimal("9999"),
                base_grand_total=Decimal("9999"),
                base_tax_amount=0,
                base_total_refunded=None,
                coupon_code=None,
                order_currency_code="EUR",
            )
        for r in conn.execute(select(REVIEWS)):
            add(
                "review",
                review_id=r.id,
                created_at=_utc(r.created_at),
                entity_id=1,
                entity_pk_value=r.product_id,
                status_id=1,
            )
            add(
                "review_detail",
                detail_id=r.id,
                review_id=r.id,
                store_id=STORE,
                title="review",
                detail="",
                nickname=customers[r.customer_id].first_name,
                customer_id=r.customer_id,
            )
            for rating in (1, 2):  # two rating codes voted the same: the average is the rating
                add(
                    "rating_option_vote",
                    vote_id=nxt("vote"),
                    option_id=r.rating,
                    customer_id=r.customer_id,
                    entity_pk_value=r.product_id,
                    rating_id=rating,
                    review_id=r.id,
                    percent=r.rating * 20,
                    value=r.rating,
                )
        for e in conn.execute(select(CART_EVENTS)):
            c = customers[e.customer_id]
            quote = nxt("quote")
            add(
                "quote",
                entity_id=quote,
                store_id=STORE,
                created_at=_utc(e.at),
                updated_at=_utc(e.at),
                is_active=1,
                items_count=1,
                customer_id=None if c.id % 3 == 0 else c.id,
                customer_email=c.email,
                customer_is_guest=1 if c.id % 3 == 0 else 0,
            )
            add(
                "quote_item",
                item_id=quote,
                quote_id=quote,
                parent_item_id=None,
                created_at=_utc(e.at),
                product_id=e.product_id,
                store_id=STORE,
                sku="sku",
                qty=1,
            )
    with engine.begin() as conn:
        for name, rows in out.items():
            if rows:
                conn.execute(meta.tables[name].insert(), rows)
    return {name: len(rows) for name, rows in out.items() if rows}
