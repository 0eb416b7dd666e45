"""A destination's ``fields:``: validated at load (one line naming the file, segment,
destination and field), values read in the members query's single select, as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from syncer.errors import SegmentError
from syncer.segments.compiler import MEMBER_COLUMNS
from syncer.segments.fields import FieldReader, canonical, fields_of, value_type, with_fields
from syncer.segments.loader import parse_segment

RULES = {"field": "orders", "op": "gt", "value": 0}


def load(fields: Any) -> Any:
    dest = {"profile": "mc", "list": "L", "tag": "vip", "fields": fields}
    return parse_segment({"name": "VIP", "rules": RULES, "destinations": [dest]}, source="v.yaml")


def test_fields_parse_in_file_order() -> None:
    seg = load({"FNAME": "first_name", "LTV": "total_spent", 7: "orders"})
    assert seg.destinations[0].fields == (
        ("FNAME", "first_name"), ("LTV", "total_spent"), ("7", "orders")
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"LTV": "total_spnt"}, ["fields", "'LTV'", "did you mean total_spent"]),
        ({"LTV": "consent"}, ["'LTV'", "not a Syncer field"]),
        ({"TIER": "attributes.nope"}, ["'TIER'", "attributes.<name>"]),
        ({"ltv": "orders", "LTV": "orders"}, ["mapped twice"]),
        (["LTV"], ["must be a mapping"]),
        ({"": "orders"}, ["provider field name"]),
    ],
)
def test_bad_fields_are_one_line_naming_file_segment_destination_field(
    fields: Any, words: list[str]
) -> None:
    with pytest.raises(SegmentError) as info:
        load(fields)
    text = str(info.value)
    assert "\n" not in text and "v.yaml" in text and "VIP" in text
    assert "destinations[0].fields" in text
    for word in words:
        assert word in text, text


def test_canonical_text_is_the_same_whatever_the_driver_returns() -> None:
    assert canonical(None) == "" and canonical(True) == "true"
    assert canonical(Decimal("12.50")) == canonical(12.5) == "12.5"
    assert canonical(Decimal("1E+1")) == "10" and canonical(3) == "3"
    assert canonical(date(2026, 3, 1)) == "2026-03-01"
    assert canonical(datetime(2026, 3, 1, 9, 30, 5, 7)) == "2026-03-01T09:30:05"


def test_value_types_of_sources() -> None:
    assert [value_type(s) for s in ("total_spent", "orders", "created", "zip", "customer_id")] == [
        "money", "count", "date", "text", "number"
    ]  # fmt: skip


def test_mapped_values_come_from_the_one_members_select(engine: Any) -> None:
    from tests.sync.fakes import Shop

    shop = Shop(engine)
    shop.add(2)
    shop.set(2, zip="75001")
    fields = (("ZIP", "zip"), ("SINCE", "created"), ("N", "orders"))
    query = with_fields(select(*MEMBER_COLUMNS), fields, datetime(2026, 1, 1, tzinfo=UTC))
    assert fields_of(query) == fields
    reader = FieldReader(fields)
    with engine.connect() as conn:
        rows = [reader.values(r) for r in conn.execute(query.order_by(MEMBER_COLUMNS[0]))]
    assert rows == [
        {"ZIP": "", "SINCE": "2025-01-01", "N": "0"},
        {"ZIP": "75001", "SINCE": "2025-01-01", "N": "0"},
    ]
