"""Deterministic, realistic sample data for the commerce database (a coffee shop).

``generate(engine, customers=N, seed=S, as_of=T)`` writes the same rows for the same (N, S, T) on
every database: ids are explicit, timestamps are whole seconds before ``as_of``, and one seeded
random generator is consumed in a fixed order. Customers are generated and written in chunks, so
memory stays flat whatever N is.

The shape, so segments have something to find:

* about 12% of customers have nothing at all (no orders, visits, carts or email events);
* order counts are skewed: many customers with 0 or 1 orders, a long tail of loyal buyers;
* activity is spread over about three years before ``as_of``; each customer has gone quiet
  for a while (exponential, mean four months), so "days since last order" spreads widely;
* some orders are cancelled, refunded or partially refunded; some carry a coupon;
* visits lean to each customer's preferred device; some cart adds are never bought
  (abandoned carts come after the customer's last order);
* email events (open, click, conversion) only for consenting customers, fading over time for
  customers who went quiet.

The planner's statistics are refreshed at the end (ANALYZE; on PostgreSQL VACUUM (ANALYZE),
after the secondary indexes and foreign keys, set aside for the load, are rebuilt): without them
SQLite can pick an index order that makes a segment count take minutes instead of milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, func, select

from syncer.db import mask_url
from syncer.errors import ConfigError
from syncer.sample.bulk_load import BulkWriter, Row
from syncer.sample.catalogue import (
    CARDS,
    CATALOGUE,
    COLLECTIONS,
    COUNTRIES,
    COUPONS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    TAGS,
    VENDORS,
)
from syncer.schema import (
    CartEvent,
    Collection,
    Customer,
    CustomerTag,
    EmailEvent,
    Order,
    OrderLine,
    Product,
    ProductCollection,
    Review,
    Visit,
    create_commerce_schema,
)

__all__ = ["CARDS", "COLLECTIONS", "COUPONS", "PRODUCTS", "VENDORS", "generate"]

Progress = Callable[[str, int, int], None]

CHUNK = 2000
DAY = 86400.0
HISTORY_DAYS = 3 * 365
_LETTERS = "ABCDEFGHJKLMNPRSTVWXZ"


def _table(model: type) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# Insertion order respects foreign keys; columns match the tuples built below.
TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    name: (_table(model), tuple(columns.split()))
    for name, model, columns in (
        ("customers", Customer, "id email first_name last_name zip country status quality "
         "loyalty_card accepts_marketing created_at"),
        ("customer_tags", CustomerTag, "customer_id tag"),
        ("orders", Order, "id customer_id placed_at total_cents status refunded_cents coupon_code"),
        ("order_lines", OrderLine, "id order_id product_id quantity price_cents"),
        ("reviews", Review, "id customer_id product_id rating created_at"),
        ("visits", Visit, "id customer_id at device"),
        ("cart_events", CartEvent, "id customer_id product_id at"),
        ("email_events", EmailEvent, "id customer_id kind at"),
    )
}  # fmt: skip
CATALOGUE_TABLES = ("products", "collections", "product_collections")


@dataclass
class _Ids:
    order: int = 0
    line: int = 0
    review: int = 0
    visit: int = 0
    cart: int = 0
    email: int = 0


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


class _Shop:
    """Generates one customer's rows at a time from one seeded random generator."""

    def __init__(self, seed: int, as_of: datetime) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.ids = _Ids()
        self.product_ids = list(range(1, len(CATALOGUE) + 1))
        self.prices = [p.price_cents for p in CATALOGUE]
        self.popularity = _cumulative([p.popularity for p in CATALOGUE])
        self.countries = [c for c, _w in COUNTRIES]
        self.country_weights = _cumulative([w for _c, w in COUNTRIES])
        self.devices = ["mobile", "desktop", "tablet"]
        self.device_weights = _cumulative([55, 35, 10])
        self.ratings = [5, 4, 3, 2, 1]
        self.rating_weights = _cumulative([50, 28, 10, 6, 6])

    def _at(self, days_ago: float) -> datetime:
        return self.as_of - timedelta(seconds=int(days_ago * DAY))

    def _order_count(self) -> int:
        r = self.rng.random()
        if r < 0.40:
            return 0
        if r < 0.65:
            return 1
        return min(60, 1 + int(self.rng.paretovariate(1.5)))

    def _zip(self, country: str) -> str | None:
        rng = self.rng
        if rng.random() < 0.05:
            return None
        if country == "US":
            return (
                f"94{rng.randint(0, 999):03d}"
                if rng.random() < 0.15
                else f"{rng.randint(1000, 99999):05d}"
            )
        if country in ("DE", "FR"):
            return f"{rng.randint(1000, 99999):05d}"
        if country == "NL":
            return f"{rng.randint(1000, 9999)} {''.join(rng.choices(_LETTERS, k=2))}"
        return f"{rng.randint(1000, 9999)}"

    def customer(self, cid: int, rows: dict[str, list[Row]]) -> None:
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        age = rng.uniform(1.0, HISTORY_DAYS)  # days since the customer was created
        created = self._at(age)
        dormant = rng.random() < 0.12
        n_orders = 0 if dormant else self._order_count()
        quiet = min(age, rng.expovariate(1 / 120))  # days since the customer's last activity
        country = rng.choices(self.countries, cum_weights=self.country_weights)[0]
        consent = rng.random() < 0.70
        status = "prospect" if n_orders == 0 else "churned" if quiet > 365 else "active"
        if rng.random() < 0.03:
            status = rng.choice(("prospect", "active", "churned"))
        score = n_orders + rng.random() * 3
        quality: str | None = "A" if score >= 6 else "B" if score >= 2.5 else "C"
        if n_orders == 0 and rng.random() < 0.3:
            quality = None
        card: str | None = None
        if rng.random() < 0.12 + 0.05 * min(n_orders, 10):
            card = rng.choices(CARDS, cum_weights=(55, 88, 100))[0]
        rows["customers"].append(
            (cid, f"{first}.{last}.{cid}@example.com".lower(), first, last, self._zip(country),
             country, status, quality, card, consent, created)
        )  # fmt: skip
        for tag, p in TAGS:
            if rng.random() < p:
                rows["customer_tags"].append((cid, tag))
        if dormant:
            return
        last_order = self._orders(cid, n_orders, age, quiet, rows)
        self._visits(cid, n_orders, age, quiet, rows)
        if rng.random() < 0.18:  # abandoned cart: adds after the last order, never bought
            window = min(quiet, 60.0)
            for _ in range(rng.randint(1, 3)):
                days = rng.uniform(0, window)
                if last_order is not None and days >= last_order:
                    continue
                pid = rng.choices(self.product_ids, cum_weights=self.popularity)[0]
                self.ids.cart += 1
                rows["cart_events"].append((self.ids.cart, cid, pid, self._at(days)))
        if consent:
            self._emails(cid, age, quiet, rows)

    def _orders(
        self, cid: int, n: int, age: float, quiet: float, rows: dict[str, list[Row]]
    ) -> float | None:
        """Write ``n`` orders; return the last one's age in days (None without orders)."""
        if n == 0:
            return None
        rng, ids = self.rng, self.ids
        favourites = rng.choices(self.product_ids, cum_weights=self.popularity, k=3)
        days = sorted((rng.uniform(quiet, age) for _ in range(n)), reverse=True)
        days[-1] = quiet  # the last order is exactly when the customer went quiet
        for i, d in enumerate(days):
            placed = self._at(d)
            ids.order += 1
            n_lines = 1 + (rng.random() < 0.45) + (rng.random() < 0.2) + (rng.random() < 0.05)
            products: list[int] = []
            for _ in range(n_lines):
                if rng.random() < 0.6:
                    pid = rng.choice(favourites)
                else:
                    pid = rng.choices(self.product_ids, cum_weights=self.popularity)[0]
                if pid not in products:
                    products.append(pid)
            total = 0
            for pid in products:
                qty = 1 if rng.random() < 0.75 else rng.randint(2, 3)
                price = self.prices[pid - 1]
                total += qty * price
                ids.line += 1
                rows["order_lines"].append((ids.line, ids.order, pid, qty, price))
                if rng.random() < 0.07:
                    review_days = d - rng.uniform(2, 30)
                    if review_days > 0:
                        ids.review += 1
                        rating = rng.choices(self.ratings, cum_weights=self.rating_weights)[0]
                        rows["reviews"].append(
                            (ids.review, cid, pid, rating, self._at(review_days))
                        )
            coupon = None
            if (i == 0 and rng.random() < 0.3) or rng.random() < 0.08:
                coupon = COUPONS[0] if i == 0 else rng.choice(COUPONS[1:])
                total -= total // 10
            r = rng.random()
            status, refunded = "paid", 0
            if r < 0.05:
                status = "cancelled"
            elif r < 0.08:
                status, refunded = "refunded", total
            elif r < 0.12:
                status, refunded = "partially_refunded", int(total * rng.uniform(0.1, 0.6))
            rows["orders"].append((ids.order, cid, placed, total, status, refunded, coupon))
            ids.cart += 1
            cart_at = placed - timedelta(seconds=rng.randint(60, 3600))
            rows["cart_events"].append((ids.cart, cid, products[0], cart_at))
        return days[-1]

    def _visits(
        self, cid: int, n_orders: int, age: float, quiet: float, rows: dict[str, list[Row]]
    ) -> None:
        rng = self.rng
        n = min(200, n_orders * rng.randint(1, 4) + int(rng.expovariate(1 / 3)))
        preferred = rng.choices(self.devices, cum_weights=self.device_weights)[0]
        last = quiet * rng.random()
        for _ in range(n):
            device = preferred if rng.random() < 0.75 else rng.choice(self.devices)
            self.ids.visit += 1
            rows["visits"].append((self.ids.visit, cid, self._at(rng.uniform(last, age)), device))

    def _emails(self, cid: int, age: float, quiet: float, rows: dict[str, list[Row]]) -> None:
        rng, ids = self.rng, self.ids
        engagement = rng.random() ** 2
        opens = int(engagement * 40 * min(1.0, age / 365))
        fade = 2.5 if quiet > 180 else 1.0  # customers who went quiet opened early, then less
        out = rows["email_events"]
        for _ in range(opens):
            days = age * (1 - rng.random() ** fade)
            ids.email += 1
            out.append((ids.email, cid, "open", self._at(days)))
            if rng.random() < 0.25:
                days = max(0.0, days - rng.uniform(0.001, 0.02))
                ids.email += 1
                out.append((ids.email, cid, "click", self._at(days)))
                if rng.random() < 0.12:
                    ids.email += 1
                    out.append((ids.email, cid, "conversion", self._at(max(0.0, days - 0.01))))


def _normalise(as_of: datetime) -> datetime:
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return as_of.replace(microsecond=0)


def _catalogue_rows() -> dict[str, list[Row]]:
    collection_ids = {name: i for i, name in enumerate(COLLECTIONS, start=1)}
    links: list[Row] = []
    products: list[Row] = []
    for pid, p in enumerate(CATALOGUE, start=1):
        products.append((pid, p.name, p.sku, p.vendor))
        links.extend((pid, collection_ids[c]) for c in p.collections)
    return {
        "products": products,
        "collections": [(i, name) for name, i in collection_ids.items()],
        "product_collections": links,
    }


CATALOGUE_COLUMNS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "products": (_table(Product), ("id", "name", "sku", "vendor")),
    "collections": (_table(Collection), ("id", "name")),
    "product_collections": (_table(ProductCollection), ("product_id", "collection_id")),
}


def generate(
    engine: Engine,
    *,
    customers: int,
    seed: int,
    as_of: datetime,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write sample data for ``customers`` customers; return the rows written per table.

    Creates the commerce schema if missing. The database must hold no customers or products yet
    (``syncer data generate --reset`` empties it first).
    """
    if customers < 0:
        raise ConfigError(f"--customers must be 0 or more, not {customers}")
    create_commerce_schema(engine)
    with engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(_table(Customer))).scalar_one()
        existing += conn.execute(select(func.count()).select_from(_table(Product))).scalar_one()
    if existing:
        raise ConfigError(
            f"database {mask_url(engine.url)} already has customers or products;",
            hint="use --reset to replace them with sample data",
        )
    writer = BulkWriter(engine)
    counts = dict.fromkeys((*CATALOGUE_TABLES, *TABLES), 0)
    with engine.begin() as conn:
        for name, catalogue_rows in _catalogue_rows().items():
            table, columns = CATALOGUE_COLUMNS[name]
            writer.write(conn, table, columns, catalogue_rows)
            counts[name] = len(catalogue_rows)
    shop = _Shop(seed, _normalise(as_of))
    loaded = [table for table, _columns in TABLES.values()]
    with engine.begin() as conn:
        recreate = writer.defer_indexes(conn, loaded)
    done = 0
    if progress:
        progress("customers", 0, customers)
    while done < customers:
        rows: dict[str, list[Row]] = {name: [] for name in TABLES}
        upto = min(customers, done + CHUNK)
        for cid in range(done + 1, upto + 1):
            shop.customer(cid, rows)
        with engine.begin() as conn:
            for name, (table, columns) in TABLES.items():
                writer.write(conn, table, columns, rows[name])
                counts[name] += len(rows[name])
        done = upto
        if progress:
            progress("customers", done, customers)
    if progress and recreate:
        progress("indexes", 0, 1)
    with engine.begin() as conn:
        writer.restore(conn, recreate)
    if progress and recreate:
        progress("indexes", 1, 1)
    with engine.begin() as conn:
        tables = [t for t, _c in (*CATALOGUE_COLUMNS.values(), *TABLES.values())]
        writer.finish(conn, tables)
    writer.analyze(tables)
    return counts
