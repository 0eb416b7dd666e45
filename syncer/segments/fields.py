"""A destination's ``fields:``: provider field -> the Syncer field or attribute it receives.

    fields:
      FNAME: first_name
      LTV: total_spent
      TIER: attributes.loyalty_tier

``field_map.check_fields`` validates the mapping when the segment file is loaded;
``with_fields`` adds one labelled column per mapped field to the
members query (the same single select, values computed in SQL) and records the mapping on the
query, so that ``FieldReader`` can turn each row into the member's ``fields``: provider field ->
the value as text (``canonical``), the form the snapshot remembers and the diff compares. Each
provider formats that text as its field's type expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Select

from syncer.segments.catalog import ATTRIBUTE_PREFIX, FIELDS
from syncer.segments.columns import all_columns, field_sql
from syncer.segments.field_map import Fields
from syncer.source.active import active

OPTION = "syncer_fields"  # the execution option of a members query carrying its ``Fields``
LABEL = "syncer_field_{}"  # the label of the n-th mapped column


def with_fields(members: Select[Any], fields: Fields, as_of: datetime) -> Select[Any]:
    """``members`` selecting also each mapped field's value (as of ``as_of``), labelled
    ``LABEL.format(n)``; the mapping rides on the query (``fields_of``)."""
    if not fields:
        return members
    return members.add_columns(*columns(fields, as_of)).execution_options(**{OPTION: fields})


def columns(fields: Fields, as_of: datetime, label: str = LABEL) -> list[ColumnElement[Any]]:
    """One SQL expression per mapped field, labelled ``label.format(n)`` (n: its position)."""
    sql = field_sql(sorted({source for _, source in fields}), as_of)
    return [sql[source].label(label.format(n)) for n, (_, source) in enumerate(fields)]


def fields_of(query: Select[Any]) -> Fields:
    """The ``Fields`` ``with_fields`` put on ``query`` (none for a plain members query)."""
    found = query.get_execution_options().get(OPTION, ())
    return tuple(found)


def canonical(value: Any) -> str:
    """One value as the text the snapshot keeps: "" for none, ``true``/``false``, numbers
    without trailing zeros (money in units: 12.5), dates ISO (YYYY-MM-DD, a time as
    YYYY-MM-DDTHH:MM:SS)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value).strip()


def _day(value: Any) -> Any:
    """A date or time as its calendar day (UTC): YYYY-MM-DD on every database."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            return value[:10]
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    return value


class FieldReader:
    """Reads the mapped values of one members query's rows (``with_fields``)."""

    def __init__(self, fields: Fields, label: str = LABEL) -> None:
        self.fields = fields
        self.label = label
        known = all_columns()
        self.convert = [
            _day if value_type(source) == "date" else known[source].convert for _, source in fields
        ]

    @classmethod
    def of(cls, query: Select[Any]) -> FieldReader | None:
        fields = fields_of(query)
        return cls(fields) if fields else None

    def values(self, row: Row[Any]) -> dict[str, str]:
        mapping = row._mapping
        return {
            name: canonical(convert(mapping[self.label.format(n)]))
            for n, ((name, _), convert) in enumerate(zip(self.fields, self.convert, strict=True))
        }


# The value type of the built-in columns that are not catalog fields.
_COLUMN_TYPES = {"customer_id": "number", "created": "date", "consent": "boolean"}
_CATALOG_TYPES = {"count": "count", "days": "count", "money": "money", "date": "date",
                  "number": "number", "bool": "boolean"}  # fmt: skip


def value_type(source: str) -> str:
    """What kind of value ``source`` (a Syncer field or ``attributes.<name>``) gives: text,
    number, money, count, date or boolean (what a provider field must accept)."""
    if source.startswith(ATTRIBUTE_PREFIX):
        attr = active().attributes.get(source.removeprefix(ATTRIBUTE_PREFIX))
        return "text" if attr is None else attr.type
    if source in _COLUMN_TYPES:
        return _COLUMN_TYPES[source]
    spec = FIELDS.get(source)
    return "text" if spec is None else _CATALOG_TYPES.get(spec.value_type.value, "text")


class MappedPreview:
    """Every provider destination's mapped fields as extra columns of a members query, and one
    row's values as each provider would receive them: what ``segments preview`` and the web
    admin's preview show. A key is the provider field, with its profile in brackets when the
    segment maps fields on more than one destination."""

    def __init__(self, destinations: Iterable[object], as_of: datetime) -> None:
        mapped = [(str(getattr(d, "profile", "")), f) for d in destinations
                  if (f := getattr(d, "fields", ()))]  # fmt: skip
        self._readers = [
            (profile, FieldReader(fields, f"mapped_{i}_{{}}")) for i, (profile, fields) in
            enumerate(mapped)
        ]  # fmt: skip
        self.columns = [
            col for i, (_, fields) in enumerate(mapped)
            for col in columns(fields, as_of, f"mapped_{i}_{{}}")
        ]  # fmt: skip

    @staticmethod
    def is_mapped(key: str) -> bool:
        """``key`` is one of this query's extra columns (left out of the plain columns)."""
        return key.startswith("mapped_")

    def values(self, row: Row[Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for profile, reader in self._readers:
            at = f" ({profile})" if len(self._readers) > 1 else ""
            out.update({f"{k}{at}": v for k, v in reader.values(row).items()})
        return out
