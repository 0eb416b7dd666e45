"""Merge field values as each field's type expects (Mailchimp's merge field docs).

A member's ``merge_fields`` (a destination's mapped ``fields``) hold Syncer's text form: numbers
as digits (``12.5``), dates ISO (``2026-03-01``, a time after ``T``), booleans ``true`` /
``false``, "" for none. ``MergeTypes`` (one audience's fields, read once) turns them into what
each field takes: a number stays a number, a ``date`` is written in the field's ``date_format``
(default MM/DD/YYYY), a ``birthday`` as MM/DD, text is cut to 255 characters. A value that still
does not fit (a word in a number field) is sent as is: Mailchimp refuses that member with its
reason, a per-member rejection. A tag the audience does not have is a BadConfiguration naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from providers.errors import BadConfiguration

TEXT_MAX = 255
DATE_FORMATS = {"date": "MM/DD/YYYY", "birthday": "MM/DD"}
# Syncer value types -> the Mailchimp merge field types that take them (validate, create).
# Text may hold anything (a zip code, a number kept as text): any field takes it, and a value
# that does not fit is refused for that member.
COMPATIBLE = {
    "number": ("number", "text"),
    "money": ("number", "text"),
    "count": ("number", "text"),
    "date": ("date", "birthday", "text"),
    "text": (
        "text",
        "number",
        "date",
        "birthday",
        "dropdown",
        "radio",
        "url",
        "zip",
        "phone",
        "imageurl",
    ),
    "boolean": ("text", "dropdown", "radio"),
}


@dataclass(frozen=True)
class FieldType:
    tag: str
    type: str
    date_format: str | None = None


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def format_value(field: FieldType, value: str) -> str:
    """``value`` (Syncer's text form) as ``field`` takes it; unchanged when it does not parse
    (Mailchimp then names the problem)."""
    if value == "":
        return ""
    if field.type in DATE_FORMATS:
        day = _iso_date(value)
        if day is None:
            return value
        fmt = field.date_format or DATE_FORMATS[field.type]
        parts = {"YYYY": f"{day.year:04d}", "MM": f"{day.month:02d}", "DD": f"{day.day:02d}"}
        for token, text in parts.items():
            fmt = fmt.replace(token, text)
        return fmt
    if field.type == "number":
        return value
    return value[:TEXT_MAX]


class MergeTypes:
    """One audience's merge fields by tag (case-insensitive)."""

    def __init__(self, list_id: str, fields: Iterable[FieldType]) -> None:
        self.list_id = list_id
        self.by_tag = {f.tag.upper(): f for f in fields}

    def format(self, values: Mapping[str, str]) -> dict[str, str]:
        """``values`` keyed by the audience's own tags, each formatted for its type."""
        out: dict[str, str] = {}
        for tag, value in values.items():
            field = self.by_tag.get(tag.upper())
            if field is None:
                raise BadConfiguration(
                    f"merge field {tag!r} is not in audience {self.list_id!r}: create it in "
                    "Mailchimp or run `syncer segments validate --online --create-fields`",
                    provider="mailchimp",
                )
            out[field.tag] = format_value(field, value)
        return out
