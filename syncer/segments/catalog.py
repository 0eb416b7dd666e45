"""The field catalog: every field a condition can test, in plain words.

Each field has a value type, the operators that make sense for it, whether it takes a time
``window``, and a sentence saying how a customer with no data is treated. ``check_condition``
validates one condition against this catalog and returns its value normalised (money as
``Decimal``, dates as ``date``, lists as tuples); the compiler and ``syncer fields`` read the
same table, so the documentation cannot drift from the SQL.

Text comparisons (``eq``, ``in``, ``starts_with``, ``has`` on tags, products, coupons...) ignore
the case of every letter (Unicode lower case, docs/segments.md "Text and case"), on every
database. ``ne`` / ``not_in`` / ``has_not`` are the exact
opposite of ``eq`` / ``in`` / ``has``: they DO match customers with no value.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncer.schema import DEVICES
from syncer.source.active import active


class RuleError(ValueError):
    """One problem in one condition; the loader adds the file, segment and path."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message = message
        self.hint = hint


class ValueType(enum.StrEnum):
    COUNT = "count"  # a whole number >= 0 (how many rows)
    MONEY = "money"  # currency units, at most 2 decimals (stored in cents)
    DAYS = "days"  # whole days >= 0; no value when there is nothing to measure
    TEXT = "text"  # one text attribute of the customer
    BOOL = "bool"
    DATE = "date"  # a calendar date (UTC)
    ITEM = "item"  # the customer has a set of these (tags, products bought...)
    DEVICE = "device"  # one of desktop, mobile, tablet
    NUMBER = "number"  # a declared number attribute (any decimal)


# Limits on values (the database's ranges, with room for the compiler's +1 / +1 day; stated in
# docs/segments.md "Limits").
MAX_COUNT = 10**15  # counts: far inside a signed 64-bit integer on every database
MAX_DAYS = 36_500  # days since: 100 years
MAX_MONEY = Decimal(10**13)  # currency units (10^15 cents)
MAX_TEXT = 10_000  # characters in one text value
FIRST_DAY = date(1000, 1, 1)  # MariaDB's DATETIME range, less a day at the end
LAST_DAY = date(9998, 12, 31)

NUMBER_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "between")
SET_OPS = ("is_set", "is_not_set")
TEXT_OPS = ("eq", "ne", "in", "not_in", "starts_with", "ends_with", "contains", *SET_OPS)
ITEM_OPS = ("has", "has_not", "in", "not_in")
DATE_OPS = ("eq", "gt", "ge", "lt", "le", "between", "within")
NO_VALUE_OPS = ("is_set", "is_not_set", "within")
LIST_OPS = ("in", "not_in")

OPERATORS: dict[str, str] = {
    "eq": "equals",
    "ne": "does not equal (matches customers with no value)",
    "gt": "greater than",
    "ge": "greater than or equal to",
    "lt": "less than",
    "le": "less than or equal to",
    "between": "between [low, high], both included",
    "in": "is one of the list / has any of the list",
    "not_in": "is none of the list / has none of the list",
    "starts_with": "starts with (% and _ are plain characters)",
    "ends_with": "ends with",
    "contains": "contains",
    "is_set": "has a value / has any",
    "is_not_set": "has no value / has none",
    "has": "has this one",
    "has_not": "does not have this one",
    "within": "falls inside the window (needs `window`)",
}

ZERO = "A customer with no {rows} counts as 0, so `eq: 0` and `lt` match them."
NEVER = (
    "A customer who never {did} has no value: no comparison matches them (`gt 30` does not); "
    "find them with `is_not_set`, and `ne` / `not` match them."
)
NULL_ATTR = "A customer with no {what} matches only `ne`, `not_in` and `is_not_set`."
NONE_ITEM = "A customer with no {rows} matches `has_not` and `not_in`, never `has` or `in`."


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # customer, orders, visits, email: where the data lives
    value_type: ValueType
    operators: tuple[str, ...]
    window: bool  # takes `window:` (restricts the rows counted to a time range)
    no_data: str  # how a customer with no data is treated, in plain words
    description: str


def _f(
    name: str, label: str, kind: str, vt: ValueType, ops: tuple[str, ...], window: bool,
    no_data: str, description: str,
) -> FieldSpec:  # fmt: skip
    return FieldSpec(name, label, kind, vt, ops, window, no_data, description)


V = ValueType
_SPECS = [
    _f("consent", "accepts email marketing", "customer", V.BOOL, ("eq", "ne"), False,
       "Every customer has a value (false unless they opted in).",
       "The customer's email marketing consent: `eq: true`."),
    _f("email", "email address", "customer", V.TEXT, TEXT_OPS, False,
       "Every customer has an email.", "e.g. `ends_with: '@example.com'`."),
    _f("status", "customer status", "customer", V.TEXT, TEXT_OPS, False,
       NULL_ATTR.format(what="status"), "e.g. prospect, active, churned."),
    _f("quality", "customer quality", "customer", V.TEXT, TEXT_OPS, False,
       NULL_ATTR.format(what="quality grade"), "A grade such as A, B, C."),
    _f("zip", "zip / postal code", "customer", V.TEXT, TEXT_OPS, False,
       NULL_ATTR.format(what="zip"), "Quote it in YAML: '02134'. Prefixes with `starts_with`."),
    _f("country", "country", "customer", V.TEXT, TEXT_OPS, False,
       NULL_ATTR.format(what="country"), "Two-letter code, e.g. DE."),
    _f("loyalty_card", "membership / loyalty card", "customer", V.TEXT, TEXT_OPS, False,
       NULL_ATTR.format(what="card"), "e.g. Gold, Silver."),
    _f("tag", "tag on the customer", "customer", V.ITEM, (*ITEM_OPS, *SET_OPS), False,
       NONE_ITEM.format(rows="tags") + " `is_not_set` matches customers with no tag at all.",
       "e.g. `has: wholesale`."),
    _f("created", "created / first seen", "customer", V.DATE, DATE_OPS, True,
       "Every customer has a creation date.",
       "A date (`gt: 2026-01-01`) or `within` a window (`window: last_30_days`)."),
    _f("orders", "number of orders", "orders", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="orders"), "Every order placed, whatever its status."),
    _f("cancelled_orders", "number of cancelled orders", "orders", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="cancelled orders"), "Orders with status cancelled."),
    _f("refunded_orders", "number of refunded orders", "orders", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="refunded orders"), "Orders refunded in full or in part."),
    _f("total_spent", "total spend", "orders", V.MONEY, NUMBER_OPS, True,
       ZERO.format(rows="orders").replace("counts as 0", "has spent 0"),
       "Sum of order totals minus refunds, cancelled orders left out; currency units, "
       "e.g. 499.99."),
    _f("days_since_last_order", "days since the last order", "orders", V.DAYS,
       (*NUMBER_OPS, *SET_OPS), False, NEVER.format(did="ordered"),
       "Whole days from the last order (any status) to --as-of."),
    _f("average_order_value", "average order value", "orders", V.MONEY,
       (*NUMBER_OPS, *SET_OPS), True, NEVER.format(did="ordered (cancelled orders left out)"),
       "Average of order totals minus refunds, cancelled orders left out; currency units."),
    _f("last_order_value", "last order value", "orders", V.MONEY, (*NUMBER_OPS, *SET_OPS),
       True, NEVER.format(did="ordered (cancelled orders left out)"),
       "Total minus refunds of the latest order that was not cancelled (in the window)."),
    _f("first_order_date", "first order date", "orders", V.DATE, (*DATE_OPS, *SET_OPS), True,
       NEVER.format(did="ordered (cancelled orders left out)"),
       "The day of the first order that was not cancelled: `lt: 2025-01-01`, or `within`."),
    _f("distinct_products_bought", "number of distinct products bought", "orders", V.COUNT,
       NUMBER_OPS, True, ZERO.format(rows="purchases"),
       "Different products on orders that were not cancelled (in the window)."),
    _f("coupon", "coupon code used", "orders", V.ITEM, (*ITEM_OPS, *SET_OPS), True,
       NONE_ITEM.format(rows="coupon") + " `is_set` = used any coupon.",
       "Codes on orders that were not cancelled."),
    _f("coupon_orders", "number of orders with a coupon", "orders", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="coupon orders"), "Orders (not cancelled) that used any coupon."),
    _f("purchased_product", "purchased product", "orders", V.ITEM, ITEM_OPS, True,
       NONE_ITEM.format(rows="purchases"),
       "A product name or SKU, on an order that was not cancelled."),
    _f("purchased_vendor", "purchased from vendor", "orders", V.ITEM, ITEM_OPS, True,
       NONE_ITEM.format(rows="purchases"), "The vendor of a product bought."),
    _f("purchased_collection", "purchased from collection", "orders", V.ITEM, ITEM_OPS, True,
       NONE_ITEM.format(rows="purchases"), "A collection (category) of a product bought."),
    _f("reviewed_product", "reviewed product", "orders", V.ITEM, ITEM_OPS, True,
       NONE_ITEM.format(rows="reviews"), "A product name or SKU the customer reviewed."),
    _f("visits", "number of visits", "visits", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="visits"), "Visits to the website."),
    _f("days_since_last_visit", "days since the last visit", "visits", V.DAYS,
       (*NUMBER_OPS, *SET_OPS), False, NEVER.format(did="visited"),
       "Whole days from the last visit to --as-of."),
    _f("preferred_device", "preferred device", "visits", V.DEVICE,
       ("eq", "ne", "in", "not_in", *SET_OPS), True,
       "A customer with no visits, or a tie between devices, has no preferred device.",
       "The device with strictly the most visits: desktop, mobile or tablet."),
    _f("visited_device", "visited on device", "visits", V.DEVICE, ITEM_OPS, True,
       NONE_ITEM.format(rows="visits"), "Any visit on that device (in the window)."),
    _f("cart_adds", "number of add-to-cart events", "visits", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="cart adds"), "Products added to the cart."),
    _f("abandoned_carts", "cart adds without a later order", "visits", V.COUNT, NUMBER_OPS,
       True, ZERO.format(rows="cart adds"),
       "Cart adds (in the window) with no order, not cancelled, placed at or after them."),
    _f("email_opens", "email opens", "email", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="opens"), "Windows: all_time, last_3_months, last_6_months, last_year."),
    _f("email_clicks", "email clicks", "email", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="clicks"), "Same windows as email_opens."),
    _f("email_conversions", "email conversions", "email", V.COUNT, NUMBER_OPS, True,
       ZERO.format(rows="conversions"), "Same windows as email_opens."),
]  # fmt: skip

FIELDS: dict[str, FieldSpec] = {s.name: s for s in _SPECS}


def catalog_as_dict() -> list[dict[str, Any]]:
    """The catalog for ``syncer fields --json``."""
    return [
        {
            "field": s.name,
            "label": s.label,
            "kind": s.kind,
            "value_type": s.value_type.value,
            "operators": list(s.operators),
            "window": s.window,
            "no_data": s.no_data,
            "description": s.description,
        }
        for s in all_fields().values()
    ]


ATTRIBUTE_PREFIX = "attributes."
# fields computed as one value per customer (a scalar subquery), besides declared attributes
SCALARS = (
    "average_order_value",
    "last_order_value",
    "first_order_date",
    "distinct_products_bought",
)
# value types of declared attributes (config/source.yaml `attributes:`)
ATTRIBUTE_TYPES = {"text": V.TEXT, "number": V.NUMBER, "date": V.DATE, "boolean": V.BOOL}


def attribute_specs() -> dict[str, FieldSpec]:
    """The active source's declared attributes as fields (``attributes.<name>``)."""
    out: dict[str, FieldSpec] = {}
    for name, attr in active().attributes.items():
        vt = ATTRIBUTE_TYPES[attr.type]
        window = attr.select is not None and attr.time is not None
        ops: tuple[str, ...] = {
            V.TEXT: TEXT_OPS,
            V.NUMBER: (*NUMBER_OPS, *SET_OPS),
            V.DATE: (*(o for o in DATE_OPS if window or o != "within"), *SET_OPS),
            V.BOOL: ("eq", "ne", *SET_OPS),
        }[vt]
        source = "column" if attr.column else "expression" if attr.expression else "select"
        out[ATTRIBUTE_PREFIX + name] = FieldSpec(
            ATTRIBUTE_PREFIX + name, attr.description or name.replace("_", " "), "attribute",
            vt, ops, window, NULL_ATTR.format(what="value"),
            f"Declared attribute ({attr.type}, from a {source}).",
        )  # fmt: skip
    return out


def all_fields() -> dict[str, FieldSpec]:
    """The catalog and the active source's declared attributes."""
    return {**FIELDS, **attribute_specs()}


def field_spec(name: object) -> FieldSpec:
    """The spec of ``name``; RuleError naming close matches and the allowed fields."""
    if isinstance(name, str) and name.startswith(ATTRIBUTE_PREFIX):
        declared = attribute_specs()
        if name not in declared:
            close = difflib.get_close_matches(name, declared, n=3, cutoff=0.5)
            known = ", ".join(declared) or "none"
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise RuleError(
                f"unknown attribute {name!r}",
                f"{hint}declared: {known} (`attributes:` in config/source.yaml, see "
                "`syncer fields`)",
            )
        return declared[name]
    if not isinstance(name, str) or name not in FIELDS:
        close = difflib.get_close_matches(str(name), FIELDS, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else ""
        raise RuleError(
            f"unknown field {name!r}",
            f"{hint} allowed: {', '.join(FIELDS)} (see `syncer fields`)".strip(),
        )
    return FIELDS[name]


def check_condition(field: object, op: object, value: object, has_window: bool) -> object:
    """Validate one condition; returns its value normalised. Raises RuleError."""
    spec = field_spec(field)
    if op not in spec.operators:
        raise RuleError(
            f"operator {op!r} is not allowed for field {spec.name!r}",
            f"allowed: {', '.join(spec.operators)}",
        )
    assert isinstance(op, str)
    if has_window and not spec.window:
        raise RuleError(f"field {spec.name!r} takes no window", "remove `window:`")
    if has_window and spec.value_type is V.DATE and op != "within":
        raise RuleError(
            f"field {spec.name!r} takes a window only with operator 'within', not {op!r}",
            "remove `window:`, or write `op: within` to test the window",
        )
    if op == "within" and not has_window:
        raise RuleError("operator 'within' needs a window", "add e.g. `window: last_30_days`")
    if op in NO_VALUE_OPS:
        if value is not None:
            raise RuleError(f"operator {op!r} takes no value", "remove `value:`")
        return None
    if value is None:
        raise RuleError(f"operator {op!r} needs a value", _example(spec, op))
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise RuleError("`between` needs a list of two values [low, high]", _example(spec, op))
        low, high = (_scalar(spec, v) for v in value)
        if low > high:  # type: ignore[operator]
            raise RuleError(f"`between` low {low} is above high {high}", "write [low, high]")
        return (low, high)
    if op in LIST_OPS:
        if not isinstance(value, list | tuple) or not value:
            raise RuleError(f"operator {op!r} needs a non-empty list", _example(spec, op))
        return tuple(_scalar(spec, v) for v in value)
    if isinstance(value, list | tuple):
        raise RuleError(f"operator {op!r} takes one value, not a list", _example(spec, op))
    return _scalar(spec, value)


def _example(spec: FieldSpec, op: str) -> str:
    one = {
        V.COUNT: "2", V.DAYS: "30", V.MONEY: "499.99", V.TEXT: "'Gold'", V.BOOL: "true",
        V.DATE: "2026-01-31", V.ITEM: "'Espresso Beans'", V.DEVICE: "mobile", V.NUMBER: "4.5",
    }[spec.value_type]  # fmt: skip
    if op == "between":
        return f"e.g. value: [{one}, {one}]"
    if op in LIST_OPS:
        return f"e.g. value: [{one}]"
    return f"e.g. value: {one}"


def _scalar(spec: FieldSpec, value: object) -> Any:
    vt = spec.value_type
    name = spec.name
    if vt in (V.COUNT, V.DAYS):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleError(f"{name} needs a whole number >= 0, not {value!r}")
        limit = MAX_DAYS if vt is V.DAYS else MAX_COUNT
        if value > limit:
            raise RuleError(f"{name}: {value} is too large; at most {limit:,}")
        return value
    if vt is V.MONEY:
        return _money(name, value)
    if vt is V.NUMBER:
        return _number(name, value)
    if vt is V.BOOL:
        if not isinstance(value, bool):
            raise RuleError(f"{name} needs true or false, not {value!r}")
        return value
    if vt is V.DATE:
        return _date(name, value)
    if vt is V.DEVICE:
        if not isinstance(value, str) or value.lower() not in DEVICES:
            raise RuleError(f"{name}: unknown device {value!r}", f"allowed: {', '.join(DEVICES)}")
        return value.lower()
    if not isinstance(value, str):
        raise RuleError(
            f"{name} needs text, not {value!r}", "put it in quotes, e.g. '02134' or 'true'"
        )
    if not value:
        raise RuleError(f"{name} is empty", "give the text to compare with, e.g. 'Gold'")
    if "\0" in value:
        raise RuleError(f"{name}: the value holds a NUL character (\\0)", "remove it")
    if len(value) > MAX_TEXT:
        raise RuleError(f"{name}: the value is {len(value):,} characters; at most {MAX_TEXT:,}")
    return value


def _number(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise RuleError(f"{name} needs a number such as 4.5, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleError(f"{name} needs a number such as 4.5, not {value!r}") from None
    if not number.is_finite() or abs(number) > MAX_MONEY:
        raise RuleError(f"{name}: {value!r} is not a number within ±{MAX_MONEY:,}")
    return number


def _money(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise RuleError(f"{name} needs an amount such as 499.99, not {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise RuleError(f"{name} needs an amount such as 499.99, not {value!r}") from None
    if amount.is_finite() and amount > MAX_MONEY:
        raise RuleError(f"{name}: {value!r} is too large; at most {MAX_MONEY:,}")
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise RuleError(f"{name}: {value!r} is not an amount >= 0 with at most 2 decimals")
    return amount


def _date(name: str, value: object) -> date:
    if isinstance(value, datetime):
        return check_day(name, value.date())
    if isinstance(value, date):
        return check_day(name, value)
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return check_day(name, day)
    raise RuleError(f"{name} needs a date YYYY-MM-DD, not {value!r}")


def check_day(what: str, day: date) -> date:
    """``day`` if the databases can hold it (with the day after); RuleError saying the range."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise RuleError(f"{what}: {day} is out of range; use a date from {FIRST_DAY} to {LAST_DAY}")
    return day
