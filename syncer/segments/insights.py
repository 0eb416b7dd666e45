"""What a segment's members look like, computed by the database over its compiled select.

    result = insights(conn, segment, segments, as_of=now)   # an ``Insights``; .to_json()

Every figure is an aggregate computed by the database; no member row reaches Python. The
members are evaluated once (the segment's compiled select, one pass over the shop like a
count) into a temporary table, and the members' own rows of each table the figures and the
overlaps read (orders, order lines, visits, ...) are copied once into temporary tables
(``member_rows``); every figure and every overlap reads those copies, never a whole table. The
queries:

* size and marketing consent: counted over every member when they are copied
  (``member_rows.Whole``), before any sample is taken;
* profile (one query): the members read, buyers, spend and order totals, the spend and
  order-count histograms (fixed edges), the recency buckets, and the quantiles of spend, order
  count and days since the last order. Quantiles use the nearest rank (the value at rank
  ceil(q * n) in ascending order), found with ROW_NUMBER(), which SQLite, PostgreSQL and MariaDB
  all have (no percentile function is portable);
* top products, collections and vendors (members who bought them): the members' paid orders
  and lines are read once into a temporary table of (member, product) pairs, which the three
  grouped queries read; countries and devices (members who visited on them, and visits): one
  grouped query each;
* overlap: for every other segment, how many members are also in it: its rule compiled over
  the copies (a source whose tables are the copies: exact for the members, who are all there
  is), one query each (a segment that does not compile is listed with its error instead),
  on PostgreSQL planned without nested loops (``OVERLAP_SETTINGS``).
  Every query is compiled before the copies are made, so only the tables read are copied.

Over more than ``sample`` members (``SAMPLE`` by default), the copies keep that many of them
(``MemberRows.filled``): the size and the consent are still every member's, counted before the
cut; every other figure is the sample's, its counts scaled up to the size (``_Scale``; the
histograms by largest remainder, so they still add up to the size) and ``Insights.sample`` says
so. The quantiles are the sample's own.

The figures follow the segment fields (docs/segments.md): ``orders`` counts every order,
cancelled ones too; spend is ``total_spent`` (net of refunds, cancelled orders left out);
recency is ``days_since_last_order``; the average order value is the spend over the orders that
were not cancelled. As of a date, later orders and visits count for nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    FromClause,
    MetaData,
    Select,
    Subquery,
    Table,
    and_,
    bindparam,
    case,
    distinct,
    func,
    insert,
    select,
)

from syncer import schema
from syncer.errors import ConfigError, SyncerError
from syncer.schema import CUSTOMERS
from syncer.segments.compiler import compile_rule, members_query
from syncer.segments.member_rows import (
    CreateAs,
    MemberRows,
    Whole,
    analyse,
    drop_quietly,
    postgresql_settings,
)
from syncer.segments.model import Segment, as_utc
from syncer.segments.sqlparts import folded, moment, until
from syncer.source.active import active, here
from syncer.source.tables import Source

ORDERS, LINES, PRODUCTS = schema.ORDERS, schema.ORDER_LINES, schema.PRODUCTS
PCOLL, COLLECTIONS, VISITS = schema.PRODUCT_COLLECTIONS, schema.COLLECTIONS, schema.VISITS

TOP = 10
# A larger segment's figures (all but its size and consent) are estimated from this many of its
# members, the same ones in every run (``member_rows.scatter``): a share measured on 2,000
# members drawn at random would be within 2.2 points of the whole segment's 19 times in 20, and
# the sample measured within 1.9 (README "Insights ÷ count"). For a 50,000-member segment of
# 1,000,000 customers, reading every member took 8.6 to 21.2 counts, the sample 1.7 to 2.5.
# ``sample=None`` (``--exact``) reads them all.
SAMPLE = 2_000
# (label, numerator, denominator): the quantiles reported, nearest rank
QUANTILES: tuple[tuple[str, int, int], ...] = (
    ("min", 0, 1),
    ("p25", 1, 4),
    ("median", 1, 2),
    ("p75", 3, 4),
    ("p90", 9, 10),
    ("max", 1, 1),
)
SPEND_EDGES = (5_000, 10_000, 25_000, 50_000, 100_000, 250_000)  # cents: < 50, 50-100, ...
ORDER_EDGES = (1, 2, 3, 6, 11)  # 0, 1, 2, 3-5, 6-10, 11+
RECENCY_DAYS = (30, 90, 180, 365)  # 0-30, 31-90, 91-180, 181-365, over 365, no orders
# PostgreSQL, for the overlaps: the copies have no index, so a nested loop over one reads its
# inner side again for every outer row; the planner takes one where it estimates a side at a
# few rows (VIP retargeting: its rule's three tests of the loyalty card taken as independent,
# 4,584 members estimated 5, each compared with every grouped visitor: 4.5 counts of
# 1,000,000 customers; hash-joined, 0.5)
OVERLAP_SETTINGS = {"enable_nestloop": "off"}


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int


@dataclass(frozen=True)
class Ranked:
    name: str
    members: int


@dataclass(frozen=True)
class DeviceUse:
    device: str
    members: int  # members with at least one visit on it
    visits: int


@dataclass(frozen=True)
class Overlap:
    segment: str
    members: int | None  # members of this segment also in that one; None if it failed
    share: float | None  # of this segment's size
    note: str | None = None  # why it could not be computed


@dataclass
class Insights:
    segment: str
    as_of: datetime
    size: int
    consenting: int
    buyers: int  # members with at least one order
    spent_cents: int  # all members, net of refunds
    paid_orders: int  # orders not cancelled
    spend_quantiles: dict[str, int] | None  # cents; None for an empty segment
    spend_histogram: list[Bucket]
    orders_quantiles: dict[str, int] | None
    orders_histogram: list[Bucket]
    recency_quantiles: dict[str, int] | None  # days since the last order, buyers only
    recency_histogram: list[Bucket]
    top_products: list[Ranked] = field(default_factory=list)
    top_collections: list[Ranked] = field(default_factory=list)
    top_vendors: list[Ranked] = field(default_factory=list)
    countries: list[Ranked] = field(default_factory=list)
    devices: list[DeviceUse] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    # the members every figure but size and consent was computed over, when fewer than size
    # (``SAMPLE``): those figures' counts are estimates, scaled up to the size; None: all of them
    sample: int | None = None

    @property
    def consent_share(self) -> float | None:
        return self.consenting / self.size if self.size else None

    @property
    def average_order_cents(self) -> int | None:
        """Spend over the orders not cancelled, rounded to the cent; None without orders."""
        return round(self.spent_cents / self.paid_orders) if self.paid_orders else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; money in currency units (2 decimals), shares 0..1 (4 decimals)."""

        def money(cents: int | None) -> float | None:
            return None if cents is None else round(cents / 100, 2)

        def share(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        def buckets(items: list[Bucket]) -> list[dict[str, Any]]:
            return [asdict(b) for b in items]

        spend_q = self.spend_quantiles
        return {
            "segment": self.segment,
            "as_of": self.as_of.isoformat(),
            "size": self.size,
            "sample": self.sample,
            "consenting": self.consenting,
            "consent_share": share(self.consent_share),
            "buyers": self.buyers,
            "spent": money(self.spent_cents),
            "paid_orders": self.paid_orders,
            "average_order_value": money(self.average_order_cents),
            "spend": {
                "quantiles": None if spend_q is None else {k: money(v) for k, v in spend_q.items()},
                "histogram": buckets(self.spend_histogram),
            },
            "orders": {
                "quantiles": self.orders_quantiles,
                "histogram": buckets(self.orders_histogram),
            },
            "recency_days": {
                "quantiles": self.recency_quantiles,
                "histogram": buckets(self.recency_histogram),
            },
            "top_products": [asdict(r) for r in self.top_products],
            "top_collections": [asdict(r) for r in self.top_collections],
            "top_vendors": [asdict(r) for r in self.top_vendors],
            "countries": [asdict(r) for r in self.countries],
            "devices": [asdict(d) for d in self.devices],
            "overlaps": [{**asdict(o), "share": share(o.share)} for o in self.overlaps],
        }


def _labels(edges: Sequence[int], unit: int = 1, *, single: bool = False) -> list[str]:
    """Bucket labels for ``edges`` (lower bounds after the first bucket)."""

    def num(v: int) -> str:
        return f"{v // unit:,}"

    if single:  # counts: 0, 1, 2, 3-5, ..., 11+
        bounds = [0, *edges]
        out = []
        for lo, hi in zip(bounds, edges, strict=False):
            out.append(num(lo) if hi - lo == 1 else f"{num(lo)}-{num(hi - 1)}")
        return [*out, f"{num(edges[-1])}+"]
    first = [f"< {num(edges[0])}"]
    middle = [f"{num(lo)}-{num(hi)}" for lo, hi in pairwise(edges)]
    return [*first, *middle, f">= {num(edges[-1])}"]


SPEND_LABELS = _labels(SPEND_EDGES, 100)
ORDER_LABELS = _labels(ORDER_EDGES, single=True)
RECENCY_LABELS = [
    "0-30",
    *(f"{lo + 1}-{hi}" for lo, hi in pairwise(RECENCY_DAYS)),
    f"over {RECENCY_DAYS[-1]}",
    "no orders",
]


def _per_member(rows: Source, as_of: datetime) -> Subquery:
    """One row per member: orders (all), paid orders, spend (cents), last order time."""
    m, orders = rows.customers, rows.table("orders")
    o = orders.c
    paid = o.status != "cancelled"
    joined = m.outerjoin(orders, and_(o.customer_id == m.c.id, until(o.placed_at, as_of)))
    return (
        select(
            m.c.id.label("customer_id"),
            func.count(o.id).label("orders"),
            func.coalesce(func.sum(case((paid, 1), else_=0)), 0).label("paid_orders"),
            func.coalesce(
                func.sum(case((paid, o.total_cents - o.refunded_cents), else_=0)), 0
            ).label("spent"),
            func.max(moment(o.placed_at)).label("last_order"),
        )
        .select_from(joined)
        .group_by(m.c.id)
        .subquery("per")
    )


def _ranked(per: Subquery) -> Subquery:
    """``per`` with each member's rank by spend, by orders, and (buyers) by days since the last
    order, plus the member and buyer totals."""
    no_order = case((per.c.last_order.is_(None), 1), else_=0)
    return select(
        per,
        func.row_number().over(order_by=(per.c.spent, per.c.customer_id)).label("rs"),
        func.row_number().over(order_by=(per.c.orders, per.c.customer_id)).label("ro"),
        # buyers first, latest order first; no PARTITION BY: MariaDB 10.11 then ranks the
        # other windows of the same select out of order
        func.row_number()
        .over(order_by=(no_order, per.c.last_order.desc(), per.c.customer_id))
        .label("rl"),
        func.count().over().label("n"),
        func.count(per.c.last_order).over().label("b"),
    ).subquery("ranked")


def _at_rank(rank: Any, total: Any, num: int, den: int, value: Any) -> Any:
    """``value`` of the row whose rank is ceil(num / den * total) (1 for q = 0)."""
    # rank >= q * total > rank - 1, in integers
    hit = rank == 1 if num == 0 else and_(rank * den >= total * num, (rank - 1) * den < total * num)
    return func.max(case((hit, value)))


def _histogram(value: Any, edges: Sequence[int]) -> list[Any]:
    bounds: list[tuple[int | None, int | None]] = [(None, edges[0])]
    bounds += list(pairwise(edges))
    bounds.append((edges[-1], None))
    out = []
    for lo, hi in bounds:
        parts = []
        if lo is not None:
            parts.append(value >= lo)
        if hi is not None:
            parts.append(value < hi)
        out.append(func.sum(case((and_(*parts), 1), else_=0)))
    return out


def _time(at: datetime) -> Any:
    return bindparam(None, at, type_=DateTime(timezone=True))


def profile_query(rows: Source, as_of: datetime) -> Select[Any]:
    """The one-row query of sizes, totals, histograms and quantiles (see the module doc)."""
    r = _ranked(_per_member(rows, as_of))
    last = r.c.last_order
    recency = []
    newer = None  # days <= d  <=>  last order after as_of - (d + 1) days
    for days in RECENCY_DAYS:
        bound = last > _time(as_of - timedelta(days=days + 1))
        test = bound if newer is None else and_(bound, ~newer)
        recency.append(func.sum(case((test, 1), else_=0)))
        newer = bound if newer is None else newer | bound
    assert newer is not None
    recency.append(func.sum(case((and_(last.is_not(None), ~newer), 1), else_=0)))
    recency.append(func.sum(case((last.is_(None), 1), else_=0)))
    columns: list[Any] = [
        func.count().label("size"),  # the members read: consent is counted over all (Whole)
        func.count(last).label("buyers"),
        func.sum(r.c.spent).label("spent"),
        func.sum(r.c.paid_orders).label("paid_orders"),
        *(h.label(f"spend_h{i}") for i, h in enumerate(_histogram(r.c.spent, SPEND_EDGES))),
        *(h.label(f"orders_h{i}") for i, h in enumerate(_histogram(r.c.orders, ORDER_EDGES))),
        *(h.label(f"recency_h{i}") for i, h in enumerate(recency)),
    ]
    for label, num, den in QUANTILES:
        columns.append(_at_rank(r.c.rs, r.c.n, num, den, r.c.spent).label(f"spend_{label}"))
        columns.append(_at_rank(r.c.ro, r.c.n, num, den, r.c.orders).label(f"orders_{label}"))
        buyer = case((last.is_not(None), r.c.rl))
        columns.append(_at_rank(buyer, r.c.b, num, den, last).label(f"recency_{label}"))
    return select(*columns).select_from(r)


def _bought(rows: Source, as_of: datetime) -> Select[Any]:
    """Each (member, product) pair bought once at least (orders not cancelled, up to as_of)."""
    orders, lines = rows.table("orders"), rows.table("order_lines")
    o = orders.c
    joined = orders.join(lines, lines.c.order_id == o.id)
    paid = and_(until(o.placed_at, as_of), o.status != "cancelled")
    return select(o.customer_id, lines.c.product_id).select_from(joined).where(paid).distinct()


# What the members bought, read once (orders and their lines) for the three product top lists.
BOUGHT = Table(
    "syncer_insight_bought",
    MetaData(),
    Column("customer_id", BigInteger, primary_key=True, autoincrement=False),
    Column("product_id", BigInteger, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)


@contextmanager
def _bought_by(conn: Connection, pairs: Select[Any]) -> Iterator[Table]:
    """The members' (customer, product) pairs (``_bought``) in ``BOUGHT``, dropped on exit."""
    BOUGHT.drop(conn, checkfirst=True)
    try:
        if conn.dialect.name == "postgresql":  # no primary key to maintain: the top lists hash
            conn.execute(CreateAs(BOUGHT, pairs))
        else:
            BOUGHT.create(conn)
            conn.execute(insert(BOUGHT).from_select(["customer_id", "product_id"], pairs))
        analyse(conn, BOUGHT)
        yield BOUGHT
    except BaseException:
        drop_quietly(conn, [BOUGHT])  # the failure is what the caller sees
        raise
    BOUGHT.drop(conn)


def _top(query: Select[Any, Any], members: Any, name: Any, top: int) -> Select[Any]:
    return query.order_by(members.desc(), name).limit(top)


def top_queries(m: FromClause, bought: FromClause, top: int) -> dict[str, Select[Any]]:
    """Grouped queries (name, members) for products, collections, vendors (over ``bought``,
    the members' distinct (customer, product) pairs) and countries (over the members ``m``).
    A product's pairs are its members (counted without DISTINCT, which sorted every pair,
    spilling to disk for 50,000 members); a collection or a vendor counts its distinct
    members."""
    who = func.count(distinct(bought.c.customer_id)).label("members")
    p = PRODUCTS.c
    with_product = bought.join(PRODUCTS, p.id == bought.c.product_id)
    pairs = func.count().label("members")
    products = select(p.name.label("name"), pairs).select_from(with_product).group_by(p.id)
    coll = COLLECTIONS.c
    in_collection = bought.join(PCOLL, PCOLL.c.product_id == bought.c.product_id).join(
        COLLECTIONS, coll.id == PCOLL.c.collection_id
    )
    collections = select(coll.name.label("name"), who).select_from(in_collection).group_by(coll.id)
    vendor = folded(p.vendor)  # "Acme" and "ACME" are one vendor on every database
    vendors = select(func.min(p.vendor).label("name"), who).select_from(with_product)
    country = folded(func.coalesce(m.c.country, ""))
    member = func.count(distinct(m.c.id)).label("members")
    countries = select(func.min(m.c.country).label("name"), member).group_by(country)
    return {
        "products": _top(products, pairs, func.min(p.name), top),
        "collections": _top(collections, who, func.min(coll.name), top),
        "vendors": _top(vendors.group_by(vendor), who, vendor, top),
        "countries": _top(countries, member, country, top),
    }


def devices_query(rows: Source, as_of: datetime) -> Select[Any]:
    """(device, members, visits): each member's visits per device grouped first, then the
    devices (a hash aggregate where ``count(DISTINCT ...)`` would sort every visit)."""
    v = rows.table("visits").c
    per = (
        select(v.customer_id, v.device, func.count().label("visits"))
        .where(until(v.at, as_of))
        .group_by(v.customer_id, v.device)
        .subquery("per_device")
    )
    return (
        select(per.c.device, func.count().label("members"), func.sum(per.c.visits).label("visits"))
        .group_by(per.c.device)
        .order_by(per.c.device)
    )


def overlap_query(
    rows: Source, other: Segment, segments: Mapping[str, Segment], as_of: datetime
) -> Select[Any]:
    """How many of the members (``rows.customers``) are also in ``other``: its rule compiled
    over the members' own rows (``rows``: ``member_rows``), not every customer's."""
    with here(rows):  # this thread's compile only: the web admin's other threads read the shop
        also = compile_rule(other.rules, segments, as_of, chain=(other.name,), source=other)
    return select(func.count()).select_from(rows.customers).where(also)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _days(as_of: datetime, last: datetime | None) -> int | None:
    if last is None:
        return None
    at = last if last.tzinfo else last.replace(tzinfo=UTC)  # SQLite and MariaDB keep no zone
    return math.floor((as_of - at).total_seconds() / 86400)


def insights(
    conn: Connection,
    segment: Segment,
    segments: Mapping[str, Segment],
    *,
    as_of: datetime,
    top: int = TOP,
    overlaps: bool = True,
    sample: int | None = SAMPLE,
) -> Insights:
    """Every figure of ``segment`` as of ``as_of``, each computed by the database; for a
    segment of more than ``sample`` members, every figure but the size and the consent from
    ``sample`` of them (``Insights.sample``), scaled up. They read Syncer's own tables: over a
    source mapping (``config/source.yaml``) ConfigError."""
    if sample is not None and sample < 1:
        raise ConfigError(f"insights of {segment.name!r}: a sample of {sample} members",
                          hint="sample at least 1 member, or none (--exact)")  # fmt: skip
    if not active().native:
        raise ConfigError(
            f"insights of {segment.name!r} read Syncer's own tables; over "
            f"{active().origin} they are not available yet",
            hint="count, preview and sync work over the mapping",
        )
    now = as_utc(as_of)
    members = members_query(segment, segments, as_of=now).with_only_columns(*CUSTOMERS.c)
    rows = MemberRows()  # every query is compiled first: the copies are of the tables they read
    queries = Queries.over(rows.source, now, top)
    others = _overlap_queries(rows.source, segment, segments, now) if overlaps else []
    with rows.filled(conn, members, sample=sample) as whole:
        return _figures(conn, queries, segment, now, others, whole)


@dataclass(frozen=True)
class Queries:
    """The figures' queries, compiled over the members' rows (a ``MemberRows.source``)."""

    profile: Select[Any]
    bought: Select[Any]  # the (member, product) pairs, into ``BOUGHT``
    tops: dict[str, Select[Any]]  # over ``BOUGHT``
    devices: Select[Any]

    @classmethod
    def over(cls, rows: Source, as_of: datetime, top: int) -> Queries:
        return cls(
            profile_query(rows, as_of),
            _bought(rows, as_of),
            top_queries(rows.customers, BOUGHT, top),
            devices_query(rows, as_of),
        )


def _figures(
    conn: Connection,
    queries: Queries,
    segment: Segment,
    now: datetime,
    others: list[tuple[str, Select[Any] | str]],
    whole: Whole,
) -> Insights:
    row = conn.execute(queries.profile).mappings().one()
    size = _int(row["size"])  # the members read: all of them, or the sample
    up = _Scale(size, whole.size)

    def quantiles(prefix: str, convert: Any = _int) -> dict[str, int] | None:
        values = {label: row[f"{prefix}_{label}"] for label, _n, _d in QUANTILES}
        if any(v is None for v in values.values()):
            return None
        return {label: convert(v) for label, v in values.items()}

    # the members without an order, scaled once: the buyers, the orders histogram's "0" and the
    # recency's "no orders" all follow from it, so they agree as they do over every member
    buyers = _int(row["buyers"])
    none = whole.size - up(buyers)

    def histogram(prefix: str, labels: list[str], fixed: int | None = None) -> list[Bucket]:
        read = [_int(row[f"{prefix}_h{i}"]) for i in range(len(labels))]
        if fixed is None:
            counts = up.parts(read)
        else:  # ``fixed``: the no-orders bucket, ``none``; the others share the buyers
            rest = up.parts([c for i, c in enumerate(read) if i != fixed], whole.size - none)
            counts = [*rest[:fixed], none, *rest[fixed:]]
        return [Bucket(label, n) for label, n in zip(labels, counts, strict=True)]

    result = Insights(
        segment=segment.name,
        as_of=now,
        size=whole.size,
        consenting=whole.consenting,
        buyers=whole.size - none,
        spent_cents=up(_int(row["spent"])),
        paid_orders=up(_int(row["paid_orders"])),
        spend_quantiles=quantiles("spend"),
        spend_histogram=histogram("spend", SPEND_LABELS),
        orders_quantiles=quantiles("orders"),
        orders_histogram=histogram("orders", ORDER_LABELS, fixed=0),
        recency_quantiles=quantiles("recency", lambda last: _days(now, last)),
        recency_histogram=histogram("recency", RECENCY_LABELS, fixed=len(RECENCY_LABELS) - 1),
        sample=size if up.sampled else None,
    )
    with _bought_by(conn, queries.bought):
        tops = {
            kind: [Ranked(r.name or "(none)", up(int(r.members))) for r in conn.execute(query)]
            for kind, query in queries.tops.items()
        }
    result.top_products, result.top_collections = tops["products"], tops["collections"]
    result.top_vendors, result.countries = tops["vendors"], tops["countries"]
    result.devices = [
        DeviceUse(r.device, up(int(r.members)), up(int(r.visits)))
        for r in conn.execute(queries.devices)
    ]
    with postgresql_settings(conn, OVERLAP_SETTINGS):
        for name, query in others:
            if isinstance(query, str):
                result.overlaps.append(Overlap(name, None, None, note=query))
                continue
            both = int(conn.execute(query).scalar_one())
            result.overlaps.append(Overlap(name, up(both), both / size if size else None))
    return result


@dataclass(frozen=True)
class _Scale:
    """A count over the ``read`` members (the sample, or all) as a count over all ``size``."""

    read: int
    size: int

    @property
    def sampled(self) -> bool:
        return self.read < self.size

    def __call__(self, count: int) -> int:
        return count if not self.sampled else round(count * self.size / self.read)

    def parts(self, counts: list[int], total: int | None = None) -> list[int]:
        """``counts`` of buckets that share out members read (all of them, or the ones counted
        in ``total`` once scaled), scaled so that they add up to that total (the largest
        remainders take the rounding)."""
        whole = self.size if total is None else total
        read = sum(counts)
        if not self.sampled or read == 0 or (total is None and read != self.read):
            return [self(c) for c in counts]
        exact = [c * whole / read for c in counts]
        out = [math.floor(e) for e in exact]
        short = whole - sum(out)
        by_remainder = sorted(range(len(counts)), key=lambda i: (out[i] - exact[i], i))
        for i in by_remainder[:short]:
            out[i] += 1
        return out


def _overlap_queries(
    rows: Source, segment: Segment, segments: Mapping[str, Segment], as_of: datetime
) -> list[tuple[str, Select[Any] | str]]:
    """(name, overlap query) for every other segment; (name, why) for one that does not
    compile (e.g. a reference loop or a missing segment in that file)."""
    out: list[tuple[str, Select[Any] | str]] = []
    for other in segments.values():
        if other.name == segment.name:
            continue
        try:
            out.append((other.name, overlap_query(rows, other, segments, as_of)))
        except SyncerError as err:
            out.append((other.name, str(err)))
    return out


__all__ = [
    "SAMPLE",
    "Bucket",
    "DeviceUse",
    "Insights",
    "Overlap",
    "Ranked",
    "insights",
]
