"""A segment's members evaluated once per run, however many destinations read them.

    shared = materialise(commerce, state, members, requires=[(), ("phone",)], same_db=True)
    try:
        query, left_out = shared.members(("phone",))   # a destination's members, from the copy
        ...                                           # every phase of its run reads ``query``
    finally:
        shared.drop()

The segment's query runs once, into a table of its own in the state database
(``syncer_members_<random>``): its columns are the members query's, plus one 0/1 column per
distinct ``require`` list of the destinations (1: the member lacks one of those columns). Each
destination then reads the copy: its members are the rows whose column is 0, its ``left_out``
counts the rows whose column is 1. When the state database is the commerce database the copy is
one ``INSERT ... SELECT`` inside it; otherwise the rows are paged across, ``page_size`` at a
time. Either way no member list is held in Python memory.

The table is dropped when the segment's last destination is done (``drop``); a process killed
before that leaves it behind (``syncer_members_*`` tables can be dropped by hand at any time no
run is going).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    case,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from providers.batching import chunks
from syncer.db import mask_url
from syncer.segments.columns import missing

PREFIX = "syncer_members_"
log = logging.getLogger("syncer.sync")


class SharedMembers:
    """One evaluation of a segment, copied into the state database (see the module docstring)."""

    def __init__(self, engine: Engine, table: Table, requires: dict[tuple[str, ...], str]) -> None:
        self.engine = engine  # where the copy lives: the destinations' runs read it there
        self.table = table
        self._lacks = requires  # require list -> its 0/1 column
        self.rows = 0

    def members(self, require: Sequence[str]) -> tuple[Select[Any], Select[Any] | None]:
        """(the members that have every column of ``require``, a COUNT of those that do not;
        None when ``require`` is empty): ``syncer.segments.columns.require``, on the copy."""
        t = self.table
        columns = [c for c in t.c if c.name not in self._lacks.values()]
        key = tuple(require)
        if not key:
            return select(*columns), None
        lacks = t.c[self._lacks[key]]
        left_out = select(func.count().label("n")).select_from(t).where(lacks == 1)
        return select(*columns).where(lacks == 0), left_out

    def drop(self) -> None:
        """Drop the copy; a database that refuses leaves it (one log line), harmlessly."""
        try:
            self.table.drop(self.engine, checkfirst=True)
        except SQLAlchemyError as err:
            line = mask_url(" ".join(str(getattr(err, "orig", None) or err).split()))[:300]
            log.warning("the copy %s of a segment was not dropped: %s", self.table.name, line)


def materialise(
    commerce: Engine,
    state: Engine,
    members: Select[Any],
    *,
    requires: Sequence[Sequence[str]],
    as_of: datetime,
    same_db: bool,
    page_size: int = 5000,
) -> SharedMembers:
    """Evaluate ``members`` once into a new table of ``state`` (dropped by the caller)."""
    distinct = sorted({tuple(r) for r in requires if r})
    lacks = {names: f"syncer_lacks_{i}" for i, names in enumerate(distinct)}
    flags = [case((missing(names, as_of), 1), else_=0).label(lacks[names]) for names in distinct]
    query = members.add_columns(*flags) if flags else members
    table = Table(f"{PREFIX}{uuid.uuid4().hex[:16]}", MetaData())
    for col in members.selected_columns:
        kind = col.type
        if isinstance(kind, String) and kind.length is None:
            kind = String(1024)  # MariaDB needs a length (an expression's text, a mapped column)
        table.append_column(Column(col.name, kind, index=col.name == "customer_id"))
    for name in lacks.values():
        table.append_column(Column(name, Integer, nullable=False))
    table.create(state)
    shared = SharedMembers(state, table, lacks)
    try:
        names = [c.name for c in table.c]
        if same_db:
            with state.begin() as conn:
                conn.execute(insert(table).from_select(names, query))
        else:
            with commerce.connect() as src:
                rows = src.execution_options(stream_results=True, yield_per=page_size).execute(
                    query
                )
                for page in chunks((dict(zip(names, r, strict=True)) for r in rows), page_size):
                    with state.begin() as conn:
                        conn.execute(insert(table), page)
    except BaseException:
        shared.drop()
        raise
    return shared
