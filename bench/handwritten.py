"""One hand-written SQL query per example segment (``config/segments/*.yaml``), the yardstick for
the compiled queries: what someone who knows the schema would write by hand.

The SQL lives in ``bench/sql/<segment>.sql``: plain SQL with bound parameters only (values are
never put into the text); the same text runs on SQLite and PostgreSQL. Timestamps are bound as
naive UTC, like the columns store them. Each query returns the members' ``customer_id, email,
first_name, last_name, accepts_marketing``; ``evaluation.py`` checks it returns exactly the
compiled query's set before timing either.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, TextClause, bindparam, text

from syncer.segments.model import months_before

SQL_DIR = Path(__file__).resolve().parent / "sql"
Params = dict[str, Any]
CANCELLED = {"cancelled": "cancelled"}


def days(now: datetime, n: int) -> datetime:
    return now - timedelta(days=n)


# segment name -> (file under bench/sql/, its parameters as a function of as_of)
QUERIES: dict[str, tuple[str, Callable[[datetime], Params]]] = {
    "Abandoned cart": (
        "abandoned-cart.sql",
        lambda now: {"since": days(now, 7), "now": now, **CANCELLED},
    ),
    "Active frequent": ("active-frequent.sql", lambda now: {"visits": 10, "since": days(now, 7)}),
    "Big spender gone quiet": (
        "big-spender-gone-quiet.sql",
        lambda now: {"quiet_since": days(now, 91), "spent": 30000, **CANCELLED},
    ),
    "Cross sell": (
        "cross-sell.sql",
        lambda now: {
            "recent": days(now, 14),
            "oldest": days(now, 61),
            "has": "Coffee",
            "has_not": "Equipment",
            **CANCELLED,
        },
    ),
    "Email-engaged in Germany": (
        "email-engaged-in-germany.sql",
        lambda now: {
            "country": "DE",
            "consent": True,
            "click": "click",
            "conversion": "conversion",
            "since": months_before(now, 6),
            "now": now,
        },
    ),
    "Engaged mobile browsers": (
        "engaged-mobile-browsers.sql",
        lambda now: {
            "mobile": "mobile",
            "desktop": "desktop",
            "tablet": "tablet",
            "visit_since": days(now, 30),
            "open": "open",
            "open_since": months_before(now, 3),
            "now": now,
        },
    ),
    "Highlight a product": (
        "highlight-a-product.sql",
        lambda now: {"collection": "Brewing", "product": "Pour-over Kettle", **CANCELLED},
    ),
    "Loyal": ("loyal.sql", lambda now: {"orders": 5}),
    "New customers": ("new-customers.sql", lambda now: {"visits": 3, "since": days(now, 15)}),
    "Product A or B buyers": (
        "product-a-or-b-buyers.sql",
        lambda now: {
            "a": "French Press",
            "b": "AeroPress",
            "since": months_before(now, 12),
            "now": now,
            **CANCELLED,
        },
    ),
    "Product on sale": ("product-on-sale.sql", lambda now: {"sku": "EQP-GRN-BUR", **CANCELLED}),
    "Time to re-order": (
        "time-to-re-order.sql",
        lambda now: {"since": days(now, 31), "product": "Espresso Beans", **CANCELLED},
    ),
    "VIP customers": ("vip-customers.sql", lambda now: {"orders": 2, "spent": 50000, **CANCELLED}),
    "Lapsed VIPs": (
        "lapsed-vips.sql",
        lambda now: {"orders": 2, "spent": 50000, "since": days(now, 61), **CANCELLED},
    ),
    "VIP retargeting": (
        "vip-retargeting.sql",
        lambda now: {"visits": 10, "since": days(now, 31), "card": "Gold"},
    ),
    "Visitors who are not customers": ("visitors-who-are-not-customers.sql", lambda now: {}),
}


def _typed(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return bindparam(name, value, type_=DateTime())
    if isinstance(value, bool):
        return bindparam(name, value, type_=Boolean())
    if isinstance(value, int):
        return bindparam(name, value, type_=Integer())
    return bindparam(name, value, type_=String())


def handwritten(name: str, as_of: datetime) -> TextClause | None:
    """The hand-written query for segment ``name`` at ``as_of`` (None if there is none)."""
    if name not in QUERIES:
        return None
    filename, params = QUERIES[name]
    sql = (SQL_DIR / filename).read_text()
    now = as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo else as_of  # as stored
    values = params(now)
    return text(sql).bindparams(*(_typed(k, v) for k, v in values.items()))
