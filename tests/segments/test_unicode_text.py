"""Text is matched without case for every letter (Unicode lower case), the same on every database,
including the special cases docs/segments.md describes (sharp s, Turkish dotted I, final sigma)."""
# ruff: noqa: RUF001, RUF003  (Cyrillic, Greek and Turkish letters on purpose)

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql

from syncer.db import fold_case
from syncer.segments.compiler import members_query
from syncer.segments.loader import parse_segment
from syncer.segments.sqlparts import spellings
from tests.segments.reference import World, evaluate, fold

AS_OF = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
CARDS = ["ÉMERAUDE", "émeraude", "EMERAUDE", "МОСКВА", "Москва", "STRASSE", "Straße", "STRAẞE",
         "İSTANBUL", "ISTANBUL", "ıstanbul", "ΟΔΟΣ", "οδος", "ΣΟΦΊΑ", None,
         "\u212a\u0130T", "kit", "KiT", "KİTE"]  # fmt: skip
TAGS = {1: "Café", 2: "CAFÉ", 3: "Cafe", 4: "ΚΑΦΈ"}


@pytest.fixture
def world(engine: Engine) -> World:
    w = World()
    w.add("products", name="Espresso", sku="SKU-1", vendor="Café Noir")
    w.add("products", name="Čaj Zelený", sku="SKU-2", vendor="Thé Vert")
    for card in CARDS:
        cid = w.customer(loyalty_card=card)
        if cid in TAGS:
            w.add("customer_tags", customer_id=cid, tag=TAGS[cid])
    for cid, pid in ((1, 1), (4, 2)):
        o = w.add("orders", customer_id=cid, placed_at=datetime(2026, 3, 1, tzinfo=UTC),
                  total_cents=100)  # fmt: skip
        w.add("order_lines", order_id=o["id"], product_id=pid, price_cents=100)
    w.insert(engine)
    return w


def card(op: str, value: Any) -> dict[str, Any]:
    return {"field": "loyalty_card", "op": op, "value": value}


CASES: list[tuple[dict[str, Any], set[int]]] = [
    (card("eq", "émeraude"), {1, 2}),
    (card("eq", "ÉMERAUDE"), {1, 2}),
    (card("in", ["Émeraude", "москва"]), {1, 2, 4, 5}),
    (card("starts_with", "ÉME"), {1, 2}),
    (card("contains", "MERAUD"), {1, 2, 3}),
    (card("ends_with", "СКВА"), {4, 5}),
    (card("eq", "straße"), {7, 8}),  # capital sharp s folds to ß; ß never equals ss
    (card("eq", "STRASSE"), {6}),
    (card("eq", "istanbul"), {9, 10}),  # İ folds to i; dotless ı is its own letter
    (card("eq", "İSTANBUL"), {9, 10}),
    (card("eq", "ıstanbul"), {11}),
    (card("eq", "οδοσ"), {12}),  # Σ folds to σ; final ς is its own letter
    (card("eq", "ΟΔΟΣ"), {12}),
    (card("eq", "οδος"), {13}),
    (card("eq", "σοφία"), {14}),
    (card("eq", "Kit"), {16, 17, 18}),  # Kelvin sign and İ fold to k and i: every spelling
    (card("in", ["KIT", "kite"]), {16, 17, 18, 19}),
    ({"field": "tag", "op": "has", "value": "CAFÉ"}, {1, 2}),
    ({"field": "tag", "op": "in", "value": ["café", "καφέ"]}, {1, 2, 4}),
    ({"field": "purchased_vendor", "op": "has", "value": "CAFÉ NOIR"}, {1}),
    ({"field": "purchased_vendor", "op": "has", "value": "thé vert"}, {4}),
    ({"field": "purchased_product", "op": "has", "value": "ČAJ ZELENÝ"}, {4}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_unicode_case_folding(
    engine: Engine, world: World, rule: dict[str, Any], expected: set[int]
) -> None:
    everyone = set(range(1, len(CARDS) + 1))
    for rules, want in ((rule, expected), ({"not": rule}, everyone - expected)):
        s = parse_segment({"name": "s", "rules": rules}, source="test")
        with engine.connect() as conn:
            got = {r.customer_id for r in conn.execute(members_query(s, {}, as_of=AS_OF))}
        assert got == want
        assert evaluate(s.rules, world, {}, AS_OF) == want  # the reference agrees


def test_spellings_are_every_text_that_folds_to_the_value() -> None:
    ascii_letter = {}
    for point in range(0x110000):
        ch = chr(point)
        if not 0xD800 <= point < 0xE000 and fold_case(ch) != ch:
            folded = fold_case(ch) or ""
            if folded.isascii():
                ascii_letter[ch] = folded
    for ch, folded in ascii_letter.items():
        assert ch in (spellings(folded) or []), f"{ch!r} folds to {folded!r}"
    assert sorted(spellings("De") or []) == ["DE", "De", "dE", "de"]
    assert spellings("Pour-over Kettle") is None  # too many: the folded test alone
    assert spellings("émeraude") is None  # not ASCII


def test_equal_text_attribute_lists_its_spellings_for_the_index() -> None:
    s = parse_segment({"name": "s", "rules": card("eq", "Gold")}, source="test")
    text = str(members_query(s, {}, as_of=AS_OF).compile(dialect=postgresql.dialect()))
    assert "customers.loyalty_card IN (__[POSTCOMPILE_" in text
    s = parse_segment({"name": "s", "rules": card("ne", "Gold")}, source="test")
    text = str(members_query(s, {}, as_of=AS_OF).compile(dialect=postgresql.dialect()))
    assert "loyalty_card IN" not in text


@pytest.mark.parametrize("fn", [fold_case, fold], ids=["syncer", "reference"])
def test_fold_is_simple_lower_case_per_letter(fn: Any) -> None:
    assert fn("ÉMERAUDE İ I ı ẞ ß ΟΔΟΣ ς Ǆ Ａ 𐐀") == "émeraude i i ı ß ß οδοσ ς ǆ ａ 𐐨"
    assert fn("Gold") == "gold"
    assert fn("STRASSE") != fn("Straße")
    assert fn(None) is None
