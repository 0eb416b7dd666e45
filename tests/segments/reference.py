"""A plain-Python evaluator of segment rules over in-memory rows: the specification the SQL
compiler is checked against (written from catalog.py's words, not from the compiler)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert

from syncer.schema import COMMERCE_TABLES, DEVICES, create_commerce_schema
from syncer.segments.catalog import SCALARS
from syncer.segments.model import Condition, Group, Not, SegmentRef, TimeRange

TABLES = {t.name: t for t in COMMERCE_TABLES}
DEFAULTS = {"accepts_marketing": False, "status": None, "refunded_cents": 0, "quantity": 1}
ORDER = [t.name for t in COMMERCE_TABLES]


@dataclass
class World:
    """Rows per table name (dicts with the table's columns)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {n: [] for n in ORDER})

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        rows = self.rows[table]
        if "id" in TABLES[table].c and "id" not in values:
            values["id"] = len(rows) + 1
        for col in TABLES[table].c:  # every row names every column (one executemany)
            values.setdefault(col.name, DEFAULTS.get(col.name))
        if table == "orders" and values["status"] is None:
            values["status"] = "paid"
        rows.append(values)
        return values

    def customer(self, **values: Any) -> int:
        n = len(self.rows["customers"]) + 1
        base = {"email": f"c{n}@example.com", "created_at": datetime(2025, 1, 1, tzinfo=UTC)}
        base.update(values)
        return int(self.add("customers", **base)["id"])

    def insert(self, engine: Engine) -> None:
        create_commerce_schema(engine)
        with engine.begin() as conn:
            for name in ORDER:
                if self.rows[name]:
                    conn.execute(insert(TABLES[name]), self.rows[name])

    def of(self, table: str, customer_id: int) -> list[dict[str, Any]]:
        return [r for r in self.rows[table] if r["customer_id"] == customer_id]


def fold(v: str | None) -> str | None:
    """Each letter in its Unicode lower case, letter by letter (a capital sigma is always the
    small sigma U+03C3); the capital I with dot is i (its simple lower case, no combining dot)."""
    return None if v is None else "".join("i" if ch == "\u0130" else ch.lower() for ch in v)


def present(v: str | None) -> bool:
    return v is not None and v != ""


def existing(world: World, as_of: datetime) -> list[dict[str, Any]]:
    """The customers created at or before ``as_of``: nobody else is a member of anything."""
    return [c for c in world.rows["customers"] if c["created_at"] <= as_of]


def evaluate(rule: Any, world: World, segments: Mapping[str, Any], as_of: datetime) -> set[int]:
    everyone = {c["id"] for c in existing(world, as_of)}
    if isinstance(rule, Group):
        sets = [evaluate(r, world, segments, as_of) for r in rule.rules]
        if rule.kind == "all":
            return set.intersection(everyone, *sets)
        return set().union(*sets)
    if isinstance(rule, Not):
        return everyone - evaluate(rule.rule, world, segments, as_of)
    if isinstance(rule, SegmentRef):
        return evaluate(segments[rule.segment].rules, world, segments, as_of)
    return {c["id"] for c in existing(world, as_of) if matches(rule, c, world, as_of)}


def span_of(cond: Condition, as_of: datetime) -> TimeRange:
    """The window's rows, none of them after ``as_of`` (all time = everything up to as_of)."""
    span = cond.window.range(as_of) if cond.window else TimeRange(None, None, True)
    end = span.end
    if end is not None and (end < as_of or (end == as_of and not span.end_inclusive)):
        return span
    return TimeRange(span.start, as_of, True)


def compare(op: str, actual: Any, value: Any) -> bool:
    """Numeric comparison; None (no data) matches only ne."""
    if actual is None:
        return op == "ne"
    return {
        "eq": lambda: actual == value,
        "ne": lambda: actual != value,
        "gt": lambda: actual > value,
        "ge": lambda: actual >= value,
        "lt": lambda: actual < value,
        "le": lambda: actual <= value,
        "between": lambda: value[0] <= actual <= value[1],
        "is_set": lambda: True,
        "is_not_set": lambda: False,
    }[op]()


def text_test(op: str, actual: str | None, value: Any) -> bool:
    a = fold(actual)
    if op == "is_set":
        return present(actual)
    if op == "is_not_set":
        return not present(actual)
    if op in ("ne", "not_in"):
        return not text_test({"ne": "eq", "not_in": "in"}[op], actual, value)
    if a is None:
        return False
    if op == "eq":
        return a == fold(value)
    if op == "in":
        return a in {fold(v) for v in value}
    v = fold(value) or ""
    return {"starts_with": a.startswith, "ends_with": a.endswith, "contains": a.__contains__}[op](v)


def item_test(op: str, items: set[str], value: Any) -> bool:
    have = {fold(i) for i in items}
    if op == "is_set":
        return any(present(i) for i in items)
    if op == "is_not_set":
        return not any(present(i) for i in items)
    wanted = {fold(v) for v in (value if op in ("in", "not_in") else [value])}
    hit = bool(have & wanted)
    return hit if op in ("has", "in") else not hit


def day(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), UTC)


def matches(cond: Condition, c: dict[str, Any], world: World, as_of: datetime) -> bool:
    f, op, value = cond.field, cond.op, cond.value
    span = span_of(cond, as_of)
    cid = c["id"]
    orders = [o for o in world.of("orders", cid) if span.contains(o["placed_at"])]
    live = [o for o in orders if o.get("status", "paid") != "cancelled"]
    if f in ("email", "status", "quality", "zip", "country", "loyalty_card"):
        return text_test(op, c.get(f), value)
    if f == "consent":
        return (bool(c.get("accepts_marketing")) == value) == (op == "eq")
    if f == "created":
        at = c["created_at"]
        if op == "within":
            return span.contains(at)
        if op == "between":
            return day(value[0]) <= at < day(value[1] + timedelta(days=1))
        d = at.date()
        return compare(op, d, value)
    if f == "tag":
        return item_test(op, {t["tag"] for t in world.of("customer_tags", cid)}, value)
    if f in SCALARS:
        return _scalar(cond, world, cid, as_of, live)
    if cond.min_quantity is not None:
        return _units(cond, world, live)
    counts: dict[str, Any] = {
        "orders": lambda: len(orders),
        "cancelled_orders": lambda: sum(o.get("status") == "cancelled" for o in orders),
        "refunded_orders": lambda: sum(
            o.get("status") in ("refunded", "partially_refunded") for o in orders
        ),
        "total_spent": lambda: (
            Decimal(sum(o["total_cents"] - o.get("refunded_cents", 0) for o in live)) / 100
        ),
        "coupon_orders": lambda: sum(present(o.get("coupon_code")) for o in live),
        "visits": lambda: len(_in(world.of("visits", cid), "at", span)),
        "cart_adds": lambda: len(_in(world.of("cart_events", cid), "at", span)),
        "abandoned_carts": lambda: sum(
            not any(
                e["at"] <= o["placed_at"] <= as_of and o.get("status", "paid") != "cancelled"
                for o in world.of("orders", cid)
            )
            for e in _in(world.of("cart_events", cid), "at", span)
        ),
        "email_opens": lambda: _emails(world, cid, "open", span),
        "email_clicks": lambda: _emails(world, cid, "click", span),
        "email_conversions": lambda: _emails(world, cid, "conversion", span),
    }
    if f in counts:
        return compare(op, counts[f](), value)
    if f in ("days_since_last_order", "days_since_last_visit"):
        table, col = ("orders", "placed_at") if "order" in f else ("visits", "at")
        times = [r[col] for r in world.of(table, cid) if r[col] <= as_of]
        days = (as_of - max(times)) // timedelta(days=1) if times else None
        if op == "is_set":
            return days is not None
        if op == "is_not_set":
            return days is None
        return compare(op, days, value)
    if f == "preferred_device":
        visits = _in(world.of("visits", cid), "at", span)
        n = {d: sum(v["device"] == d for v in visits) for d in DEVICES}
        best = [d for d in DEVICES if all(n[d] > n[o] for o in DEVICES if o != d)]
        pref = best[0] if best else None
        if op in ("is_set", "is_not_set"):
            return (pref is not None) == (op == "is_set")
        want = set(value) if op in ("in", "not_in") else {value}
        hit = pref in want
        return hit if op in ("eq", "in") else not hit
    if f == "visited_device":
        devices = {v["device"] for v in _in(world.of("visits", cid), "at", span)}
        return item_test(op, devices, value)
    if f == "coupon":
        return item_test(op, {o["coupon_code"] for o in live if o.get("coupon_code")}, value)
    if f == "reviewed_product":
        reviews = _in(world.of("reviews", cid), "created_at", span)
        return item_test(op, _names(world, {r["product_id"] for r in reviews}, "product"), value)
    order_ids = {o["id"] for o in live}
    bought = {ln["product_id"] for ln in world.rows["order_lines"] if ln["order_id"] in order_ids}
    return item_test(op, _names(world, bought, f.removeprefix("purchased_")), value)


def _scalar(
    cond: Condition, world: World, cid: int, as_of: datetime, live: list[dict[str, Any]]
) -> bool:
    """The built-in one-value fields: no value (None) matches only ne / is_not_set."""
    f, op, value = cond.field, cond.op, cond.value
    lines = world.rows["order_lines"]
    actual: Any = None
    if f == "first_order_date":
        every = [
            o["placed_at"] for o in world.of("orders", cid)
            if o["placed_at"] <= as_of and o.get("status", "paid") != "cancelled"
        ]  # fmt: skip
        first = min(every) if every else None
        if op == "within":
            return first is not None and span_of(cond, as_of).contains(first)
        if op == "between" and first is not None:
            return day(value[0]) <= first < day(value[1] + timedelta(days=1))
        actual = first.date() if first is not None else None
    elif f == "distinct_products_bought":
        ids = {o["id"] for o in live}
        actual = len({ln["product_id"] for ln in lines if ln["order_id"] in ids})
    elif live:
        amounts = [Decimal(o["total_cents"] - o.get("refunded_cents", 0)) / 100 for o in live]
        if f == "average_order_value":
            actual = sum(amounts) / len(amounts)
        else:
            latest = max(live, key=lambda o: (o["placed_at"], o["id"]))
            actual = amounts[live.index(latest)]
    if op in ("is_set", "is_not_set"):
        return (actual is not None) == (op == "is_set")
    return compare(op, actual, value)


def _units(cond: Condition, world: World, live: list[dict[str, Any]]) -> bool:
    """min_quantity: units of the named products on live orders in the window >= N."""
    wanted = {fold(v) for v in (cond.value if cond.op in ("in", "not_in") else [cond.value])}
    by = cond.field.removeprefix("purchased_")
    ids = {o["id"] for o in live}
    units = sum(
        ln.get("quantity", 1)
        for ln in world.rows["order_lines"]
        if ln["order_id"] in ids
        and {fold(n) for n in _names(world, {ln["product_id"]}, by)} & wanted
    )
    hit = units >= (cond.min_quantity or 0)
    return hit if cond.op in ("has", "in") else not hit


def _in(rows: list[dict[str, Any]], col: str, span: TimeRange) -> list[dict[str, Any]]:
    return [r for r in rows if span.contains(r[col])]


def _emails(world: World, cid: int, kind: str, span: TimeRange) -> int:
    return len([e for e in _in(world.of("email_events", cid), "at", span) if e["kind"] == kind])


def _names(world: World, product_ids: set[int], by: str) -> set[str]:
    products = [p for p in world.rows["products"] if p["id"] in product_ids]
    if by == "product":
        return {p["name"] for p in products} | {p["sku"] for p in products}
    if by == "vendor":
        return {p["vendor"] for p in products}
    coll = {
        pc["collection_id"]
        for pc in world.rows["product_collections"]
        if pc["product_id"] in product_ids
    }
    return {c["name"] for c in world.rows["collections"] if c["id"] in coll}
