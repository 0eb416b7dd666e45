"""Hypothesis strategies: small random commerce data and random rule trees."""
# ruff: noqa: RUF001  (Cyrillic, Greek and Turkish letters on purpose)

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from syncer.schema import DEVICES, EMAIL_EVENT_KINDS, ORDER_STATUSES
from syncer.segments.catalog import FIELDS, ITEM_OPS, LIST_OPS, NO_VALUE_OPS, ValueType
from syncer.segments.model import QUANTITY_FIELDS, Condition, Group, Not, Window
from tests.segments.reference import World

AS_OF = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
# as-of dates inside the data's range (rows are drawn from 400 days before AS_OF to 2 after)
AS_OFS = [AS_OF, AS_OF - timedelta(days=1), AS_OF - timedelta(days=31, hours=1),
          AS_OF - timedelta(days=200)]  # fmt: skip
PRODUCTS = [("Espresso Beans", "SKU-1", "Acme Roasters"), ("Burr Grinder", "SKU-2", "Grind_Co"),
            ("Mug 100%", "SKU-3", "acme roasters"),
            ("Čaj Zelený", "SKU-4", "Café Noir")]  # fmt: skip
COLLECTIONS = ["Coffee", "Equipment", "Été"]
# non-ASCII text (accented Latin, Greek, Cyrillic and the special cases of docs/segments.md)
UNICODE = ["Émeraude", "ÉMERAUDE", "émeraude", "Ωμέγα", "ΩΜΈΓΑ", "ΟΔΟΣ", "οδος", "Москва",
           "МОСКВА", "Straße", "STRAẞE", "STRASSE", "İz", "iz", "ız", "é", "Ω", "ß"]  # fmt: skip
TEXTS = ["Gold", "gold", "Silver", "A", "B", "94107", "9410", "94_07", "DE", "de", "e", "",
         *UNICODE]  # fmt: skip
COUNTRIES = [None, "DE", "de", "US", "", "E_", "ÉS", "és", "ΕΛ"]
ITEMS = ["Espresso Beans", "espresso beans", "SKU-2", "Acme Roasters", "grind_co", "Coffee",
         "Equipment", "WELCOME10", "spring", "wholesale", "VIP", "Mug 100%", "mobile",
         "CAFÉ NOIR", "café noir", "ČAJ ZELENÝ", "été", "ÉTÉ", "Café", "ΚΑΦΈ", "чай"]  # fmt: skip
COUPONS = [None, "WELCOME10", "welcome10", "SPRING", "", "ÉTÉ", "été"]
TAGS = ["wholesale", "VIP", "vip", "retail", "Café", "CAFÉ", "ΚΑΦΈ", "Чай"]


def _same_key(text: str) -> str:
    """Equal under a case- and accent-insensitive collation (MariaDB's default for keys)."""
    base = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in base if not unicodedata.combining(ch))


def moment(days: int, seconds: int = 0) -> datetime:
    return AS_OF - timedelta(days=days) + timedelta(seconds=seconds)


BOUNDARY_DAYS = [0, 1, 2, 29, 30, 31, 32, 90, 91, 364, 365, 366]
offsets = st.tuples(
    st.one_of(st.sampled_from(BOUNDARY_DAYS), st.integers(-2, 400)),
    st.sampled_from([0, 0, 0, 1, -1, 3600]),
)
maybe_text = st.sampled_from([None, *TEXTS])


@st.composite
def worlds(draw: Any, customers: int = 8) -> World:
    w = World()
    for name, sku, vendor in PRODUCTS:
        w.add("products", name=name, sku=sku, vendor=vendor)
    for name in COLLECTIONS:
        w.add("collections", name=name)
    w.add("product_collections", product_id=1, collection_id=1)
    w.add("product_collections", product_id=3, collection_id=1)
    w.add("product_collections", product_id=2, collection_id=2)
    w.add("product_collections", product_id=4, collection_id=3)
    for _ in range(draw(st.integers(2, customers))):
        cid = w.customer(
            zip=draw(maybe_text), country=draw(st.sampled_from(COUNTRIES)), status=draw(maybe_text),
            quality=draw(maybe_text), loyalty_card=draw(maybe_text),
            accepts_marketing=draw(st.booleans()), created_at=moment(*draw(offsets)),
        )  # fmt: skip
        for tag in draw(st.sets(st.sampled_from(TAGS), max_size=2)):
            if _same_key(tag) not in {_same_key(t["tag"]) for t in w.of("customer_tags", cid)}:
                w.add("customer_tags", customer_id=cid, tag=tag)
        for _ in range(draw(st.integers(0, 3))):
            total = draw(st.sampled_from([0, 999, 25000, 50000, 50001]))
            order = w.add(
                "orders", customer_id=cid, placed_at=moment(*draw(offsets)), total_cents=total,
                status=draw(st.sampled_from(ORDER_STATUSES)),
                coupon_code=draw(st.sampled_from(COUPONS)),
                refunded_cents=draw(st.sampled_from([0, 0, total // 2])),
            )  # fmt: skip
            for pid in draw(st.sets(st.integers(1, len(PRODUCTS)), min_size=1, max_size=2)):
                quantity = draw(st.integers(1, 3))
                w.add(
                    "order_lines", order_id=order["id"], product_id=pid, price_cents=100,
                    quantity=quantity,
                )  # fmt: skip
        for table, col, extra in (
            ("visits", "at", lambda: {"device": draw(st.sampled_from(DEVICES))}),
            ("cart_events", "at", lambda: {"product_id": draw(st.integers(1, len(PRODUCTS)))}),
            ("email_events", "at", lambda: {"kind": draw(st.sampled_from(EMAIL_EVENT_KINDS))}),
            (
                "reviews",
                "created_at",
                lambda: {"product_id": draw(st.integers(1, len(PRODUCTS))), "rating": 5},
            ),
        ):
            for _ in range(draw(st.integers(0, 3))):
                w.add(table, customer_id=cid, **{col: moment(*draw(offsets))}, **extra())
    return w


WINDOWS = [None, "all_time", "last_30_days", "last_3_months", "last_year", "last_1_days",
           {"between": [date(2026, 1, 1), date(2026, 3, 15)]}]  # fmt: skip


def _value(vt: ValueType) -> st.SearchStrategy[Any]:
    return {
        ValueType.COUNT: st.integers(0, 3),
        ValueType.DAYS: st.sampled_from([0, 1, 30, 31, 90, 365]),
        ValueType.MONEY: st.sampled_from([0, 9.99, 250, 250.01, 500, 499.99, 1000]),
        ValueType.TEXT: st.sampled_from([t for t in TEXTS if t]),
        ValueType.BOOL: st.booleans(),
        ValueType.DATE: st.sampled_from([date(2025, 3, 15), date(2026, 3, 14), date(2026, 3, 15)]),
        ValueType.ITEM: st.sampled_from(ITEMS),
        ValueType.DEVICE: st.sampled_from(DEVICES),
    }[vt]


@st.composite
def conditions(
    draw: Any, fields: Sequence[str] = tuple(sorted(FIELDS)), window: Any = "draw"
) -> Condition:
    spec = FIELDS[draw(st.sampled_from(fields))]
    op = draw(st.sampled_from(spec.operators))
    if window == "draw":
        window = draw(st.sampled_from(WINDOWS))
    window = window if spec.window else None
    if spec.value_type is ValueType.DATE and op != "within":
        window = None  # a date compared with a value takes no window
    if op == "within" and window is None:
        window = "last_30_days"
    value: Any = None
    if op == "between":
        value = sorted(draw(st.lists(_value(spec.value_type), min_size=2, max_size=2)))
    elif op in LIST_OPS:
        value = draw(st.lists(_value(spec.value_type), min_size=1, max_size=3))
    elif op not in NO_VALUE_OPS:
        value = draw(_value(spec.value_type))
    data: dict[str, Any] = {"field": spec.name, "op": op, "value": value}
    if window is not None:
        data["window"] = Window.model_validate(window)
    if spec.name in QUANTITY_FIELDS and op in ITEM_OPS and draw(st.booleans()):
        data["min_quantity"] = draw(st.integers(1, 4))
    return Condition.model_validate(data)


# fields read from the same table, which the compiler may merge into one grouped subquery / EXISTS
SAME_TABLE = [
    ["orders", "cancelled_orders", "refunded_orders", "total_spent", "coupon_orders",
     "days_since_last_order", "coupon", "purchased_product", "purchased_collection",
     "average_order_value", "last_order_value", "first_order_date", "distinct_products_bought"],
    ["visits", "days_since_last_visit", "preferred_device", "visited_device"],
    ["cart_adds", "abandoned_carts"],
    ["email_opens", "email_clicks", "email_conversions"],
]  # fmt: skip


@st.composite
def same_table(draw: Any) -> Group | Not:
    """A group of 2-4 conditions over one table, most often in one window."""
    fields = draw(st.sampled_from(SAME_TABLE))
    window = draw(st.sampled_from([None, "last_year", "draw"]))
    parts = draw(st.lists(conditions(fields, window), min_size=2, max_size=4))
    group = Group(kind=draw(st.sampled_from(["all", "all", "any"])), rules=tuple(parts))
    return Not(rule=group) if draw(st.integers(0, 4)) == 0 else group


rules = st.recursive(
    st.one_of(conditions(), same_table()),
    lambda inner: st.one_of(
        st.builds(
            Group,
            kind=st.sampled_from(["all", "any"]),
            rules=st.lists(inner, min_size=1, max_size=3).map(tuple),
        ),
        st.builds(Not, rule=inner),
    ),
    max_leaves=4,
)  # fmt: skip
