from __future__ import annotations

from typing import Any

import pytest

from syncer.segments.catalog import FIELDS, NO_VALUE_OPS, ValueType
from syncer.segments.describe import describe
from syncer.segments.loader import parse_segment


def sentence(rules: Any) -> str:
    return describe(parse_segment({"name": "t", "rules": rules}, source="t.yaml"))


def c(field: str, op: str, value: Any = None, window: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        out["value"] = value
    if window is not None:
        out["window"] = window
    return out


SAMPLE = {
    ValueType.COUNT: 3,
    ValueType.DAYS: 30,
    ValueType.MONEY: "499.99",
    ValueType.TEXT: "Gold",
    ValueType.BOOL: True,
    ValueType.DATE: "2026-01-31",
    ValueType.ITEM: "Espresso Beans",
    ValueType.DEVICE: "mobile",
}


def test_seed_004_example_reads_as_one_sentence() -> None:
    text = sentence(
        {
            "all": [
                c("loyalty_card", "eq", "Gold"),
                c("visits", "gt", 10),
                c("days_since_last_visit", "gt", 30),
            ]
        }
    )
    assert text == (
        "Customers whose loyalty card is Gold, who visited more than 10 times, "
        "and whose last visit was more than 30 days ago"
    )


CASES = [
    (name, op)
    for name, spec in FIELDS.items()
    for op in spec.operators
]  # fmt: skip


@pytest.mark.parametrize(("field", "op"), CASES)
def test_every_field_and_operator_has_words(field: str, op: str) -> None:
    spec = FIELDS[field]
    one = SAMPLE[spec.value_type]
    if op in NO_VALUE_OPS:
        value = None
    elif op == "between":
        value = [one, one]
    elif op in ("in", "not_in"):
        value = [
            one,
            "Other" if isinstance(one, str) and spec.value_type != ValueType.DEVICE else one,
        ]
    else:
        value = one
    window = "last_30_days" if op == "within" else None
    text = sentence(c(field, op, value, window))
    assert text.startswith(("Customers who ", "Customers whose "))
    assert "None" not in text and "{" not in text
    if op in ("eq", "ne", "gt", "ge", "lt", "le") or "_" in op:
        assert f" {op} " not in text  # operators are spoken, never shown as codes
    if value is not None and spec.value_type != ValueType.BOOL:
        assert str(one).lower() in text.lower().replace(",", "")


def test_window_is_spoken() -> None:
    assert sentence(c("orders", "ge", 2, "last_year")) == (
        "Customers who placed at least 2 orders in the last year"
    )
    assert sentence(c("email_opens", "gt", 5, "last_3_months")).endswith(
        "opened emails more than 5 times in the last 3 months"
    )
    text = sentence(c("total_spent", "gt", 1000, {"between": ["2025-01-01", "2025-12-31"]}))
    assert text == "Customers who spent more than 1,000 in total between 2025-01-01 and 2025-12-31"


def test_small_counts_read_naturally() -> None:
    assert sentence(c("visits", "ge", 1)) == "Customers who visited at least once"
    assert sentence(c("email_clicks", "gt", 1)) == "Customers who clicked in emails more than once"
    assert sentence(c("orders", "lt", 1)) == "Customers who placed no orders"
    assert sentence(c("visits", "eq", 0)) == "Customers who never visited"
    assert sentence(c("orders", "ge", 1)) == "Customers who placed at least 1 order"


def test_not_flips_exact_opposites() -> None:
    assert sentence({"not": c("orders", "gt", 2)}) == "Customers who placed at most 2 orders"
    assert sentence({"not": c("purchased_product", "has", "Burr Grinder")}) == (
        'Customers who did not purchase "Burr Grinder"'
    )
    assert sentence({"not": c("loyalty_card", "eq", "Gold")}) == (
        "Customers whose loyalty card is not Gold (or who have none)"
    )
    assert sentence({"not": {"not": c("visits", "eq", 0)}}) == "Customers who never visited"


def test_not_on_days_since_says_who_never_did() -> None:
    text = sentence({"not": c("days_since_last_order", "gt", 60)})
    assert text == "Customers whose last order was at most 60 days ago (or who never ordered)"


def test_not_without_exact_opposite_and_segment_references() -> None:
    text = sentence({"not": {"any": [c("visits", "gt", 1), c("orders", "gt", 1)]}})
    assert text.startswith("Customers who are not among those ")
    assert sentence({"not": {"in_segment": "VIP"}}) == "Customers who are not in segment VIP"
    assert sentence({"in_segment": "Big spenders"}) == 'Customers who are in segment "Big spenders"'


def test_nested_groups_are_bracketed() -> None:
    text = sentence(
        {
            "all": [
                c("country", "eq", "DE"),
                {"any": [c("purchased_product", "has", "Espresso Beans"), c("orders", "gt", 5)]},
            ]
        }
    )
    assert text == (
        "Customers whose country is DE and "
        '(who purchased "Espresso Beans" or who placed more than 5 orders)'
    )


def test_lists_and_hostile_values_are_quoted() -> None:
    text = sentence(c("purchased_product", "in", ["Espresso Beans", "Decaf Beans", "Gift Card"]))
    assert text == 'Customers who purchased "Espresso Beans", "Decaf Beans", or "Gift Card"'
    hostile = "'; DROP TABLE customers; --"
    assert sentence(c("loyalty_card", "eq", hostile)) == (
        f'Customers whose loyalty card is "{hostile}"'
    )
