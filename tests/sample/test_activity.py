from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from syncer.db import make_engine
from syncer.sample.activity import CARTS, ORDERS, simulate_activity
from syncer.sample.shop import generate

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
LATER = AS_OF + timedelta(days=14)


def activity(engine: Engine) -> tuple[int, list[tuple[int, int]], int]:
    generate(engine, customers=300, seed=3, as_of=AS_OF)
    written = simulate_activity(engine, since=AS_OF, until=LATER, buyers=40, seed=9)
    with engine.connect() as conn:
        orders = conn.execute(
            select(ORDERS.c.customer_id, ORDERS.c.total_cents)
            .where(ORDERS.c.placed_at > AS_OF, ORDERS.c.placed_at < LATER)
            .order_by(ORDERS.c.id)
        ).all()
        carts = conn.execute(
            select(func.count()).where(CARTS.c.at > AS_OF, CARTS.c.at < LATER)
        ).scalar_one()
    return written, [(r[0], r[1]) for r in orders], int(carts)


def test_new_orders_and_carts_fall_in_the_window_and_are_deterministic(
    engine: Engine, tmp_path: Path
) -> None:
    written, orders, carts = activity(engine)
    assert written == len(orders) >= 40 and carts == 40
    assert len({customer for customer, _ in orders}) == 40
    other = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    try:
        assert activity(other) == (written, orders, carts)  # same seeds, same shop
    finally:
        other.dispose()
