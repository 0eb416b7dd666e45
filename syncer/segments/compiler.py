"""A segment -> ONE SQLAlchemy Core select over ``customers`` (values as bound parameters).

    query = members_query(segment, segments, as_of=now)   # customer_id, email, names, consent
    total = count_query(segment, segments, as_of=now)     # SELECT count(*)
    for path, text, q in condition_counts(segment, segments, as_of=now): ...

The rule tree becomes one WHERE clause. ``not`` is pushed down to the conditions (De Morgan),
so every condition is compiled either as itself or as its exact complement; aggregates become
grouped ``IN`` subqueries or correlated ``EXISTS`` / ``NOT EXISTS`` over the indexed
``(customer_id, time)`` columns (see ``sqlparts``). ``in_segment`` inlines the other segment's
rules; nested groups of the same kind are flattened, and ``combine.junction`` merges the
conditions of a group that read the same rows (one GROUP BY for an AND of aggregates, one
EXISTS with an IN list for an OR of ``has``). Relative windows are computed in Python from
``as_of`` and bound, never left to the database's date functions, so SQLite, PostgreSQL and
MariaDB give the same members. ``as_of`` is the shop as it was then: every window ends at it
(rows after it count for nothing) and customers created after it are nobody's members.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select

from syncer.errors import SegmentError
from syncer.segments.combine import Item, junction
from syncer.segments.conditions import condition_sql
from syncer.segments.model import Condition, Group, Not, Rule, Segment, SegmentRef
from syncer.segments.predicates import existed
from syncer.source.active import active

Segments = Mapping[str, Segment]


def member_columns() -> tuple[ColumnElement[Any], ...]:
    """What ``members_query`` selects, the columns the sync layer reads
    (``sync.members.to_desired``), from the active source's customers."""
    c = active().customers.c
    return (c.id.label("customer_id"), c.email, c.first_name, c.last_name, c.accepts_marketing)


MEMBER_COLUMNS = member_columns()  # over the native schema (benchmarks, tests)


def members_query(segment: Segment, segments: Segments, *, as_of: datetime) -> Select[Any]:
    """customer_id, email, first_name, last_name, accepts_marketing of every member."""
    where = compile_rule(segment.rules, segments, as_of, chain=(segment.name,), source=segment)
    return select(*member_columns()).where(where)


def count_query(segment: Segment, segments: Segments, *, as_of: datetime) -> Select[Any]:
    """How many customers the segment has (one row, one column ``n``)."""
    where = compile_rule(segment.rules, segments, as_of, chain=(segment.name,), source=segment)
    return select(func.count().label("n")).select_from(active().customers).where(where)


def consent_count_query(segment: Segment, segments: Segments, *, as_of: datetime) -> Select[Any]:
    """How many members there are (``n``) and how many of them accept marketing email
    (``consenting``): what a destination with ``without_consent: skip``, the default, receives.
    One row, one evaluation of the rule."""
    where = compile_rule(segment.rules, segments, as_of, chain=(segment.name,), source=segment)
    customers = active().customers
    consenting = func.coalesce(
        func.sum(case((customers.c.accepts_marketing.is_(True), 1), else_=0)), 0
    )
    return (
        select(func.count().label("n"), consenting.label("consenting"))
        .select_from(customers)
        .where(where)
    )


def condition_counts(
    segment: Segment, segments: Segments, *, as_of: datetime
) -> list[tuple[str, str, Select[Any]]]:
    """(path, short text, COUNT select) for every node of the tree, in tree order: how many
    customers that node alone keeps."""
    out: list[tuple[str, str, Select[Any]]] = []
    for path, node in walk(segment.rules, "rules"):
        where = compile_rule(node, segments, as_of, chain=(segment.name,), source=segment)
        query = select(func.count().label("n")).select_from(active().customers).where(where)
        out.append((path, short_text(node), query))
    return out


def walk(rule: Rule, path: str) -> Iterator[tuple[str, Rule]]:
    """Every node with its path (``rules.all[2].any[0]``), parents before children."""
    yield path, rule
    if isinstance(rule, Group):
        for i, child in enumerate(rule.rules):
            yield from walk(child, f"{path}.{rule.kind}[{i}]")
    elif isinstance(rule, Not):
        yield from walk(rule.rule, f"{path}.not")


def short_text(rule: Rule) -> str:
    if isinstance(rule, Group):
        return f"{rule.kind} of {len(rule.rules)}"
    if isinstance(rule, Not):
        return "not"
    if isinstance(rule, SegmentRef):
        return f"in_segment {rule.segment}"
    value = rule.value
    if isinstance(value, tuple):
        value = "[" + ", ".join(str(v) for v in value) + "]"
    text = f"{rule.field} {rule.op}" + ("" if value is None else f" {value}")
    return text + (f" ({rule.window.text()})" if rule.window else "")


def compile_rule(
    rule: Rule,
    segments: Segments,
    as_of: datetime,
    *,
    negate: bool = False,
    chain: tuple[str, ...] = (),
    source: Segment | None = None,
) -> ColumnElement[bool]:
    """The WHERE clause (over ``customers``) for ``rule``, or for its complement, among the
    customers that existed at ``as_of``."""
    where = _compile(rule, segments, as_of, negate=negate, chain=chain, source=source)
    return and_(existed(as_of), where)


def _compile(
    rule: Rule,
    segments: Segments,
    as_of: datetime,
    *,
    negate: bool,
    chain: tuple[str, ...],
    source: Segment | None,
) -> ColumnElement[bool]:
    def again(r: Rule, neg: bool, ch: tuple[str, ...] = chain) -> ColumnElement[bool]:
        return _compile(r, segments, as_of, negate=neg, chain=ch, source=source)

    if isinstance(rule, Condition):
        available(rule, chain, source)
        return condition_sql(rule, as_of, negate)
    if isinstance(rule, Not):
        return again(rule.rule, not negate)
    if isinstance(rule, Group):
        conjunction = (rule.kind == "all") != negate  # De Morgan: not(all) = any(not)
        items: list[Item] = []
        for node, neg, ch in _members(rule, negate, chain, conjunction, segments, source):
            if isinstance(node, Condition):
                available(node, ch, source)
            items.append((node, neg) if isinstance(node, Condition) else again(node, neg, ch))
        return junction(items, conjunction=conjunction, as_of=as_of)
    if isinstance(rule, SegmentRef):
        return again(
            _referenced(rule, segments, chain, source).rules, negate, (*chain, rule.segment)
        )
    raise TypeError(f"not a rule node: {rule!r}")  # pragma: no cover


def _members(
    rule: Rule,
    negate: bool,
    chain: tuple[str, ...],
    conjunction: bool,
    segments: Segments,
    source: Segment | None,
) -> Iterator[tuple[Rule, bool, tuple[str, ...]]]:
    """The operands of ``rule`` under ``conjunction`` (AND / OR), nested groups of the same
    kind, ``not`` and ``in_segment`` flattened: (node, negate, chain) each."""
    if isinstance(rule, Not):
        yield from _members(rule.rule, not negate, chain, conjunction, segments, source)
    elif isinstance(rule, SegmentRef):
        ref = _referenced(rule, segments, chain, source)
        yield from _members(
            ref.rules, negate, (*chain, rule.segment), conjunction, segments, source
        )
    elif isinstance(rule, Group) and ((rule.kind == "all") != negate) == conjunction:
        for child in rule.rules:
            yield from _members(child, negate, chain, conjunction, segments, source)
    else:
        yield rule, negate, chain


def available(cond: Condition, chain: tuple[str, ...], source: Segment | None) -> None:
    """SegmentError when the shop's mapping (``syncer.source``) cannot give ``cond``'s field."""
    why = active().missing(cond.field)
    if why is not None:
        raise SegmentError(
            f"field {cond.field!r} is unavailable: it {why}",
            file=str(source.source) if source and source.source else None,
            segment=chain[0] if chain else None,
            hint="map it in source.yaml, or remove the condition (see `syncer source check`)",
        )


def _referenced(
    ref: SegmentRef, segments: Segments, chain: tuple[str, ...], source: Segment | None
) -> Segment:
    where = {"file": str(source.source) if source and source.source else None}
    if ref.segment in chain:
        loop = " -> ".join((*chain, ref.segment))
        raise SegmentError(f"segment references loop: {loop}", segment=chain[0], **where)
    if ref.segment not in segments:
        known = ", ".join(repr(n) for n in segments) or "none"
        raise SegmentError(
            f"in_segment {ref.segment!r}: no such segment",
            segment=chain[0] if chain else None,
            hint=f"known: {known}",
            **where,
        )
    return segments[ref.segment]


__all__ = [
    "MEMBER_COLUMNS",
    "available",
    "compile_rule",
    "condition_counts",
    "count_query",
    "member_columns",
    "members_query",
    "walk",
]
