"""The sample shop copied into a shop of its own design: other table and column names, money in
decimal units, statuses and email kinds in its own words, consent as 'yes'/'no', times stored
as Berlin wall-clock time; and the ``source.yaml`` that maps it back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

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
    select,
)

from syncer.schema import (
    CART_EVENTS,
    COLLECTIONS,
    CUSTOMER_TAGS,
    CUSTOMERS,
    EMAIL_EVENTS,
    ORDER_LINES,
    ORDERS,
    PRODUCT_COLLECTIONS,
    PRODUCTS,
    REVIEWS,
    VISITS,
)
from syncer.source.model import parse_source

BERLIN = ZoneInfo("Europe/Berlin")
STATUS = {"paid": "done", "cancelled": "void", "refunded": "returned", "partially_refunded": "part"}
KIND = {"open": "o", "click": "c", "conversion": "v"}

meta = MetaData()


def _t(name: str, *cols: Column[Any]) -> Table:
    return Table(name, meta, *cols)


def _id(name: str) -> Column[Any]:
    return Column(name, BigInteger, primary_key=True, autoincrement=False)


LOCAL = DateTime()  # naive: wall-clock time in Berlin
CLIENTS = _t(
    "sh_clients",
    _id("client_no"),
    Column("mail", String(320)),
    Column("given_name", String(100)),
    Column("family_name", String(100)),
    Column("postcode", String(20)),
    Column("country_code", String(2)),
    Column("stage", String(20)),
    Column("grade", String(10)),
    Column("card", String(20)),
    Column("newsletter", String(3)),
    Column("signed_up", LOCAL),
)
LABELS = _t("sh_labels", Column("client_no", BigInteger), Column("label", String(60)))
ITEMS = _t(
    "sh_items",
    _id("item_no"),
    Column("title", String(200)),
    Column("code", String(64)),
    Column("maker", String(100)),
)
GROUPS = _t("sh_groups", _id("group_no"), Column("label", String(100)))
MEMBERS = _t("sh_group_items", Column("item_no", BigInteger), Column("group_no", BigInteger))
PURCHASES = _t(
    "sh_purchases",
    _id("purchase_no"),
    Column("client_no", BigInteger),
    Column("buyer_mail", String(320)),
    Column("placed", LOCAL),
    Column("amount", Numeric(14, 2)),
    Column("refunded", Numeric(14, 2)),
    Column("state", String(20)),
    Column("voucher", String(40)),
)
LINES = _t(
    "sh_purchase_items",
    _id("line_no"),
    Column("purchase_no", BigInteger),
    Column("item_no", BigInteger),
    Column("qty", Integer),
    Column("price", Numeric(14, 2)),
)
OPINIONS = _t(
    "sh_opinions",
    _id("opinion_no"),
    Column("client_no", BigInteger),
    Column("item_no", BigInteger),
    Column("stars", Integer),
    Column("written", LOCAL),
)
SESSIONS = _t(
    "sh_sessions",
    _id("session_no"),
    Column("client_no", BigInteger),
    Column("started", LOCAL),
    Column("device", String(10)),
)
BASKET = _t(
    "sh_basket_adds",
    _id("add_no"),
    Column("client_no", BigInteger),
    Column("item_no", BigInteger),
    Column("at_local", LOCAL),
)
MAILS = _t(
    "sh_mail_events",
    _id("event_no"),
    Column("client_no", BigInteger),
    Column("what", String(2)),
    Column("at_local", LOCAL),
)


def local(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(BERLIN).replace(tzinfo=None)


def cents(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


def copy_shop(engine: Engine, *, by_email: bool = False) -> None:
    """Copy the native sample shop in ``engine`` into the ``sh_`` tables (same database)."""
    meta.create_all(engine)
    with engine.begin() as conn:
        rows = lambda t: [r._mapping for r in conn.execute(select(t))]  # noqa: E731
        email = {r["id"]: r["email"] for r in rows(CUSTOMERS)}
        conn.execute(
            CLIENTS.insert(),
            [
                {
                    "client_no": r["id"],
                    "mail": r["email"],
                    "given_name": r["first_name"],
                    "family_name": r["last_name"],
                    "postcode": r["zip"],
                    "country_code": r["country"],
                    "stage": r["status"],
                    "grade": r["quality"],
                    "card": r["loyalty_card"],
                    "newsletter": "Yes" if r["accepts_marketing"] else "no",
                    "signed_up": local(r["created_at"]),
                }
                for r in rows(CUSTOMERS)
            ],
        )
        conn.execute(
            LABELS.insert(),
            [{"client_no": r["customer_id"], "label": r["tag"]} for r in rows(CUSTOMER_TAGS)],
        )
        conn.execute(
            ITEMS.insert(),
            [
                {"item_no": r["id"], "title": r["name"], "code": r["sku"], "maker": r["vendor"]}
                for r in rows(PRODUCTS)
            ],
        )
        conn.execute(
            GROUPS.insert(), [{"group_no": r["id"], "label": r["name"]} for r in rows(COLLECTIONS)]
        )
        conn.execute(
            MEMBERS.insert(),
            [
                {"item_no": r["product_id"], "group_no": r["collection_id"]}
                for r in rows(PRODUCT_COLLECTIONS)
            ],
        )
        conn.execute(
            PURCHASES.insert(),
            [
                {
                    "purchase_no": r["id"],
                    "client_no": None if by_email else r["customer_id"],
                    # guest-style: only an email, in another case and with spaces
                    "buyer_mail": f"  {email[r['customer_id']].upper()} " if by_email else None,
                    "placed": local(r["placed_at"]),
                    "amount": cents(r["total_cents"]),
                    "refunded": cents(r["refunded_cents"]),
                    "state": STATUS[r["status"]],
                    "voucher": r["coupon_code"],
                }
                for r in rows(ORDERS)
            ],
        )
        conn.execute(
            LINES.insert(),
            [
                {
                    "line_no": r["id"],
                    "purchase_no": r["order_id"],
                    "item_no": r["product_id"],
                    "qty": r["quantity"],
                    "price": cents(r["price_cents"]),
                }
                for r in rows(ORDER_LINES)
            ],
        )
        if reviews := rows(REVIEWS):
            conn.execute(
                OPINIONS.insert(),
                [
                    {
                        "opinion_no": r["id"],
                        "client_no": r["customer_id"],
                        "item_no": r["product_id"],
                        "stars": r["rating"],
                        "written": local(r["created_at"]),
                    }
                    for r in reviews
                ],
            )
        conn.execute(
            SESSIONS.insert(),
            [
                {
                    "session_no": r["id"],
                    "client_no": r["customer_id"],
                    "started": local(r["at"]),
                    "device": r["device"],
                }
                for r in rows(VISITS)
            ],
        )
        conn.execute(
            BASKET.insert(),
            [
                {
                    "add_no": r["id"],
                    "client_no": r["customer_id"],
                    "item_no": r["product_id"],
                    "at_local": local(r["at"]),
                }
                for r in rows(CART_EVENTS)
            ],
        )
        conn.execute(
            MAILS.insert(),
            [
                {
                    "event_no": r["id"],
                    "client_no": r["customer_id"],
                    "what": KIND[r["kind"]],
                    "at_local": local(r["at"]),
                }
                for r in rows(EMAIL_EVENTS)
            ],
        )


def mapping(*, by_email: bool = False) -> dict[str, Any]:
    """The source.yaml (as data) that maps the ``sh_`` shop back to Syncer's model."""
    orders: dict[str, Any] = {
        "table": "purchases",
        "columns": {
            "id": "purchase_no",
            "customer_id": "buyer_mail" if by_email else "client_no",
            "placed_at": "placed",
            "total_cents": {"column": "amount", "money": "decimal"},
            "refunded_cents": {"column": "refunded", "money": "decimal"},
            "status": {"column": "state", "values": {v: k for k, v in STATUS.items()}},
            "coupon_code": "voucher",
        },
    }
    data: dict[str, Any] = {
        "prefix": "sh_",
        "timezone": "Europe/Berlin",
        "identity": "email" if by_email else "id",
        "tables": {
            "customers": {
                "table": "clients",
                "columns": {
                    "id": "client_no",
                    "email": "mail",
                    "first_name": "given_name",
                    "last_name": "family_name",
                    "zip": "postcode",
                    "country": "country_code",
                    "status": "stage",
                    "quality": "grade",
                    "loyalty_card": "card",
                    "accepts_marketing": {"column": "newsletter", "true_values": ["yes"]},
                    "created_at": "signed_up",
                },
            },
            "customer_tags": {
                "table": "labels",
                "columns": {"customer_id": "client_no", "tag": "label"},
            },
            "products": {
                "table": "items",
                "columns": {"id": "item_no", "name": "title", "sku": "code", "vendor": "maker"},
            },
            "collections": {"table": "groups", "columns": {"id": "group_no", "name": "label"}},
            "product_collections": {
                "table": "group_items",
                "columns": {"product_id": "item_no", "collection_id": "group_no"},
            },
            "orders": orders,
            "order_lines": {
                "table": "purchase_items",
                "columns": {
                    "id": "line_no",
                    "order_id": "purchase_no",
                    "product_id": "item_no",
                    "quantity": "qty",
                    "price_cents": {"column": "price", "money": "decimal"},
                },
            },
            # a model: the admin's own select, columns renamed by the mapping
            "reviews": {
                "model": "SELECT opinion_no, client_no, item_no, stars, written "
                "FROM {prefix}opinions",
                "columns": {
                    "id": "opinion_no",
                    "customer_id": "client_no",
                    "product_id": "item_no",
                    "rating": "stars",
                    "created_at": "written",
                },
            },
            "visits": {
                "model": "SELECT session_no AS id, client_no AS customer_id, "
                "started AS at, device FROM {prefix}sessions"
            },
            "cart_events": {
                "table": "basket_adds",
                "columns": {
                    "id": "add_no",
                    "customer_id": "client_no",
                    "product_id": "item_no",
                    "at": "at_local",
                },
            },
            "email_events": {
                "table": "mail_events",
                "columns": {
                    "id": "event_no",
                    "customer_id": "client_no",
                    "at": "at_local",
                    "kind": {"column": "what", "values": {v: k for k, v in KIND.items()}},
                },
            },
        },
    }
    if by_email:  # every other table still names the customer by number: give them emails
        for name in ("customer_tags", "reviews", "cart_events", "email_events"):
            data["tables"][name] = {"absent": "not in this test"}
        data["tables"]["visits"] = {"absent": "not in this test"}
    parse_source(data, where="test")  # the mapping itself is valid
    return data
