"""The desired side of the diff: the segment's members streamed from the commerce database,
and the tally a dry run prints."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, Row, Select, func, select

from syncer.segments.fields import FieldReader
from syncer.state.rows import Planned, Pushed
from syncer.state.runs import RunResult
from syncer.sync.diff import Desired, WithoutConsent

SAMPLE = 5


def consent_mode(value: str) -> WithoutConsent:
    return "non_subscribed" if value == "non_subscribed" else "skip"


def to_desired(row: Row[Any], reader: FieldReader | None = None) -> Desired:
    """One member; with ``reader`` (a query with mapped fields), their values too."""
    return Desired(
        int(row.customer_id), row.email, row.first_name, row.last_name,
        bool(row.accepts_marketing), reader.values(row) if reader is not None else {},
    )  # fmt: skip


def stream_desired(commerce: Engine, query: Select[Any], page_size: int) -> Iterator[Desired]:
    """The query's rows ascending by customer id, through a server-side cursor where the
    driver has one (``stream_results``), ``page_size`` rows at a time."""
    reader = FieldReader.of(query)
    query = query.order_by(query.selected_columns.customer_id)
    with commerce.connect() as conn:
        options = conn.execution_options(stream_results=True, yield_per=page_size)
        for row in options.execute(query):
            yield to_desired(row, reader)


def current_members(commerce: Engine, query: Select[Any], ids: list[int]) -> Iterator[Desired]:
    """The segment's current rows for the customers ``ids`` (those still in it), ascending."""
    reader = FieldReader.of(query)
    sub = query.subquery()
    q = select(sub).where(sub.c.customer_id.in_(ids)).order_by(sub.c.customer_id)
    with commerce.connect() as conn:
        for r in conn.execute(q):
            yield to_desired(r, reader)


def members_at(commerce: Engine, query: Select[Any], keys: list[str]) -> Iterator[Desired]:
    """The segment's current rows whose folded address (``diff.fold``) is one of ``keys``."""
    reader = FieldReader.of(query)
    sub = query.subquery()
    q = select(sub).where(func.lower(func.trim(sub.c.email)).in_(keys))
    with commerce.connect() as conn:
        for r in conn.execute(q):
            yield to_desired(r, reader)


class Recent:
    """The last few snapshot rows a diff read (it reads one ahead), so a dry run can show the
    values an update replaces without holding the snapshot."""

    def __init__(self, rows: Iterable[Pushed], keep: int = 4) -> None:
        self.rows = rows
        self.keep = keep
        self.seen: dict[int, Pushed] = {}

    def __iter__(self) -> Iterator[Pushed]:
        for row in self.rows:
            self.seen[row.customer_id] = row
            if len(self.seen) > self.keep:
                del self.seen[next(iter(self.seen))]
            yield row


def changed_values(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, Any]:
    """The mapped fields whose value differs: {"old": {...}, "new": {...}}."""
    keys = [k for k in new if old.get(k) != new.get(k)] + [k for k in old if k not in new]
    return {"old": {k: old.get(k, "") for k in keys}, "new": {k: new.get(k, "") for k in keys}}


def tally(
    plan: Iterable[Planned], result: RunResult, sample: int = SAMPLE, recent: Recent | None = None
) -> None:
    """Count a plan into ``result`` (adds/updates/removes) with a few addresses per kind, and
    (``recent``: the snapshot as read) a few updates' old and new field values."""
    for p in plan:
        if p.kind == "update" and recent is not None and len(result.changed) < sample:
            before = recent.seen.get(p.customer_id or 0)
            if before is not None and (p.fields or before.fields):
                diff = changed_values(before.fields, p.fields)
                if diff["new"]:
                    result.changed.append({"email": p.email, **diff})
        if p.kind == "forget":  # a rejected member leaving: no provider call
            continue
        if p.kind == "add":
            result.adds += 1
        elif p.kind == "update":
            result.updates += 1
        else:
            result.removes += 1
        shown = result.samples.setdefault(p.kind, [])
        if len(shown) < sample:
            shown.append(p.email)
