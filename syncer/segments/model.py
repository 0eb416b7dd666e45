"""A segment file as typed objects: the rule tree, windows, destinations.

The rule tree is a union of four node classes (see ``Rule``):

    Group(kind="all" | "any", rules=(...))   YAML ``all: [...]`` / ``any: [...]``
    Not(rule=...)                            YAML ``not: {...}`` (the complement)
    SegmentRef(segment="VIP customers")      YAML ``in_segment: VIP customers``
    Condition(field, op, value, window)      YAML ``{field: orders, op: gt, value: 2}``

Conditions are checked against ``catalog.FIELDS`` when built, so a tree that exists is valid
(unknown references are checked by the loader, which sees every segment). ``Window.range``
turns a window into UTC datetimes from ``as_of``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from syncer.segments.catalog import MAX_COUNT, RuleError, check_condition, check_day
from syncer.segments.column_names import check_columns
from syncer.segments.field_map import check_fields

ScalarValue = bool | int | Decimal | str | date
# What a destination's leavers get (``on_leave``); the sync layer hands it to the provider as
# ``providers.base.OnLeave``, which has the same values.
LeaveAction = Literal["untag", "unsubscribe", "archive"]
Value = ScalarValue | tuple[ScalarValue, ...] | None

_RELATIVE = re.compile(r"^last_(\d+)_(days|months)$")
PRESETS = {"all_time": None, "last_year": ("months", 12)}
MAX_WINDOW = {"days": 36_500, "months": 1_200}  # 100 years back from --as-of
WINDOW_FORMS = (
    "all_time, last_year, last_N_days, last_N_months (e.g. last_3_months), "
    "{last_days: N}, {last_months: N}, {between: [YYYY-MM-DD, YYYY-MM-DD]}"
)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC already); the
    schema's timestamp columns bind aware UTC values on every database."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class TimeRange:
    """Rows with ``start <= at`` and ``at <= end`` (``at < end`` when not ``end_inclusive``)."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool

    def contains(self, at: datetime) -> bool:
        if self.start is not None and at < self.start:
            return False
        if self.end is None:
            return True
        return at <= self.end if self.end_inclusive else at < self.end


class Window(BaseModel):
    """Which rows an aggregate counts: all time, the last N days/months up to ``as_of``,
    or between two dates (both days included, UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["all_time", "last_days", "last_months", "between"]
    n: int | None = None
    start: date | None = None
    end: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        return parse_window(data) if not isinstance(data, Window) else data

    def range(self, as_of: datetime) -> TimeRange:
        now = as_utc(as_of)
        if self.kind == "all_time":
            return TimeRange(None, None, True)
        if self.kind == "between":
            assert self.start is not None and self.end is not None
            start = datetime.combine(self.start, datetime.min.time(), UTC)
            end = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)
            return TimeRange(start, end, False)
        assert self.n is not None
        if self.kind == "last_days":
            return TimeRange(now - timedelta(days=self.n), now, True)
        return TimeRange(months_before(now, self.n), now, True)

    def text(self) -> str:
        """Short text: ``last 30 days``, ``2026-01-01..2026-03-31``, ``all time``."""
        if self.kind == "all_time":
            return "all time"
        if self.kind == "between":
            return f"{self.start}..{self.end}"
        return f"last {self.n} {'days' if self.kind == 'last_days' else 'months'}"


def parse_window(data: object) -> dict[str, Any]:
    """The fields of a Window from its YAML form; RuleError listing the forms allowed."""
    bad = RuleError(f"window {data!r} is not understood", f"use {WINDOW_FORMS}")
    if isinstance(data, dict) and "kind" in data:  # the model's own form: same limits
        kind, n = data.get("kind"), data.get("n")
        if kind in ("last_days", "last_months") and isinstance(n, int):
            _relative(str(kind)[5:], n)
        for key in ("start", "end"):
            if data.get(key) is not None:
                _day(data[key])
        return data
    if isinstance(data, str):
        if data in PRESETS:
            preset = PRESETS[data]
            return {"kind": "all_time"} if preset is None else {"kind": "last_months", "n": 12}
        m = _RELATIVE.match(data)
        if not m:
            raise bad
        return _relative(m.group(2), int(m.group(1)))
    if not isinstance(data, dict) or len(data) != 1:
        raise bad
    ((key, val),) = data.items()
    if key in ("last_days", "last_months"):
        if isinstance(val, bool) or not isinstance(val, int):
            raise RuleError(f"window {key} needs a whole number of {key[5:]}, not {val!r}")
        return _relative(key[5:], val)
    if key == "between":
        if not isinstance(val, list | tuple) or len(val) != 2:
            raise RuleError("window between needs [first_day, last_day]", f"use {WINDOW_FORMS}")
        start, end = (_day(v) for v in val)
        if start > end:
            raise RuleError(f"window between: {start} is after {end}", "write [first, last]")
        return {"kind": "between", "start": start, "end": end}
    raise bad


def _relative(unit: str, n: int) -> dict[str, Any]:
    if n < 1:
        raise RuleError(f"window last_{n}_{unit}: N must be 1 or more")
    if n > MAX_WINDOW[unit]:
        raise RuleError(
            f"window last_{n}_{unit} is too long: at most {MAX_WINDOW[unit]:,} {unit} (100 years)"
        )
    return {"kind": f"last_{unit}", "n": n}


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return check_day("window between", value.date())
    if isinstance(value, date):
        return check_day("window between", value)
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise RuleError(f"window date {value!r} is not YYYY-MM-DD") from None
    return check_day("window between", day)


class Condition(BaseModel):
    """One test of one catalog field: ``{field: orders, op: gt, value: 2, window: last_year}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    op: str
    value: Value = None
    window: Window | None = None
    min_quantity: int | None = None  # purchased_*: units bought (summed over order lines)

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and "field" in data and "op" in data:
            value = check_condition(
                data["field"], data["op"], data.get("value"), data.get("window") is not None
            )
            if data.get("min_quantity") is not None:
                check_quantity(data["field"], data["op"], data["min_quantity"])
            return {**data, "value": value}
        return data


QUANTITY_FIELDS = ("purchased_product", "purchased_vendor", "purchased_collection")


def check_quantity(field: object, op: object, n: object) -> None:
    """``min_quantity: n`` on a purchase condition; RuleError otherwise."""
    if field not in QUANTITY_FIELDS:
        raise RuleError(
            f"min_quantity applies to {', '.join(QUANTITY_FIELDS)}, not {field!r}",
            "remove `min_quantity:`",
        )
    if op not in ("has", "has_not", "in", "not_in"):
        raise RuleError(f"min_quantity needs operator has, has_not, in or not_in, not {op!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_COUNT:
        raise RuleError(f"min_quantity needs a whole number from 1 to {MAX_COUNT:,}, not {n!r}")


class Group(BaseModel):
    """``all`` (every rule matches) or ``any`` (at least one does); never empty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["all", "any"]
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) == 1 and ("all" in data or "any" in data):
            ((kind, rules),) = data.items()
            return {"kind": kind, "rules": rules}
        return data


class Not(BaseModel):
    """Customers the inner rule does not match."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Rule

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        return {"rule": data["not"]} if isinstance(data, dict) and "not" in data else data


class SegmentRef(BaseModel):
    """Customers who match another segment's rules (``in_segment: <name>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment: str

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, dict) and "in_segment" in data:
            return {"segment": data["in_segment"]}
        return data


def rule_kind(data: Any) -> str | None:
    """The node class a YAML mapping (or node) stands for: group, not, ref, condition."""
    if isinstance(data, BaseModel):
        return {Group: "group", Not: "not", SegmentRef: "ref", Condition: "condition"}.get(
            type(data)
        )
    if not isinstance(data, dict):
        return None
    for keys, kind in (
        (("all", "any", "kind"), "group"),
        (("not", "rule"), "not"),
        (("in_segment", "segment"), "ref"),
        (("field",), "condition"),
    ):
        if any(k in data for k in keys):
            return kind
    return None


Rule = Annotated[
    Annotated[Group, Tag("group")]
    | Annotated[Not, Tag("not")]
    | Annotated[SegmentRef, Tag("ref")]
    | Annotated[Condition, Tag("condition")],
    Discriminator(rule_kind),
]
Group.model_rebuild()
Not.model_rebuild()


def _columns(v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    return check_columns(v, key=str(info.field_name))


class DestinationConfig(BaseModel):
    """One ``destinations:`` entry: where a segment's members go and what leaving does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str
    list: str
    tag: str
    on_leave: LeaveAction = "untag"
    without_consent: Literal["skip", "non_subscribed"] = "skip"
    # Members lacking any of these columns (NULL or empty) are not pushed: as if not members.
    require: tuple[str, ...] = ()
    # Provider field (Mailchimp merge tag, ActiveCampaign / Sendlane custom field name or id)
    # -> the Syncer field or ``attributes.<name>`` it receives (``syncer.segments.fields``).
    fields: tuple[tuple[str, str], ...] = ()

    @field_validator("profile", "list", "tag")
    @classmethod
    def _given(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise ValueError(f"{info.field_name} is empty")
        if "\0" in v or len(v) > 1000:
            raise ValueError(f"{info.field_name} is not a name (NUL or over 1,000 characters)")
        return v

    @field_validator("require")
    @classmethod
    def _required(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return _columns(v, info)

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, v: object) -> tuple[tuple[str, str], ...]:
        return check_fields(v)

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.list}/{self.tag}"


# ``{date}`` or ``{date:FORMAT}`` in a csv destination's path: the run's as-of (UTC), written
# with strftime directives (``%Y-%m-%d`` by default).
DATE_FIELD = re.compile(r"\{date(?::([^{}]*))?\}")
DATE_DIRECTIVES = "YmdHMSjyUWVGuaAbBpI%"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
MAX_PATH = 390  # the run records store "csv:" + the path in 400 characters
# What a csv destination writes when it names no columns: the member columns of a sync.
DEFAULT_COLUMNS = ("customer_id", "email", "first_name", "last_name", "consent")


def render_path(pattern: str, as_of: datetime) -> str:
    """``pattern`` with each ``{date[:FORMAT]}`` replaced by ``as_of`` (UTC) so written."""
    moment = as_utc(as_of)
    return DATE_FIELD.sub(lambda m: moment.strftime(m.group(1) or DEFAULT_DATE_FORMAT), pattern)


def check_path_pattern(pattern: str) -> str:
    """``pattern`` if it is a usable file path pattern; ValueError (one line) if not."""
    if not pattern.strip() or "\0" in pattern or len(pattern) > MAX_PATH:
        raise ValueError(f"path must be a file path of 1 to {MAX_PATH} characters, without NUL")
    for m in DATE_FIELD.finditer(pattern):
        fmt = m.group(1)
        if fmt is None:
            continue
        directives = re.findall(r"%(.?)", fmt)
        bad = [d for d in directives if d not in DATE_DIRECTIVES]
        if bad or not directives:
            raise ValueError(
                f"path pattern {m.group(0)!r}: {'%' + bad[0] if bad else 'no %'} directive "
                f"is not supported; use {{date}} or {{date:FORMAT}} with "
                f"{', '.join('%' + d for d in DATE_DIRECTIVES)}"
            )
    rest = DATE_FIELD.sub("", pattern)
    if "{" in rest or "}" in rest:
        raise ValueError(
            f"path pattern {pattern!r} has a brace that is not a date field; "
            "write {date} or {date:%Y-%m-%d} (the run's as-of, UTC)"
        )
    if pattern.endswith(("/", "\\")) or Path(render_path(pattern, datetime.now(UTC))).name in (
        "",
        ".",
        "..",
    ):
        raise ValueError(f"path {pattern!r} names a folder, not a file")
    return pattern


class CsvDestinationConfig(BaseModel):
    """``{kind: csv, path: exports/vip-{date}.csv.gz, columns: [...], gzip: auto}``: the whole
    segment written to a file on each run (relative paths are relative to the config folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["csv"]
    path: str
    columns: tuple[str, ...] = Field(default=DEFAULT_COLUMNS, min_length=1)
    gzip: bool | Literal["auto"] = "auto"  # auto: when the path ends in .gz
    require: tuple[str, ...] = ()

    @field_validator("path")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return check_path_pattern(v)

    @field_validator("columns", "require")
    @classmethod
    def _named(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return _columns(v, info)

    @property
    def key(self) -> str:
        return f"csv:{self.path}"

    @property
    def compressed(self) -> bool:
        return self.path.endswith(".gz") if self.gzip == "auto" else self.gzip

    def file_for(self, config_dir: Path, as_of: datetime) -> Path:
        """The file a run as of ``as_of`` writes (a relative path is under ``config_dir``)."""
        return config_dir / render_path(self.path, as_of)


def destination_kind(data: Any) -> str | None:
    """``csv`` for an entry with ``kind: csv``, ``provider`` for one without ``kind``."""
    if isinstance(data, BaseModel):
        return "csv" if isinstance(data, CsvDestinationConfig) else "provider"
    if not isinstance(data, dict):
        return "provider"  # pydantic then says what a provider destination needs
    kind = data.get("kind")
    return "provider" if kind is None else "csv" if kind == "csv" else None


SegmentDestination = Annotated[
    Annotated[DestinationConfig, Tag("provider")] | Annotated[CsvDestinationConfig, Tag("csv")],
    Discriminator(
        destination_kind,
        custom_error_type="destination_kind",
        custom_error_message="kind must be csv, or left out for a provider destination",
    ),
]


class Segment(BaseModel):
    """One segment file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = []
    rules: Rule
    destinations: list[SegmentDestination] = []
    schedule: str | None = None
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("name must not be blank")
        return v.strip()

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v, timezone=UTC)
        except ValueError as err:
            raise ValueError(
                f"schedule {v!r} is not a cron line ({err}); use 5 fields, e.g. '0 * * * *'"
            ) from None
        return v
