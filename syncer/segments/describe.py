"""A segment's rule as one plain-English sentence.

    describe(segment)  ->  "Customers whose loyalty card is Gold, who visited more than 10
                            times, and whose last visit was more than 30 days ago"

Every clause starts with "who" or "whose", so clauses join with commas and "and" / "or".
A group inside a group is put in parentheses. ``not`` flips the operator when the opposite is
exact (counts, amounts, dates, has / has not, is / is not; "days since" adds "or who never
..."), and otherwise reads "who are not among those who ...". A field the wording table does
not know yet still reads sensibly from the catalog's label.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from syncer.segments.catalog import FIELDS, ValueType, field_spec
from syncer.segments.model import Condition, Group, Not, Rule, Segment, SegmentRef, Window
from syncer.segments.predicates import is_scalar

# counts: field -> (verb phrase, singular unit, plural unit)
COUNTS: dict[str, tuple[str, str, str]] = {
    "orders": ("placed", "order", "orders"),
    "cancelled_orders": ("had", "cancelled order", "cancelled orders"),
    "refunded_orders": ("had", "refunded order", "refunded orders"),
    "coupon_orders": ("used a coupon on", "order", "orders"),
    "visits": ("visited", "time", "times"),
    "cart_adds": ("added products to the cart", "time", "times"),
    "abandoned_carts": (
        "left",
        "cart add without a later order",
        "cart adds without a later order",
    ),
    "email_opens": ("opened emails", "time", "times"),
    "email_clicks": ("clicked in emails", "time", "times"),
    "email_conversions": ("converted from emails", "time", "times"),
    "distinct_products_bought": ("bought", "distinct product", "distinct products"),
}
# attributes: field -> the noun after "whose"
ATTRIBUTES = {
    "email": "email address",
    "status": "status",
    "quality": "quality grade",
    "zip": "zip code",
    "country": "country",
    "loyalty_card": "loyalty card",
    "preferred_device": "preferred device",
}
# items: field -> (verb for "has", its past negative, noun for any/none)
ITEMS: dict[str, tuple[str, str, str]] = {
    "tag": ("are tagged", "are not tagged", "tag"),
    "coupon": ("used coupon", "never used coupon", "coupon"),
    "purchased_product": ("purchased", "did not purchase", "product"),
    "purchased_vendor": ("purchased from vendor", "did not purchase from vendor", "vendor"),
    "purchased_collection": (
        "purchased from collection",
        "did not purchase from collection",
        "collection",
    ),
    "reviewed_product": ("reviewed", "did not review", "product"),
    "visited_device": ("visited on", "never visited on", "device"),
}
# days since: field -> (noun after "whose last", verb for never)
DAYS = {
    "days_since_last_order": ("order", "ordered"),
    "days_since_last_visit": ("visit", "visited"),
}

COMPARE = {
    "eq": "exactly {}",
    "ne": "other than {}",
    "gt": "more than {}",
    "ge": "at least {}",
    "lt": "fewer than {}",
    "le": "at most {}",
}
ONCE = {"eq": "exactly once", "ge": "at least once", "gt": "more than once", "le": "at most once"}
DATE_COMPARE = {"eq": "on {}", "gt": "after {}", "ge": "on or after {}", "lt": "before {}"}
DATE_COMPARE["le"] = "on or before {}"
# the exact complement of an operator (see catalog: ne/not_in/has_not match no-value customers)
OPPOSITE = {
    "eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in", "has": "has_not", "has_not": "has",
    "is_set": "is_not_set", "is_not_set": "is_set",
}  # fmt: skip
COUNT_OPPOSITE = {"gt": "le", "le": "gt", "ge": "lt", "lt": "ge"}
V = ValueType
_PLAIN = re.compile(r"^[\w.@+-]+$")


def describe(segment: Segment) -> str:
    """The segment's rule as one sentence starting with "Customers"."""
    return "Customers " + clause(segment.rules, nested=False)


def clause(rule: Rule, *, nested: bool = True) -> str:
    """One rule node as a clause starting with "who" / "whose" (or "either" / "both")."""
    if isinstance(rule, Group):
        parts = [clause(r) for r in rule.rules]
        if len(parts) == 1:
            return parts[0]
        joined = join(parts, "and" if rule.kind == "all" else "or")
        return f"({joined})" if nested else joined
    if isinstance(rule, Not):
        return negated(rule.rule)
    if isinstance(rule, SegmentRef):
        return f"who are in segment {quote(rule.segment)}"
    return condition(rule)


def negated(rule: Rule) -> str:
    if isinstance(rule, Not):
        return clause(rule.rule)
    if isinstance(rule, SegmentRef):
        return f"who are not in segment {quote(rule.segment)}"
    if isinstance(rule, Condition):
        spec = FIELDS.get(rule.field)
        flip = OPPOSITE.get(rule.op)
        exact = spec is not None and spec.value_type in (V.COUNT, V.MONEY, V.DATE)
        if is_scalar(rule.field) and rule.field not in COUNTS:  # no value: no comparison holds
            exact = False
        if flip is None and (exact or rule.field in DAYS):
            flip = COUNT_OPPOSITE.get(rule.op)
        if flip is not None:
            text = condition(rule.model_copy(update={"op": flip}))
            if rule.field in DAYS and flip in COUNT_OPPOSITE:
                text += f" (or who never {DAYS[rule.field][1]})"
            return text
    return "who are not among those " + clause(rule)


def join(parts: list[str], word: str) -> str:
    if len(parts) == 2:
        return f"{parts[0]} {word} {parts[1]}"
    return ", ".join(parts[:-1]) + f", {word} {parts[-1]}"


def quote(value: object) -> str:
    text = str(value)
    return text if _PLAIN.match(text) else '"' + text.replace('"', '\\"') + '"'


def show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:,.2f}".removesuffix(".00")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return quote(value)


def choices(value: object, word: str) -> str:
    """``a``, ``a or b``, ``a, b, or c`` (word = "or" / "nor" / "and")."""
    items = [show(v) for v in value] if isinstance(value, tuple) else [show(value)]
    return items[0] if len(items) == 1 else join(items, word)


def window_text(window: Window | None) -> str:
    if window is None or window.kind == "all_time":
        return ""
    if window.kind == "between":
        return f" between {window.start} and {window.end}"
    if window.kind == "last_months" and window.n == 12:
        return " in the last year"
    unit = "days" if window.kind == "last_days" else "months"
    if window.n == 1:
        return f" in the last {unit[:-1]}"
    return f" in the last {window.n} {unit}"


def quantity(op: str, value: object, one: str, many: str) -> str:
    if op == "between" and isinstance(value, tuple):
        return f"between {show(value[0])} and {show(value[1])} {many}"
    unit = one if value == 1 and op in ("eq", "ne", "ge", "le") else many
    return f"{COMPARE[op].format(show(value))} {unit}"


def condition(cond: Condition) -> str:
    f, op, value = cond.field, cond.op, cond.value
    window = window_text(cond.window)
    if f in COUNTS:
        verb, one, many = COUNTS[f]
        if (op, value) in (("eq", 0), ("lt", 1), ("le", 0)):
            if many == "times":
                return f"who never {verb}{window}"
            return f"who {verb} no {many}{window}"
        if many == "times" and value == 1 and op in ONCE:
            return f"who {verb} {ONCE[op]}{window}"
        return f"who {verb} {quantity(op, value, one, many)}{window}"
    if f == "total_spent":
        if op == "between" and isinstance(value, tuple):
            amount = f"between {show(value[0])} and {show(value[1])}"
        else:
            amount = COMPARE[op].format(show(value)).replace("fewer", "less")
        return f"who spent {amount} in total{window}"
    if f in DAYS:
        noun, verb = DAYS[f]
        if op == "is_set":
            return f"who have {verb}"
        if op == "is_not_set":
            return f"who never {verb}"
        if op == "between" and isinstance(value, tuple):
            ago = f"between {show(value[0])} and {show(value[1])} days ago"
        else:
            days = "day" if value == 1 else "days"
            ago = COMPARE[op].format(show(value)).replace("fewer", "less") + f" {days} ago"
        extra = f" (or who never {verb})" if op == "ne" else ""
        return f"whose last {noun} was {ago}{extra}"
    if f in ITEMS and cond.min_quantity is not None:
        what = choices(value, "or")
        if op in ("has", "in"):
            return f"who bought at least {cond.min_quantity} of {what}{window}"
        return f"who did not buy at least {cond.min_quantity} of {what}{window}"
    if f in ITEMS:
        return _item(f, op, value, window)
    if f == "consent":
        yes = (value is True) == (op == "eq")
        return "who accept email marketing" if yes else "who do not accept email marketing"
    if f == "created":
        if op == "within":
            return f"who were created{window}"
        if op == "between" and isinstance(value, tuple):
            return f"who were created between {show(value[0])} and {show(value[1])}"
        return f"who were created {DATE_COMPARE.get(op, op + ' {}').format(show(value))}"
    if is_scalar(f):
        return _one_value(cond, window)
    noun = ATTRIBUTES.get(f) or (FIELDS[f].label if f in FIELDS else f.replace("_", " "))
    return _attribute(noun, op, value) + (f" (from visits{window})" if window else "")


def _one_value(cond: Condition, window: str) -> str:
    """A built-in one-value field or a declared attribute (``whose average order value ...``)."""
    f, op, value = cond.field, cond.op, cond.value
    spec = field_spec(f)
    noun = spec.label
    if spec.value_type is V.DATE and op == "within":
        return f"whose {noun} is{window}"
    if spec.value_type is V.DATE and op in DATE_COMPARE:
        return f"whose {noun} is {DATE_COMPARE[op].format(show(value))}"
    if op == "is_set":
        return f"who have a value for {noun}{window}"
    if op == "is_not_set":
        return f"who have no value for {noun}{window}"
    return _attribute(noun, op, value).replace("fewer than", "less than") + window


def _item(f: str, op: str, value: object, window: str) -> str:
    yes, no, noun = ITEMS[f]
    if op == "has":
        return f"who {yes} {show(value)}{window}"
    if op == "has_not":
        return f"who {no} {show(value)}{window}"
    if op == "in":
        return f"who {yes} {choices(value, 'or')}{window}"
    if op == "not_in":
        return f"who {no} {choices(value, 'or')}{window}"
    if op == "is_set":
        return f"who have any {noun}{window}"
    return f"who have no {noun}{window}"


def _attribute(noun: str, op: str, value: object) -> str:
    if op == "eq":
        return f"whose {noun} is {show(value)}"
    if op == "ne":
        return f"whose {noun} is not {show(value)} (or who have none)"
    if op == "in":
        return f"whose {noun} is {choices(value, 'or')}"
    if op == "not_in":
        return f"whose {noun} is not {choices(value, 'or')} (or who have none)"
    if op == "is_set":
        return f"who have a {noun}"
    if op == "is_not_set":
        return f"who have no {noun}"
    if op in ("starts_with", "ends_with", "contains"):
        return f'whose {noun} {op.replace("_", " ")} "{value}"'
    if op == "between" and isinstance(value, tuple):
        return f"whose {noun} is between {show(value[0])} and {show(value[1])}"
    return f"whose {noun} is {COMPARE.get(op, op + ' {}').format(show(value))}"
