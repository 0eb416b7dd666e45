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

from syncer.segments.catalog import RuleError, check_condition, check_day

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

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if isinstance(data, dict) and "field" in data and "op" in data:
            value = check_condition(
                data["field"], data["op"], data.get("value"), data.get("window") is not None
            )
            return {**data, "value": value}
        return data


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


class DestinationConfig(BaseModel):
    """One ``destinations:`` entry: where a segment's members go and what leaving does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str
    list: str
    tag: str
    on_leave: LeaveAction = "untag"
    without_consent: Literal["skip", "non_subscribed"] = "skip"

    @field_validator("profile", "list", "tag")
    @classmethod
    def _given(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise ValueError(f"{info.field_name} is empty")
        if "\0" in v or len(v) > 1000:
            raise ValueError(f"{info.field_name} is not a name (NUL or over 1,000 characters)")
        return v

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.list}/{self.tag}"


class Segment(BaseModel):
    """One segment file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = []
    rules: Rule
    destinations: list[DestinationConfig] = []
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
