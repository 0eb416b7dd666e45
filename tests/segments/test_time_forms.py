"""Times are compared as times whatever ISO form a shop's SQLite file stores them in; the same
instants give the same members on PostgreSQL and MariaDB.

On SQLite the rows are written as raw text (bypassing the ORM), in every form docs/schema.md
accepts; on the other databases the same instants are written as timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text

from syncer.db import dialect_of, make_engine
from syncer.schema import CART_EVENTS, CUSTOMERS, ORDERS, PRODUCTS, create_commerce_schema
from syncer.segments.compiler import members_query
from syncer.segments.loader import parse_segment

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)  # last_30_days starts at 2026-01-30 00:00:00 UTC
# (stored text, inside last_30_days as of AS_OF)
ORDER_TIMES: list[tuple[str, bool]] = [
    ("2026-01-30 00:00:00", True),
    ("2026-01-30 00:00:00.000000", True),
    ("2026-01-30T00:00:00", True),
    ("2026-01-30T00:00:00Z", True),
    ("2026-01-30 00:00:00.000", True),
    ("2026-01-30T00:00:00.5", True),
    ("2026-01-30 00:00", True),
    ("2026-01-30", True),
    ("2026-01-30T01:00:00+01:00", True),
    ("2026-01-29T22:30:00-01:30", True),
    ("2026-01-30T00:00:00.000000+00:00", True),
    ("2026-03-01T01:00:00+01:00", True),  # exactly as-of
    ("2026-03-01 00:00:00", True),
    ("2026-01-29 23:59:59", False),
    ("2026-01-29T23:59:59.999999Z", False),
    ("2026-01-30T00:59:59+01:00", False),
    ("2026-01-30T00:00:00+00:01", False),
    ("2026-03-01T00:00:00.000001Z", False),  # after as-of
    # the widest offsets, whose local date is a day away from the UTC one
    ("2026-01-29T10:00:00-14:00", True),
    ("2026-01-30T13:59:59+14:00", False),
    ("2026-03-01T14:00:00+14:00", True),
    ("2026-02-28T10:00:00-14:00", True),
    ("2026-02-28T10:00:01-14:00", False),
]


def instant(stored: str) -> datetime:
    at = datetime.fromisoformat(stored)
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def put(engine: Engine, table: str, row: dict[str, Any], time_col: str) -> None:
    """One row; on SQLite the time column is written as the raw text given."""
    with engine.begin() as conn:
        if dialect_of(engine) == "sqlite":
            cols = ", ".join(row)
            conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES (:{', :'.join(row)})"), row)
        else:
            table_obj = {"customers": CUSTOMERS, "orders": ORDERS, "cart_events": CART_EVENTS}
            conn.execute(insert(table_obj[table]), {**row, time_col: instant(row[time_col])})


def customer(engine: Engine, cid: int, created: str = "2025-01-01 00:00:00") -> None:
    row = {"id": cid, "email": f"c{cid}@example.com", "accepts_marketing": False}
    put(engine, "customers", {**row, "created_at": created}, "created_at")


def order(engine: Engine, cid: int, placed: str) -> None:
    row = {"customer_id": cid, "placed_at": placed, "total_cents": 100, "status": "paid"}
    put(engine, "orders", {**row, "refunded_cents": 0}, "placed_at")


def members(engine: Engine, rules: Any) -> set[int]:
    s = parse_segment({"name": "s", "rules": rules}, source="test")
    with engine.connect() as conn:
        return {r.customer_id for r in conn.execute(members_query(s, {}, as_of=AS_OF))}


def test_window_boundaries_in_every_iso_form(engine: Engine) -> None:
    create_commerce_schema(engine)
    for cid, (stored, _inside) in enumerate(ORDER_TIMES, start=1):
        customer(engine, cid)
        order(engine, cid, stored)
    inside = {cid for cid, (_s, ok) in enumerate(ORDER_TIMES, start=1) if ok}
    rule = {"field": "orders", "op": "ge", "value": 1, "window": "last_30_days"}
    assert members(engine, rule) == inside
    assert members(engine, {"not": rule}) == set(range(1, len(ORDER_TIMES) + 1)) - inside


def test_latest_time_created_and_order_after_cart(engine: Engine) -> None:
    create_commerce_schema(engine)
    with engine.begin() as conn:
        conn.execute(insert(PRODUCTS), {"id": 1, "name": "Beans", "sku": "B", "vendor": "V"})
    # 1: the latest order is 2026-02-21 00:30 UTC (7 days before as-of), although the other
    #    one's text sorts later; 2: created 2026-01-29 23:00 UTC, 3: created 2026-01-30 00:00
    customer(engine, 1)
    order(engine, 1, "2026-02-21T10:00:00+12:00")
    order(engine, 1, "2026-02-21 00:30:00")
    customer(engine, 2, "2026-01-30T01:00:00+02:00")
    customer(engine, 3, "2026-01-30T00:00:00Z")
    # 4: an order an hour after the cart add, stored in another form: not abandoned
    customer(engine, 4)
    cart = {"customer_id": 4, "product_id": 1, "at": "2026-02-10T10:00:00+02:00"}
    put(engine, "cart_events", cart, "at")
    order(engine, 4, "2026-02-10 09:00:00")
    assert members(engine, {"field": "days_since_last_order", "op": "eq", "value": 7}) == {1}
    created = {"field": "created", "op": "ge", "value": "2026-01-30"}
    assert members(engine, created) == {3}
    assert members(engine, {"field": "abandoned_carts", "op": "ge", "value": 1}) == set()


@pytest.mark.parametrize("stored", ["not a time", "2026-13-45 00:00:00"])
def test_unreadable_time_is_in_no_window(sqlite_url: str, stored: str) -> None:
    engine = make_engine(sqlite_url)  # only SQLite stores times as text
    create_commerce_schema(engine)
    customer(engine, 1)
    order(engine, 1, stored)
    assert members(engine, {"field": "orders", "op": "ge", "value": 1}) == set()
    window = {"field": "orders", "op": "ge", "value": 1, "window": "last_30_days"}
    assert members(engine, window) == set()
    engine.dispose()
