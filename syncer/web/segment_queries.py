"""What the segment pages ask the database, each a bounded query (nothing loads the audience):

- ``live``: a draft rule checked as ``syncer segments validate`` checks a file (against the
  other segments of the folder, each file parsed once while unchanged: ``SegmentFiles``), then
  counted with the compiled rule of ``syncer segments count`` (its consenting members in the
  same scan); the funnel (``syncer segments count --breakdown``) only when asked: it is a query
  per node;
- ``preview``: ``syncer segments preview``'s select (LIMITed) with orders, spend, last order;
- ``customer``: one customer's orders, visits, email activity and the segments they are in
  (each segment's compiled rule evaluated for that one id);
- ``suggest``: names of products, vendors, collections, tags or coupons LIKE what is typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, case, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from syncer.db import mask_url
from syncer.errors import DatabaseError, SegmentError, SyncerError
from syncer.segments.breakdown import NodeCount, breakdown
from syncer.segments.compiler import compile_rule, members_query
from syncer.segments.describe import describe
from syncer.segments.fields import MappedPreview
from syncer.segments.loader import load_segments, parse_segment
from syncer.segments.model import Segment
from syncer.segments.validate import check_parsed, validate_text
from syncer.source.active import active
from syncer.web.segment_files import Listing, SegmentFiles

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# drafts checked while their live count runs in the database
_CHECKS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="syncer-live-check")
SMALL_AUDIENCE = 50  # the CLI's `segments count` warning
PREVIEW_LIMIT = 50
SUGGESTIONS = 10
# item field -> (table, column) its values are names of
SUGGEST: dict[str, tuple[str, str]] = {
    "purchased_product": ("products", "name"),
    "reviewed_product": ("products", "name"),
    "purchased_vendor": ("products", "vendor"),
    "purchased_collection": ("collections", "name"),
    "tag": ("customer_tags", "tag"),
    "coupon": ("orders", "coupon_code"),
}


@dataclass
class Live:
    """The builder's answer for a draft: a count, or the error and the path it belongs to."""

    count: int | None = None
    consenting: int | None = None
    sentence: str = ""
    funnel: list[NodeCount] = field(default_factory=list)
    error: str | None = None
    error_path: str | None = None
    seconds: float = 0.0

    @property
    def small(self) -> bool:
        return self.count is not None and self.count < SMALL_AUDIENCE


def draft_text(name: str, description: str, rule: Any) -> str:
    """The draft as the text of a segment file, for ``syncer segments validate``'s check. Written
    by PyYAML's own (C) dumper: it quotes every string the loader would read as something else,
    so the check reads back exactly ``rule``; a saved file (``yaml_files.dump``) reads back the
    same."""
    data: dict[str, Any] = {"name": name}
    if description:
        data["description"] = description
    data["rules"] = rule
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)


def check_draft(
    segments_dir: Path,
    path: Path,
    text: str,
    others: Mapping[str, Segment] | None = None,
    parsed: Segment | None = None,
) -> Segment:
    """The draft as ``syncer segments validate`` would accept it at ``path`` (``others``: the
    other segments of the folder, when already read; ``parsed``: ``text`` parsed as the
    validator parses it, when already done)."""
    if parsed is not None and others is not None:
        return check_parsed(parsed, path, segments_dir, others)
    return validate_text(text, path, segments_dir, others=others)


def _query_error(engine: Engine, err: SQLAlchemyError) -> DatabaseError:
    reason = (str(getattr(err, "orig", None) or err).strip().splitlines() or ["error"])[0]
    return DatabaseError(f"database {mask_url(engine.url)}: query failed: {reason}")


def _early_where(
    text: str, path: Path, segments: dict[str, Segment], now: datetime
) -> tuple[Segment, Any] | None:
    """The draft's compiled rule, read without the folder checks (None when it does not even
    parse or compile: the validator then says why)."""
    try:
        data = yaml.load(text, Loader=_LOADER)
        draft = parse_segment(data, source=str(path)).model_copy(update={"source": path})
        return draft, compile_rule(
            draft.rules, {**segments, draft.name: draft}, now, chain=(draft.name,), source=draft
        )
    except (SyncerError, yaml.YAMLError):
        return None


def _count(
    engine: Engine, where: Any, sending: Callable[[], None] | None = None
) -> tuple[int, int, float]:
    """Members and consenting members of ``where``, in one scan; the seconds it took.
    ``sending`` is called once the query is about to go to the database."""
    started = time.perf_counter()
    consent = active().customers.c.accepts_marketing
    # one scan: the count `syncer segments count` runs, and its consenting members
    query = (
        select(func.count(), func.sum(case((consent, 1), else_=0)))
        .select_from(active().customers)
        .where(where)
    )
    try:  # one statement: no transaction around it (no BEGIN and ROLLBACK round trips)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if sending is not None:
                sending()
            count, consenting = (int(v or 0) for v in conn.execute(query).one())
    except SQLAlchemyError as err:
        raise _query_error(engine, err) from None
    return count, consenting, time.perf_counter() - started


def live(
    engine: Engine,
    files: SegmentFiles,
    segments_dir: Path,
    path: Path,
    text: str,
    *,
    funnel: bool = True,
    listing: Listing | None = None,
    now: datetime | None = None,
) -> Live:
    """Validate and count the draft ``text`` (to be the file ``path``), with the other segments
    of the folder as ``files`` reads them (``listing``: the folder as already listed by ``files``).

    The count is sent as soon as the draft compiles, and the draft is checked as ``syncer
    segments validate`` checks a file while the database counts (in another thread, started
    once the query is on its way: the check is Python work that would otherwise hold the
    interpreter before it is sent). A draft the check refuses shows the check's message and
    its count is dropped; the count shown is of the segment the check returned (counted again
    in the rare case it differs from the one compiled early)."""
    others = files.others(path, segments_dir, listing)
    now = now or datetime.now(UTC)
    early = _early_where(text, path, others, now)
    checking: list[Future[Segment]] = []

    def check() -> None:
        parsed = early[0] if early is not None else None
        checking.append(_CHECKS.submit(check_draft, segments_dir, path, text, others, parsed))

    counted: tuple[int, int, float] | None = None
    failed: DatabaseError | None = None
    if early is not None:
        try:
            counted = _count(engine, early[1], check)
        except DatabaseError as err:  # shown unless the check has its own message
            failed = err
    try:
        if checking:
            segment = checking[0].result()
        else:
            segment = check_draft(segments_dir, path, text, others, early[0] if early else None)
    except SegmentError as err:
        return Live(error=str(err), error_path=err.path)
    if failed is not None:
        raise failed
    segments = {**others, segment.name: segment}  # what the draft was validated with
    if counted is None or early is None or early[0] != segment:
        where = compile_rule(segment.rules, segments, now, chain=(segment.name,), source=segment)
        counted = _count(engine, where)
    count, consenting, seconds = counted
    rows: list[NodeCount] = []
    if funnel:
        try:
            with engine.connect() as conn:
                rows = breakdown(conn, segment, segments, as_of=now)
        except SQLAlchemyError as err:
            raise _query_error(engine, err) from None
    return Live(count, consenting, describe(segment), rows, seconds=seconds)


PERSON = "syncer_person_key"  # the preview's join key column, not shown


def preview(
    engine: Engine,
    segment: Segment,
    segments_dir: Path,
    limit: int = PREVIEW_LIMIT,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The first ``limit`` members (by id) with orders, spend and last order, and (``mapped``)
    the values each destination's ``fields:`` would send."""
    segments = dict(load_segments(segments_dir))
    source = active()
    c = source.customers.c
    now = now or datetime.now(UTC)
    mapped = MappedPreview(segment.destinations, now)
    # the key the other tables' rows carry: the id, or over a shop keyed by email the person
    key = source.person.label(PERSON)
    first = members_query(segment, segments, as_of=now).add_columns(*mapped.columns, key)
    members = first.order_by(c.id).limit(limit).subquery()

    def shown(row: Any) -> dict[str, Any]:
        items = row._mapping.items()
        plain = {k: v for k, v in items if not mapped.is_mapped(k) and k != PERSON}
        return {**plain, "mapped": mapped.values(row)}

    if "orders" in active().absent:  # a mapping without orders: the members alone
        try:
            with engine.connect() as conn:
                return [shown(row) for row in conn.execute(select(members))]
        except SQLAlchemyError as err:
            raise _query_error(engine, err) from None
    orders = active().table("orders")
    o = orders.c
    per = (
        select(
            o.customer_id,
            func.count().label("orders"),
            func.sum(o.total_cents).label("spend_cents"),
            func.max(o.placed_at).label("last_order"),
        )
        .where(o.customer_id.in_(select(members.c[PERSON])))
        .group_by(o.customer_id)
        .subquery()
    )
    query = (
        select(members, per.c.orders, per.c.spend_cents, per.c.last_order)
        .select_from(members.outerjoin(per, per.c.customer_id == members.c[PERSON]))
        .order_by(members.c.customer_id)
    )
    try:
        with engine.connect() as conn:
            return [shown(row) for row in conn.execute(query)]
    except SQLAlchemyError as err:
        raise _query_error(engine, err) from None


def _rows(conn: Connection, table: str, key: Any, order: str) -> list[Any]:
    """The customer's last 20 rows of ``table`` (``key``: what its ``customer_id`` holds for
    them), without that column: it is the customer shown (over a shop keyed by email, on
    MariaDB, a digest: ``syncer/source/person_key.py``)."""
    t = active().table(table)
    shown = [col for col in t.c if col.name != "customer_id"]
    q = select(*shown).where(t.c.customer_id == key).order_by(t.c[order].desc()).limit(20)
    return [dict(r._mapping) for r in conn.execute(q)]


def customer(
    engine: Engine, segments_dir: Path, customer_id: int, now: datetime | None = None
) -> dict[str, Any] | None:
    """One customer: attributes, last orders, visits and email events, the segments they are
    in. None when there is no such customer."""
    segments = dict(load_segments(segments_dir))
    source = active()
    c = source.customers.c
    now = now or datetime.now(UTC)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(source.customers).where(c.id == customer_id)).first()
            if row is None:
                return None
            attributes = {k: v for k, v in row._mapping.items() if k != "person"}
            out: dict[str, Any] = {"customer": attributes}
            # the key the other tables' rows carry for this customer: over a shop keyed by
            # email the person just read (None: no email, so no rows of theirs)
            key = row._mapping["person"] if source.by_email else customer_id
            for name, table, order in (
                ("orders", "orders", "placed_at"),
                ("visits", "visits", "at"),
                ("emails", "email_events", "at"),
            ):
                found = table not in source.absent and key is not None
                out[name] = _rows(conn, table, key, order) if found else []
            tests = [
                compile_rule(s.rules, segments, now, chain=(s.name,), source=s).label(f"s{i}")
                for i, s in enumerate(segments.values())
            ]
            inside: list[str] = []
            if tests:
                flags = conn.execute(
                    select(*tests).select_from(source.customers).where(c.id == customer_id)
                ).one()
                inside = [s for s, flag in zip(segments, flags, strict=True) if flag]
            out["segments"] = inside
            return out
    except SQLAlchemyError as err:
        raise _query_error(engine, err) from None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def suggest(engine: Engine, field_name: str, typed: str) -> list[str]:
    """Up to SUGGESTIONS distinct names for an item field containing ``typed`` (a bound LIKE)."""
    where = SUGGEST.get(field_name)
    if where is None or where[0] in active().absent:
        return []
    table, column = where
    col = active().table(table).c[column]
    pattern = literal(f"%{_escape(typed.strip().lower())}%")
    query = (
        select(col)
        .where(col.is_not(None), func.lower(col).like(pattern, escape="\\"))
        .distinct()
        .order_by(col)
        .limit(SUGGESTIONS)
    )
    try:
        with engine.connect() as conn:
            return [str(v) for (v,) in conn.execute(query)]
    except SQLAlchemyError as err:
        raise _query_error(engine, err) from None
