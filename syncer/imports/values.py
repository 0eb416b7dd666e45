"""One exported cell -> one native value, or BadValue with a reason a user can act on."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from syncer.db import fold_case

# What an address needs to be one: something, one @, a dot in the domain, no blanks.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%dT%H:%M:%S%z")


class BadValue(ValueError):
    """A cell that cannot be imported; the message names the column and the value."""


def email(text: str, column: str = "Email") -> str:
    """The address trimmed and in lower case (how Syncer identifies a person)."""
    folded = fold_case(text.strip()) or ""
    if not folded:
        raise BadValue(f"no {column}: Syncer identifies customers by email")
    if not _EMAIL.match(folded) or len(folded) > 320:
        raise BadValue(f"{column} {text.strip()!r} is not an email address")
    return folded


def money_cents(text: str, column: str) -> int:
    """A decimal amount (``12.30``, ``1,234.50``; '' = 0) in integer cents, rounded half up."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return 0
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(f"{column} {text.strip()!r} is not an amount (e.g. 12.50)") from None
    if not amount.is_finite() or amount < 0:
        raise BadValue(f"{column} {text.strip()!r} is not an amount of 0 or more")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def quantity(text: str, column: str) -> int:
    cleaned = text.strip()
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise BadValue(f"{column} {cleaned!r} is not a whole number of 1 or more")
    return int(cleaned)


def utc_time(text: str, column: str) -> datetime:
    """``2024-05-01 10:30:00 +0900`` (Shopify's form) or ISO 8601 with an offset, as naive UTC.

    A time without an offset is refused: the export's offset is the only sure time zone."""
    cleaned = text.strip()
    moment: datetime | None = None
    for form in _TIME_FORMATS:
        try:
            moment = datetime.strptime(cleaned, form)
            break
        except ValueError:
            continue
    if moment is None:
        try:
            moment = datetime.fromisoformat(cleaned)
        except ValueError:
            moment = None
    if moment is None:
        raise BadValue(f"{column} {cleaned!r} is not a time like 2024-05-01 10:30:00 +0900")
    if moment.tzinfo is None:
        raise BadValue(f"{column} {cleaned!r} has no UTC offset (e.g. +0900)")
    return moment.astimezone(UTC).replace(tzinfo=None)


def yes_no(text: str, column: str) -> bool:
    """``yes`` / ``no`` (also true/false, 1/0; '' = no)."""
    cleaned = text.strip().lower()
    if cleaned in ("yes", "true", "1", "y"):
        return True
    if cleaned in ("no", "false", "0", "n", ""):
        return False
    raise BadValue(f"{column} {text.strip()!r} is not yes or no")


def tags(text: str, column: str = "Tags", limit: int = 60) -> set[str]:
    """Comma-separated tags in one cell, trimmed, empty ones dropped."""
    out = {t.strip() for t in text.split(",") if t.strip()}
    long = sorted(t for t in out if len(t) > limit)
    if long:
        raise BadValue(f"{column}: tag {long[0]!r} is longer than {limit} characters")
    return out


def text(value: str, column: str, limit: int) -> str | None:
    """A trimmed text cell ('' = None) that fits its native column."""
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise BadValue(f"{column} is longer than {limit} characters")
    return cleaned or None


def shopify_id(value: str) -> str:
    """A Shopify id as exported, without the apostrophe that keeps spreadsheets off it."""
    return value.strip().lstrip("'").strip()
