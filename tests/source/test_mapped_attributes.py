"""The one-value order fields, min_quantity and declared attributes over a mapped shop (other
names, decimal money, Berlin wall-clock times) give the members they give natively."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from syncer.errors import ConfigError
from syncer.sample.shop import generate
from syncer.segments.compiler import members_query
from syncer.segments.model import Segment
from syncer.source.active import using
from syncer.source.load import source_from
from syncer.source.model import parse_source
from syncer.source.tables import Source, native_source
from tests.source import shopcopy

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULES: list[dict[str, Any]] = [
    {"field": "average_order_value", "op": "gt", "value": 80, "window": "last_year"},
    {"field": "last_order_value", "op": "ge", "value": 60},
    {"not": {"field": "last_order_value", "op": "lt", "value": 30}},
    {"field": "first_order_date", "op": "within", "window": "last_3_months"},
    {"field": "first_order_date", "op": "lt", "value": "2025-06-01"},
    {"field": "distinct_products_bought", "op": "ge", "value": 4, "window": "last_year"},
    {"field": "purchased_collection", "op": "in", "value": ["Coffee", "Tea"], "min_quantity": 3},
    {"field": "attributes.card", "op": "eq", "value": "Gold"},
]


def members(engine: Engine, source: Source, rule: dict[str, Any]) -> set[str]:
    with using(source), engine.connect() as conn:
        query = members_query(Segment(name="s", rules=rule), {}, as_of=AS_OF)
        return {str(r.email).strip().lower() for r in conn.execute(query)}


def test_same_members_over_the_mapped_copy(engine: Engine) -> None:
    generate(engine, customers=300, seed=11, as_of=AS_OF)
    shopcopy.copy_shop(engine)
    native = replace(native_source(), attributes=_card("loyalty_card"))
    data = {**shopcopy.mapping(), "attributes": {"card": {"type": "text", "column": "card"}}}
    mapped = source_from(parse_source(data, where="source.yaml"), "source.yaml")
    sizes = []
    for rule in RULES:
        expected = members(engine, native, rule)
        assert members(engine, mapped, rule) == expected, rule
        sizes.append(len(expected))
    assert all(sizes[:2]) and sum(sizes) > 0


def _card(column: str) -> Any:
    return parse_source(
        {"attributes": {"card": {"type": "text", "column": column}}}, where="x"
    ).attributes


def test_attributes_file_keeps_the_native_tables_and_rejects_bad_entries() -> None:
    only = source_from(
        parse_source({"attributes": {"tier": {"type": "text", "column": "zip"}}}, where="s"), "s"
    )
    assert only.native and list(only.attributes) == ["tier"]
    for bad, says in (
        ({"tier": {"type": "text"}}, "exactly one of `column:`, `expression:` or `select:`"),
        ({"tier": {"type": "colour", "column": "zip"}}, "attributes.tier.type"),
        ({"tier": {"type": "number", "expression": "1", "time": "at"}}, "`time:` names a column"),
        ({"a-b": {"type": "text", "column": "zip"}}, "not an attribute name"),
    ):
        with pytest.raises(ConfigError, match="s: ") as err:
            parse_source({"attributes": bad}, where="s")
        assert says in str(err.value) and "\n" not in str(err.value)


def test_a_select_attribute_over_an_email_keyed_shop_finds_its_people(engine: Engine) -> None:
    """Over ``identity: email`` an attribute's ``select:`` returns an email as its customer_id,
    folded and compared with each person as every table's key is (on MariaDB the digest of
    both sides: ``syncer/source/person_key.py``): the same members as natively."""
    generate(engine, customers=300, seed=11, as_of=AS_OF)
    shopcopy.copy_shop(engine, by_email=True)
    spend = {"type": "number", "aggregate": "sum", "time": "at"}
    native = replace(
        native_source(),
        attributes=parse_source(
            {"attributes": {"spend": {**spend, "select": NATIVE_SPEND}}}, where="x"
        ).attributes,
    )
    data = {
        **shopcopy.mapping(by_email=True),
        "attributes": {"spend": {**spend, "select": MAPPED_SPEND}},
    }
    mapped = source_from(parse_source(data, where="source.yaml"), "source.yaml")
    rule = {"field": "attributes.spend", "op": "gt", "value": 150, "window": "last_year"}
    expected = members(engine, native, rule)
    assert expected and members(engine, mapped, rule) == expected


NATIVE_SPEND = "SELECT customer_id, placed_at AS at, total_cents / 100.0 AS value FROM orders"
# the email as the shop stores it (guests' in capitals with a space): Syncer folds it
MAPPED_SPEND = "SELECT buyer_mail AS customer_id, placed AS at, amount AS value FROM sh_purchases"
