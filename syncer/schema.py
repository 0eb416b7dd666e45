"""The commerce schema: what segments are evaluated against.

Money is stored in integer cents (exact on every database, no Decimal quirks on SQLite).
Timestamps are UTC, written time-zone aware (TIMESTAMPTZ on PostgreSQL; DATETIME(6) on MariaDB,
to the microsecond as elsewhere). Every table a segment aggregates over is indexed on
``(customer_id, <time column>)`` so per-customer aggregates and windows are index range scans.

customers      one row per shopper (attributes: consent, status, quality, zip, country, card)
customer_tags  (customer_id, tag)
products       name, sku, vendor
collections    name; product_collections links products to collections
orders         customer, placed_at, total_cents, status (paid, cancelled, refunded,
               partially_refunded), refunded_cents, coupon_code
order_lines    order, product, quantity, price_cents
reviews        customer, product, rating, created_at
visits         customer, at, device (desktop, mobile, tablet)
cart_events    customer, product, at (an add to cart)
email_events   customer, kind (open, click, conversion), at

external_ids   (source, kind, external_id) -> native id: how an import (``syncer import
               shopify``) finds the rows it wrote before, so re-importing updates them
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Engine, Index, Table
from sqlalchemy.dialects import mysql
from sqlmodel import Field, SQLModel

ORDER_STATUSES = ("paid", "cancelled", "refunded", "partially_refunded")
DEVICES = ("desktop", "mobile", "tablet")
EMAIL_EVENT_KINDS = ("open", "click", "conversion")
# UTC times to the microsecond everywhere (MariaDB/MySQL DATETIME drops fractions by default)
TIMESTAMP = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    zip: str | None = Field(default=None, max_length=20, index=True)
    country: str | None = Field(default=None, max_length=2, index=True)
    status: str | None = Field(default=None, max_length=20, index=True)
    quality: str | None = Field(default=None, max_length=10)
    loyalty_card: str | None = Field(default=None, max_length=20, index=True)
    accepts_marketing: bool = Field(default=False, index=True)
    created_at: datetime = Field(index=True, sa_type=TIMESTAMP)


class CustomerTag(SQLModel, table=True):
    __tablename__ = "customer_tags"
    __table_args__ = (Index("ix_customer_tags_tag", "tag"),)

    customer_id: int = Field(foreign_key="customers.id", primary_key=True)
    tag: str = Field(max_length=60, primary_key=True)


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    sku: str = Field(max_length=64, unique=True)
    vendor: str = Field(max_length=100, index=True)


class Collection(SQLModel, table=True):
    __tablename__ = "collections"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)


class ProductCollection(SQLModel, table=True):
    __tablename__ = "product_collections"
    __table_args__ = (Index("ix_product_collections_collection", "collection_id", "product_id"),)

    product_id: int = Field(foreign_key="products.id", primary_key=True)
    collection_id: int = Field(foreign_key="collections.id", primary_key=True)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_placed", "customer_id", "placed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    placed_at: datetime = Field(sa_type=TIMESTAMP)
    total_cents: int
    status: str = Field(max_length=20, default="paid")
    refunded_cents: int = 0
    coupon_code: str | None = Field(default=None, max_length=40, index=True)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_product_order", "product_id", "order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    product_id: int = Field(foreign_key="products.id")
    quantity: int = 1
    price_cents: int


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_customer_product", "customer_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    product_id: int = Field(foreign_key="products.id")
    rating: int
    created_at: datetime = Field(sa_type=TIMESTAMP)


class Visit(SQLModel, table=True):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_customer_at", "customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    at: datetime = Field(sa_type=TIMESTAMP)
    device: str = Field(max_length=10)


class CartEvent(SQLModel, table=True):
    __tablename__ = "cart_events"
    __table_args__ = (Index("ix_cart_events_customer_at", "customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    product_id: int = Field(foreign_key="products.id")
    at: datetime = Field(sa_type=TIMESTAMP)


class EmailEvent(SQLModel, table=True):
    __tablename__ = "email_events"
    __table_args__ = (Index("ix_email_events_customer_kind_at", "customer_id", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    kind: str = Field(max_length=12)
    at: datetime = Field(sa_type=TIMESTAMP)


COMMERCE_TABLES: list[Table] = [
    m.__table__  # type: ignore[attr-defined,union-attr]
    for m in (
        Customer,
        CustomerTag,
        Product,
        Collection,
        ProductCollection,
        Order,
        OrderLine,
        Review,
        Visit,
        CartEvent,
        EmailEvent,
    )
]


# The same tables as SQLAlchemy Core ``Table`` objects, for queries and bulk writes.
(
    CUSTOMERS,
    CUSTOMER_TAGS,
    PRODUCTS,
    COLLECTIONS,
    PRODUCT_COLLECTIONS,
    ORDERS,
    ORDER_LINES,
    REVIEWS,
    VISITS,
    CART_EVENTS,
    EMAIL_EVENTS,
) = COMMERCE_TABLES


class ExternalId(SQLModel, table=True):
    """A row an import wrote, by the id it has in the platform it came from (a Shopify order
    id, a customer id): re-importing the same export updates that row instead of adding one."""

    __tablename__ = "external_ids"

    source: str = Field(max_length=20, primary_key=True)  # e.g. shopify
    kind: str = Field(max_length=20, primary_key=True)  # customer, order
    external_id: str = Field(max_length=100, primary_key=True)
    native_id: int = Field(index=True)


EXTERNAL_IDS: Table = ExternalId.__table__  # type: ignore[attr-defined,assignment]


def create_commerce_schema(engine: Engine) -> None:
    """Create the commerce tables (and indexes) that do not exist yet."""
    SQLModel.metadata.create_all(engine, tables=[*COMMERCE_TABLES, EXTERNAL_IDS])


def drop_commerce_schema(engine: Engine) -> None:
    SQLModel.metadata.drop_all(engine, tables=[*COMMERCE_TABLES, EXTERNAL_IDS])
