"""Values a condition names that the shop's data does not have: a misspelt product, vendor,
collection or coupon would otherwise match no one, silently.

    for line in unknown_values(conn, segment): warn(line)

Only the item fields with a catalogue of names are checked (``has``/``has_not``/``in``/
``not_in``); each value is one bound-parameter query, compared without case exactly as the
compiled segment compares it (``sqlparts.text_in``). A value found nowhere is a warning, not an
error: a product may be new, or a coupon not used yet. The closest names are suggested.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from sqlalchemy import Column, Connection, or_, select

from syncer import schema
from syncer.segments.compiler import walk
from syncer.segments.model import Condition, Segment
from syncer.segments.sqlparts import text_in

# field -> the columns whose values name what the condition tests (names and SKUs for products)
COLUMNS: dict[str, tuple[Column[str], ...]] = {
    "purchased_product": (schema.PRODUCTS.c.name, schema.PRODUCTS.c.sku),
    "reviewed_product": (schema.PRODUCTS.c.name, schema.PRODUCTS.c.sku),
    "purchased_vendor": (schema.PRODUCTS.c.vendor,),
    "purchased_collection": (schema.COLLECTIONS.c.name,),
    "coupon": (schema.ORDERS.c.coupon_code,),
}
WORDS = {
    "purchased_product": "product",
    "reviewed_product": "product",
    "purchased_vendor": "vendor",
    "purchased_collection": "collection",
    "coupon": "coupon code",
}
NAMED_OPS = ("has", "has_not", "in", "not_in")
CANDIDATES = 5_000  # names read to suggest the closest ones from


def unknown_values(conn: Connection, segment: Segment) -> Iterator[str]:
    """One line per value of ``segment`` that no row of the shop's data has."""
    for path, node in walk(segment.rules, "rules"):
        if not isinstance(node, Condition) or node.field not in COLUMNS:
            continue
        if node.op not in NAMED_OPS:
            continue
        values = [node.value] if node.op in ("has", "has_not") else list(node.value or [])  # type: ignore[arg-type]
        columns = COLUMNS[node.field]
        for value in (str(v) for v in values):
            test = or_(*(text_in(col, [value]) for col in columns))
            table = columns[0].table
            if conn.execute(select(1).select_from(table).where(test).limit(1)).first():
                continue
            close = _closest(conn, columns, value)
            hint = f"; closest: {', '.join(repr(c) for c in close)}" if close else ""
            yield (
                f"segment {segment.name!r}: {path}: {WORDS[node.field]} {value!r} does not exist "
                f"in the shop's data, so it matches no one yet{hint}"
            )


def _closest(conn: Connection, columns: tuple[Column[str], ...], value: str) -> list[str]:
    names: set[str] = set()
    for col in columns:
        query = select(col).where(col.is_not(None)).distinct().limit(CANDIDATES)
        names.update(str(v) for v in conn.execute(query).scalars())
    by_folded = {n.casefold(): n for n in names}
    close = difflib.get_close_matches(value.casefold(), by_folded, n=3, cutoff=0.6)
    return [by_folded[c] for c in close]
