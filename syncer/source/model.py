"""``config/source.yaml``: where each logical table of Syncer's model lives in the shop's
database (docs/source.md). Parsed here; turned into SQL by ``syncer.source.tables``.

    prefix: wp_                    # put before every `table:` name and `{prefix}` in models
    timezone: Europe/Berlin        # zone of stored local times (default UTC)
    identity: email                # people are their lower-cased, trimmed email (guests)
    tables:
      customers: {table: clients, columns: {id: client_no, created_at: signed_up}}
      orders:
        model: SELECT ... FROM {prefix}purchases
        columns:
          total_cents: {column: amount, money: decimal}
          status: {column: state, values: {done: paid, void: cancelled}}
      visits: absent
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from syncer.errors import ConfigError

PREFIX = re.compile(r"^[A-Za-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
ABSENT = "absent"
MAX_FILE_BYTES = 1_000_000


class ColumnSpec(BaseModel):
    """Where one native column comes from, and how it is converted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None  # the shop's column (default: the native name)
    money: Literal["cents", "decimal"] | None = None  # decimal: currency units, times 100
    values: dict[str, str] | None = None  # shop value -> Syncer value (status, device, kind)
    other: str | None = None  # Syncer value for shop values not in `values` (default: as is)
    true_values: list[str] | None = None  # a boolean: these (any case) are true, the rest false
    timezone: str | None = None  # the zone this time column is stored in
    requires: str | None = None  # a preset option: without it the column is not mapped
    unmapped: bool = False  # the shop has no such column (fields that need it: unavailable)
    # identity email: the model already gives the lower-cased, trimmed email (customers.email,
    # customer_id), used as is so the database can look people up by it (no expression)
    normalized: bool = False
    note: str | None = None  # why it may be unmapped (shown by `syncer source check`)

    @field_validator("column")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not NAME.match(value):
            raise ValueError(f"{value!r} is not a column name (letters, digits, _)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return check_zone(value) if value is not None else None

    @field_validator("values", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class TableSpec(BaseModel):
    """A logical table: a table of the shop, a model (a SELECT), or absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str | None = None
    model: str | None = None
    columns: dict[str, ColumnSpec | None] = {}
    absent: str | None = None  # the reason the shop has no such table

    @field_validator("columns", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if isinstance(value, dict):  # `id: client_no` is short for `id: {column: client_no}`
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None and not NAME.match(value):
            raise ValueError(f"{value!r} is not a table name (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _one(self) -> TableSpec:
        given = [k for k in ("table", "model", "absent") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `table:`, `model:` or `absent: <reason>`")
        return self


ATTRIBUTE_TYPES = ("text", "number", "date", "boolean")
AGGREGATES = ("sum", "avg", "min", "max", "count")


class AttributeSpec(BaseModel):
    """One extra per-customer value (docs/source.md "Attributes"): a column of the customers
    table, a SQL expression over its columns, or a select of ``(customer_id, value[, time])``
    rows aggregated per customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["text", "number", "date", "boolean"]
    column: str | None = None
    expression: str | None = None
    select: str | None = None
    time: str | None = None  # a time column of the select's rows: windows, as-of
    aggregate: Literal["sum", "avg", "min", "max", "count"] = "max"
    description: str = ""

    @field_validator("column", "time")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not NAME.match(value):
            raise ValueError(f"{value!r} is not a column name (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _one(self) -> AttributeSpec:
        given = [k for k in ("column", "expression", "select") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `column:`, `expression:` or `select:`")
        for key in ("expression", "select"):
            sql = getattr(self, key)
            if sql is not None and (not sql.strip() or ";" in sql.strip().rstrip(";")):
                raise ValueError(f"{key} must be one SQL {'select' if key == 'select' else key}")
        if self.time is not None and self.select is None:
            raise ValueError("`time:` names a column of a `select:`; remove it")
        return self


class SourceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str | None = None
    prefix: str = ""
    options: dict[str, Any] = {}
    timezone: str = "UTC"
    identity: Literal["id", "email"] = "id"
    tables: dict[str, TableSpec] = {}
    attributes: dict[str, AttributeSpec] = {}

    @field_validator("attributes")
    @classmethod
    def _attribute_names(cls, value: dict[str, AttributeSpec]) -> dict[str, AttributeSpec]:
        for name in value:
            if not NAME.match(name) or "$" in name:
                raise ValueError(f"{name!r} is not an attribute name (letters, digits, _)")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not PREFIX.match(value):
            raise ValueError(f"prefix {value!r} may hold only letters, digits and _")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("tables", mode="before")
    @classmethod
    def _absent(cls, value: Any) -> Any:
        if isinstance(value, dict):  # `visits: absent` is short for `{absent: not in the shop}`
            return {
                k: {"absent": "the shop has none"} if v == ABSENT or v is None else v
                for k, v in value.items()
            }
        return value


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. UTC, Europe/Berlin)") from None
    return value


def parse_source(data: object, *, where: str) -> SourceFile:
    """The mapping in ``data``; ConfigError (one line) naming ``where`` and the key."""
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping (prefix:, tables:, ...)", where=where)
    try:
        return SourceFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{at}: {message}" if at else message, where=where) from None


def read_source_file(path: Path) -> SourceFile:
    """``path`` parsed; ConfigError for a file that cannot be read or is no mapping."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"larger than {MAX_FILE_BYTES:,} bytes", where=str(path))
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror or err}", where=str(path)) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise ConfigError(f"{line}{problem}", where=str(path)) from None
    return parse_source(data, where=str(path))
