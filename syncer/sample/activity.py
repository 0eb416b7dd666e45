"""Time passing in the sample shop: some customers order again, everyone else grows older.

``simulate_activity(engine, since=T0, until=T1, buyers=N, seed=S)`` adds orders (paid, with one
line each) for ``N`` existing customers, placed between ``T0`` and ``T1``, and as many cart adds
that nobody buys (abandoned carts) by other customers. Evaluating segments at
``T1`` instead of ``T0`` then moves people both ways: buyers join "VIP customers" and leave
"Big spender gone quiet"; customers who did not buy cross "last order more than N days ago".
The demo and the benchmarks use it for a realistic second sync. Deterministic for (N, S, T0, T1).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from syncer.schema import CART_EVENTS, CUSTOMERS, ORDER_LINES, ORDERS, PRODUCTS

CARTS, LINES = CART_EVENTS, ORDER_LINES


def simulate_activity(
    engine: Engine, *, since: datetime, until: datetime, buyers: int, seed: int
) -> int:
    """Orders for ``buyers`` random customers between ``since`` and ``until``; returns how many
    orders were written."""
    rng = random.Random(seed)
    span = max(1, int((until - since).total_seconds()))
    with engine.begin() as conn:
        customer_ids = list(conn.execute(select(CUSTOMERS.c.id).order_by(CUSTOMERS.c.id)).scalars())
        products = conn.execute(select(PRODUCTS.c.id, PRODUCTS.c.name)).all()
        next_order = int(conn.execute(select(func.max(ORDERS.c.id))).scalar() or 0) + 1
        next_line = int(conn.execute(select(func.max(LINES.c.id))).scalar() or 0) + 1
        next_cart = int(conn.execute(select(func.max(CARTS.c.id))).scalar() or 0) + 1
        if not customer_ids or not products:
            return 0
        orders, lines, carts = [], [], []
        chosen = rng.sample(customer_ids, min(2 * buyers, len(customer_ids)))
        for customer_id in chosen[buyers:]:  # added to the cart, never bought
            carts.append(
                {"id": next_cart, "customer_id": customer_id, "product_id": rng.choice(products).id,
                 "at": since + timedelta(seconds=rng.randrange(span))}
            )  # fmt: skip
            next_cart += 1
        for customer_id in chosen[:buyers]:
            for _ in range(rng.choice((1, 1, 2, 3))):
                price = rng.choice((1800, 2400, 4900, 8900, 14900, 24900))
                placed = since + timedelta(seconds=rng.randrange(span))
                orders.append(
                    {"id": next_order, "customer_id": customer_id, "placed_at": placed,
                     "total_cents": price, "status": "paid", "refunded_cents": 0}
                )  # fmt: skip
                lines.append(
                    {"id": next_line, "order_id": next_order, "quantity": 1,
                     "product_id": rng.choice(products).id, "price_cents": price}
                )  # fmt: skip
                next_order += 1
                next_line += 1
        conn.execute(insert(ORDERS), orders)
        conn.execute(insert(LINES), lines)
        if carts:
            conn.execute(insert(CARTS), carts)
    return len(orders)
